# Entry stub of the vector harness (32-bit, GNU as, Intel syntax).
# enter_snippet() never returns: it loads the x87/SSE state from g_fxin
# (FXRSTOR), EFLAGS and all eight general registers from g_in (struct vregs
# in harness.c) and jumps to CODE_BASE.
# The snippet ends in a trap (int3 or a fault); the signal handler then
# siglongjmp()s back into the harness.
        .intel_syntax noprefix
        .text
        .globl  enter_snippet
        .type   enter_snippet, @function
enter_snippet:
        fxrstor [g_fxin]                   # not a waiting instruction: no #MF here
        lea     esp, [stub_stack + 64]     # a stack of our own for popfd
        push    dword ptr [g_in + 32]      # eflags
        popfd
        mov     eax, [g_in + 0]
        mov     ecx, [g_in + 4]
        mov     edx, [g_in + 8]
        mov     ebx, [g_in + 12]
        mov     ebp, [g_in + 20]
        mov     esi, [g_in + 24]
        mov     edi, [g_in + 28]
        mov     esp, [g_in + 16]
        jmp     dword ptr [g_code_base]    # indirect: no register or flag is touched
        .size   enter_snippet, . - enter_snippet

        .bss
        .align  16
stub_stack:
        .skip   64
        .section .note.GNU-stack,"",@progbits
