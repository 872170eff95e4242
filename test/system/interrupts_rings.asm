; interrupts_rings: INT n from ring 3 through DPL-3 interrupt and trap gates
; (stack switch to SS0:ESP0 from the TSS, IRET back), INT n to a DPL-0 gate
; from ring 3 (#GP(vector*8+2)), IF cleared by an interrupt gate but not by a
; trap gate, error codes pushed by exceptions (and not by others), and a
; same-privilege INT n (no stack switch).
%define TEST_NAME "interrupts_rings"
%include "lib.inc"

VEC_INT3        equ 0x40                ; interrupt gate, DPL 3
VEC_TRAP3       equ 0x41                ; trap gate, DPL 3
VEC_INT0        equ 0x42                ; interrupt gate, DPL 0
VEC_TRAP0       equ 0x43                ; trap gate, DPL 0 (used from ring 0)

; a record written by a handler
REC_EFLAGS      equ 0                   ; EFLAGS inside the handler
REC_ESP         equ 4                   ; ESP at the handler's first instruction
REC_SS          equ 8
REC_CS          equ 12
REC_FRAME       equ 16                  ; EIP CS EFLAGS ESP SS (as pushed)
REC_COUNT       equ 36
REC_SIZE        equ 40

[absolute SCRATCH]
rec_int3:       resb REC_SIZE
rec_trap3:      resb REC_SIZE
rec_trap0:      resb REC_SIZE
u_esp:          resd 1
u_flags40:      resd 1                  ; ring 3 EFLAGS after returning from 0x40
[section .text]


main:
        IDT_GATE VEC_INT3, h_int3, GATE_INT32 | GATE_DPL3
        IDT_GATE VEC_TRAP3, h_trap3, GATE_TRAP32 | GATE_DPL3
        IDT_GATE VEC_INT0, h_int3, GATE_INT32
        IDT_GATE VEC_TRAP0, h_trap0, GATE_TRAP32

        ; --- ring 3, IF=1: INT through DPL-3 interrupt and trap gates ------------
        RING3   user_ints, EFL_BASE | EFL_IF
        CHECK   [exc_vector], RING0_VEC, "ring 3 ran to its end"
        PRINTLN "int 0x40 (interrupt gate, DPL 3) from ring 3:"
        CHECK   [rec_int3 + REC_COUNT], 1, "handler runs"
        CHECK   [rec_int3 + REC_CS], SEL_CODE0, "handler CS"
        CHECK   [rec_int3 + REC_SS], SEL_DATA0, "handler SS = TSS.SS0"
        CHECK   [rec_int3 + REC_ESP], KSTACK_TOP - 20, "handler ESP = TSS.ESP0 - 20"
        CHECK   [rec_int3 + REC_FRAME + 0], user_ints.r40, "frame EIP (next instruction)"
        CHECK   [rec_int3 + REC_FRAME + 4], SEL_CODE3, "frame CS"
        CHECK   [rec_int3 + REC_FRAME + 8], EFL_BASE | EFL_IF, "frame EFLAGS"
        CHECK   [rec_int3 + REC_FRAME + 12], USER_STACK_TOP, "frame ESP"
        CHECK   [rec_int3 + REC_FRAME + 16], SEL_DATA3, "frame SS"
        mov     eax, [rec_int3 + REC_EFLAGS]
        and     eax, EFL_IF
        CHECK   eax, 0, "IF in an interrupt gate's handler"
        mov     eax, [u_flags40]
        and     eax, EFL_IF
        CHECK   eax, EFL_IF, "IF back in ring 3 after IRET"
        PRINTLN "int 0x41 (trap gate, DPL 3) from ring 3:"
        CHECK   [rec_trap3 + REC_COUNT], 1, "handler runs"
        CHECK   [rec_trap3 + REC_ESP], KSTACK_TOP - 20, "handler ESP = TSS.ESP0 - 20"
        CHECK   [rec_trap3 + REC_FRAME + 0], user_ints.r41, "frame EIP (next instruction)"
        mov     eax, [rec_trap3 + REC_EFLAGS]
        and     eax, EFL_IF
        CHECK   eax, EFL_IF, "IF in a trap gate's handler"
        CHECK   [exc_regs + 28], 0x1234, "ring-3 EAX preserved across both INTs"

        ; --- ring 3: INT to a DPL-0 gate -> #GP(vector*8+2) ------------------------
        PRINTLN "int 0x42 (DPL 0) from ring 3:"
        RING3   user_int0
        CHECK   [exc_vector], 13, "vector"
        CHECK   [exc_err], VEC_INT0 * 8 + 2, "error code"
        CHECK   [exc_eip], user_int0.f, "EIP (the INT instruction)"
        CHECK   [exc_entry_esp], KSTACK_TOP - 24, "handler ESP (error code pushed)"
        CHECK   [KSTACK_TOP - 24], VEC_INT0 * 8 + 2, "error code on the stack"
        CHECK   [KSTACK_TOP - 20], user_int0.f, "EIP on the stack"
        CHECK   [exc_cs], SEL_CODE3, "frame CS"
        CHECK   [exc_fss], SEL_DATA3, "frame SS"

        ; --- ring 3: an exception without an error code -----------------------------
        PRINTLN "#UD from ring 3:"
        RING3   user_ud
        CHECK   [exc_vector], 6, "vector"
        CHECK   [exc_eip], user_ud.f, "EIP"
        CHECK   [exc_entry_esp], KSTACK_TOP - 20, "handler ESP (no error code)"

        ; --- ring 0: same privilege, no stack switch ---------------------------------
        PRINTLN "int 0x43 (trap gate, DPL 0) from ring 0:"
        mov     ebx, esp
        pushfd
        or      dword [esp], EFL_CF     ; a recognisable EFLAGS
        popfd
        int     VEC_TRAP0
.r43:   jnc     .cf_lost
        lea     eax, [ebx - 12]
        CHECK   [rec_trap0 + REC_ESP], eax, "handler ESP = ESP - 12 (no switch)"
        CHECK   [rec_trap0 + REC_SS], SEL_DATA0, "handler SS unchanged"
        CHECK   [rec_trap0 + REC_FRAME + 0], .r43, "frame EIP"
        CHECK   [rec_trap0 + REC_FRAME + 4], SEL_CODE0, "frame CS"
        mov     eax, [rec_trap0 + REC_FRAME + 8]
        and     eax, EFL_CF
        CHECK   eax, EFL_CF, "frame EFLAGS.CF"
        mov     eax, esp
        CHECK   eax, ebx, "ESP after IRET"

        PRINTLN "#GP from ring 0 (same privilege, error code pushed):"
        TRY     .r_gp
        mov     ax, 0xFFF0
.f_gp:  mov     es, ax
        NOFAULT "selector past the GDT limit"
.r_gp:  CHECK_EXC 13, 0xFFF0, .f_gp, "#GP"
        mov     eax, [exc_resume_esp]
        sub     eax, 16
        CHECK   [exc_entry_esp], eax, "handler ESP = ESP - 16"
        PASS
.cf_lost:
        FAIL    "IRET did not restore CF"

; --- handlers (ring 0) --------------------------------------------------------------
h_int3: push    ebx
        mov     ebx, rec_int3
        jmp     record_iret
h_trap3:
        push    ebx
        mov     ebx, rec_trap3
        jmp     record_iret
h_trap0:
        push    ebx
        mov     ebx, rec_trap0
        ; fall through
; record_iret: EBX = record; [esp] = the interrupted EBX, then the frame
record_iret:
        push    eax
        pushfd
        pop     eax
        mov     [ss:ebx + REC_EFLAGS], eax
        lea     eax, [esp + 8]
        mov     [ss:ebx + REC_ESP], eax
        xor     eax, eax
        mov     ax, ss
        mov     [ss:ebx + REC_SS], eax
        mov     ax, cs
        mov     [ss:ebx + REC_CS], eax
%assign i 0
%rep 5
        mov     eax, [esp + 8 + i * 4]
        mov     [ss:ebx + REC_FRAME + i * 4], eax
  %assign i i + 1
%endrep
        inc     dword [ss:ebx + REC_COUNT]
        pop     eax
        pop     ebx
        iretd

; --- ring 3 ---------------------------------------------------------------------------
user_ints:
        mov     [u_esp], esp
        mov     eax, 0x1234
        int     VEC_INT3
.r40:   pushfd
        pop     dword [u_flags40]
        int     VEC_TRAP3
.r41:   RING0
user_int0:
.f:     int     VEC_INT0
        RING0
user_ud:
.f:     ud2
        RING0

ROM_END
