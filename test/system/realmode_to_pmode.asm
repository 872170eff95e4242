; realmode_to_pmode: real-mode sanity, LGDT + CR0.PE + far jmp into 32-bit
; code, segment limit checks (#GP caught through the IDT), then back to real
; mode (clear PE, real-mode far jmp) where the program reports PASS.
%define TEST_NAME "realmode_to_pmode"
%define RM_MAIN rm_main
%include "lib.inc"

SEL_SMALL       equ SEL_FREE            ; data, base SCRATCH, limit 0xFFF bytes
SEL_PAGEGRAN    equ SEL_FREE + 0x08     ; data, base SCRATCH, limit 0 pages (= 0xFFF)
SEL_EXPDOWN     equ SEL_FREE + 0x10     ; data, expand-down, limit 0xFFF, B=1
SEL_RODATA      equ SEL_FREE + 0x18     ; read-only data
SEL_EXECONLY    equ SEL_FREE + 0x20     ; execute-only code
SEL_SMALLCODE   equ SEL_FREE + 0x28     ; code, base small_code, limit 0xFFF
RM_VEC          equ 0x40                ; real-mode software interrupt used
RM_MARK         equ SCRATCH + 0x800     ; written in protected mode, read in real mode

; ---------------------------------------------------------------------------
        bits    16
; Called by lib's reset code, in real mode (DS=ES=SS=0).
rm_main:
        RM_PRINT "real mode", 10
        mov     ax, 0x1234
        add     ax, 0x4321
        cmp     ax, 0x5555
        je      .add_ok
        RM_FAIL "real mode: add"
.add_ok:
        mov     ax, 0xFFFF
        add     ax, 1
        jnc     .carry_bad
        jnz     .carry_bad
        mov     ax, 0x1234
        mov     cx, 0x0100
        mul     cx                      ; DX:AX = 0x0012:0x3400
        cmp     dx, 0x0012
        jne     .mul_bad
        cmp     ax, 0x3400
        jne     .mul_bad
        add     ax, 0x56
        div     cx                      ; 0x123456 / 0x100
        cmp     ax, 0x1234
        jne     .div_bad
        cmp     dx, 0x56
        jne     .div_bad
        mov     eax, 0x12345678         ; 32-bit operands in real mode
        ror     eax, 8
        cmp     eax, 0x78123456
        jne     .ror_bad
        jmp     .seg
.carry_bad:
        RM_FAIL "real mode: 0xFFFF+1 flags"
.mul_bad:
        RM_FAIL "real mode: mul"
.div_bad:
        RM_FAIL "real mode: div"
.ror_bad:
        RM_FAIL "real mode: 32-bit ror"

        ; segment arithmetic: 1000:0010 and 1001:0000 are the same byte
.seg:   mov     ax, 0x1000
        mov     es, ax
        mov     word [es:0x0010], 0xBEEF
        mov     ax, 0x1001
        mov     es, ax
        cmp     word [es:0x0000], 0xBEEF
        jne     .seg_bad
        ; string copy with REP MOVSB within segment 1000
        mov     ax, 0x1000
        mov     ds, ax
        mov     es, ax
        mov     si, 0x0010
        mov     di, 0x0020
        mov     cx, 2
        cld
        rep     movsb
        cmp     word [0x0020], 0xBEEF
        jne     .movs_bad
        xor     ax, ax
        mov     ds, ax
        mov     es, ax
        ; a real-mode interrupt through the IVT at 0
        mov     word [RM_VEC * 4], R(rm_isr)
        mov     word [RM_VEC * 4 + 2], 0xF000
        xor     bx, bx
        stc
        int     RM_VEC
        jnc     .int_bad                ; IRET restores the flags
        cmp     bx, 0x4242
        jne     .int_bad
        RM_PRINT "real mode ok", 10
        ret
.seg_bad:
        RM_FAIL "real mode: segment arithmetic"
.movs_bad:
        RM_FAIL "real mode: rep movsb"
.int_bad:
        RM_FAIL "real mode: INT through the IVT"

rm_isr:
        mov     bx, 0x4242
        clc                             ; IRET must restore CF=1
        iret

; runs in SEL_SMALLCODE (base = this label): back to the flat segment
        bits    32
small_code:
        jmp     SEL_CODE0:small_code_back
        bits    16

rm_idt_ptr:
        dw      0x3FF
        dd      0

; ---------------------------------------------------------------------------
        bits    32
main:
        PRINTLN "protected mode"
        mov     eax, cr0
        and     eax, CR0_PE
        CHECK   eax, CR0_PE, "CR0.PE"
        xor     eax, eax
        mov     ax, cs
        CHECK   eax, SEL_CODE0, "CS"
        mov     ax, ds
        CHECK   eax, SEL_DATA0, "DS"
        mov     ax, ss
        CHECK   eax, SEL_DATA0, "SS"
        sgdt    [SCRATCH]
        movzx   eax, word [SCRATCH]
        CHECK   eax, GDT_ENTRIES * 8 - 1, "GDTR.limit"
        CHECK   [SCRATCH + 2], GDT_BASE, "GDTR.base"
        ; real-mode data must still be where real mode put it
        movzx   eax, word [0x10010]
        CHECK   eax, 0xBEEF, "real-mode data"

        GDT_SET SEL_SMALL, SCRATCH, 0xFFF, 0x4092
        GDT_SET SEL_PAGEGRAN, SCRATCH, 0, 0xC092
        GDT_SET SEL_EXPDOWN, SCRATCH, 0xFFF, 0x4096
        GDT_SET SEL_RODATA, SCRATCH, 0xFFF, 0x4090
        GDT_SET SEL_EXECONLY, 0, 0xFFFFF, 0xC098
        GDT_SET SEL_SMALLCODE, LIN(small_code), 0xFFF, 0x409A

        mov     dword [SCRATCH + 0xFFC], 0xCAFEBABE
        mov     ax, SEL_SMALL
        mov     es, ax
        mov     eax, [es:0xFFC]
        CHECK   eax, 0xCAFEBABE, "small segment read at limit-3"
        mov     eax, SEL_SMALL
        lsl     ebx, eax
        CHECK   ebx, 0xFFF, "LSL small"
        mov     eax, SEL_PAGEGRAN
        lsl     ebx, eax
        CHECK   ebx, 0xFFF, "LSL page-granular"

        TRY     .r1
.f1:    mov     eax, [es:0xFFD]         ; a dword crossing the limit
        UNENFORCED .d1, "dword read crossing a data segment limit"
.r1:    CHECK_EXC 13, 0, .f1, "#GP read crossing limit"
.d1:

        TRY     .r2
.f2:    mov     byte [es:0x1000], 1     ; one past the limit
        UNENFORCED .d2, "write past a data segment limit"
.r2:    CHECK_EXC 13, 0, .f2, "#GP write past limit"
.d2:

        mov     ax, SEL_PAGEGRAN
        mov     fs, ax
        mov     al, [fs:0xFFF]
        TRY     .r3
.f3:    mov     al, [fs:0x1000]
        UNENFORCED .d3, "read past a page-granular segment limit"
.r3:    CHECK_EXC 13, 0, .f3, "#GP page granular"
.d3:

        ; expand-down: valid offsets are limit+1 .. 0xFFFFFFFF
        mov     ax, SEL_EXPDOWN
        mov     gs, ax
        mov     eax, [gs:0x1000]
        TRY     .r4
.f4:    mov     eax, [gs:0xFFF]
        UNENFORCED .d4, "read below an expand-down segment limit"
.r4:    CHECK_EXC 13, 0, .f4, "#GP expand-down"
.d4:

        ; read-only data and execute-only code
        mov     ax, SEL_RODATA
        mov     es, ax
        mov     eax, [es:0]
        TRY     .r5
.f5:    mov     [es:0], eax
        UNENFORCED .d5, "write to a read-only data segment"
.r5:    CHECK_EXC 13, 0, .f5, "#GP read-only"
.d5:
        TRY     .r6
        mov     ax, SEL_EXECONLY        ; execute-only code into DS
.f6:    mov     ds, ax
        NOFAULT "execute-only code segment loaded into DS"
.r6:    CHECK_EXC 13, SEL_EXECONLY, .f6, "#GP exec-only into DS"

        ; a selector past the GDT limit
        TRY     .r8
        mov     ax, GDT_ENTRIES * 8 + 0x10
.f8:    mov     ds, ax
        NOFAULT "selector past the GDT limit loaded into DS"
.r8:    CHECK_EXC 13, GDT_ENTRIES * 8 + 0x10, .f8, "#GP selector past GDT limit"

        ; a far jmp past the limit of a small code segment
        TRY     .r9
.f9:    jmp     SEL_SMALLCODE:0x1000
        NOFAULT "far jmp past a code segment limit"
.r9:    CHECK_EXC 13, 0, .f9, "#GP far jmp past CS limit"
        ; and one inside it works (the target is at offset 0 of the segment)
        jmp     SEL_SMALLCODE:0
small_code_back:
        PRINTLN "far jmp into a small code segment and back ok"

        ; the null selector: loading is fine, using it is #GP(0)
        xor     eax, eax
        mov     fs, ax
        TRY     .r7
.f7:    mov     eax, [fs:0]
        UNENFORCED .d7, "access through a null selector"
.r7:    CHECK_EXC 13, 0, .f7, "#GP null selector"
.d7:

        ; back to real mode: 16-bit protected mode first, then PE=0
        mov     dword [RM_MARK], 0x600DF00D
        mov     ax, SEL_DATA0
        mov     es, ax
        mov     fs, ax
        mov     gs, ax
        PRINTLN "returning to real mode"
        jmp     SEL_CODE16:R(pm16)

        bits    16
pm16:   mov     ax, SEL_DATA16          ; real-mode-like caches: limit 64 KiB
        mov     ds, ax
        mov     es, ax
        mov     fs, ax
        mov     gs, ax
        mov     ss, ax
        mov     eax, cr0
        and     eax, ~CR0_PE
        mov     cr0, eax
        jmp     0xF000:R(rm_again)
rm_again:
        xor     ax, ax
        mov     ds, ax
        mov     es, ax
        mov     ss, ax
        mov     esp, RM_STACK_TOP
        o32 lidt [cs:R(rm_idt_ptr)]
        mov     eax, cr0
        test    al, CR0_PE
        jnz     .pe_bad
        mov     ax, cs
        cmp     ax, 0xF000
        jne     .cs_bad
        mov     ax, RM_MARK >> 4        ; segment:offset view of protected-mode data
        mov     es, ax
        cmp     dword [es:0], 0x600DF00D
        jne     .mark_bad
        xor     bx, bx
        stc
        int     RM_VEC
        jnc     .int_bad
        cmp     bx, 0x4242
        jne     .int_bad
        RM_PRINT "back in real mode", 10
        RM_PASS
.pe_bad:
        RM_FAIL "CR0.PE still set"
.cs_bad:
        RM_FAIL "CS is not F000 after the real-mode far jmp"
.mark_bad:
        RM_FAIL "protected-mode data not seen from real mode"
.int_bad:
        RM_FAIL "INT through the IVT after returning to real mode"

ROM_END
