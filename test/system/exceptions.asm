; exceptions: #DE, #DB (single step), #BP/#OF (traps: the next EIP), #BR,
; #UD, #NM, #TS (bad TSS), #NP (not-present segment, not-present gate),
; #SS, #GP on bad selectors (with the right error code) and on privileged
; instructions in ring 3. Each check compares the vector, the error code
; (NO_ERR = none pushed) and the pushed EIP (faults: the faulting
; instruction; traps: the next one).
%define TEST_NAME "exceptions"
%include "lib.inc"

SEL_NP_DATA     equ SEL_FREE            ; data segment, P=0
SEL_NP_STACK    equ SEL_FREE + 0x08     ; writable data, P=0 (for SS)
SEL_SMALL_STACK equ SEL_FREE + 0x10     ; writable data, limit 0x7FFFF bytes
SEL_BAD_TSS     equ SEL_FREE + 0x18     ; 32-bit TSS with a limit below 0x67
VEC_NP_GATE     equ 0x60                ; IDT gate with P=0

main:
        GDT_SET SEL_NP_DATA, 0, 0xFFFFF, ATTR_DATA32 & ~ATTR_NP
        GDT_SET SEL_NP_STACK, 0, 0xFFFFF, ATTR_DATA32 & ~ATTR_NP
        GDT_SET SEL_SMALL_STACK, 0, 0x7FFFF, 0x4092
        GDT_SET SEL_BAD_TSS, TSS1_BASE, 0x20, ATTR_TSS32
        IDT_GATE VEC_NP_GATE, exc_stub_0, GATE_INT32 & 0x7F

        ; --- #DE ------------------------------------------------------------------
        TRY     .r_de1
        xor     edx, edx
        mov     eax, 1
        xor     ecx, ecx
.f_de1: div     ecx
        NOFAULT "DIV by zero"
.r_de1: CHECK_EXC 0, NO_ERR, .f_de1, "#DE divide by zero"
        TRY     .r_de2
        mov     edx, 1
        xor     eax, eax
        mov     ecx, 1
.f_de2: div     ecx                     ; quotient 2^32 does not fit
        NOFAULT "DIV overflow"
.r_de2: CHECK_EXC 0, NO_ERR, .f_de2, "#DE quotient overflow"
        TRY     .r_de3
        mov     eax, 0x80000000
        cdq
        mov     ecx, -1
.f_de3: idiv    ecx
        NOFAULT "IDIV INT_MIN / -1"
.r_de3: CHECK_EXC 0, NO_ERR, .f_de3, "#DE IDIV INT_MIN/-1"

        ; --- #DB: single step (a trap after the instruction following POPF) ----------
        TRY     .r_db
        pushfd
        or      dword [esp], EFL_TF
        popfd
        nop
.t_db:  nop
        NOFAULT "single step with TF=1"
.r_db:  CHECK_EXC 1, NO_ERR, .t_db, "#DB single step"
        mov     eax, dr6
        and     eax, 0x4000
        CHECK   eax, 0x4000, "#DB single step DR6.BS"

        ; --- #BP and #OF are traps: the pushed EIP is the next instruction -----------
        TRY     .r_bp1
        int3
.t_bp1: NOFAULT "INT3"
.r_bp1: CHECK_EXC 3, NO_ERR, .t_bp1, "#BP INT3"
        TRY     .r_bp2
        int     3
.t_bp2: NOFAULT "INT 3"
.r_bp2: CHECK_EXC 3, NO_ERR, .t_bp2, "#BP INT 3 (CD 03)"
        TRY     .r_of
        mov     eax, 0x7FFFFFFF
        add     eax, 1                  ; OF=1
        into
.t_of:  NOFAULT "INTO with OF=1"
.r_of:  CHECK_EXC 4, NO_ERR, .t_of, "#OF INTO"
        TRY     .r_of0
        xor     eax, eax                ; OF=0
        into
        mov     dword [exc_resume], 0
        PRINTLN "  INTO with OF=0: no trap"
        jmp     .br
.r_of0: FAIL    "INTO with OF=0 trapped"

        ; --- #BR ----------------------------------------------------------------------
.br:    mov     dword [SCRATCH], 10
        mov     dword [SCRATCH + 4], 20
        mov     eax, 15
        bound   eax, [SCRATCH]
        TRY     .r_br
        mov     eax, 21
.f_br:  bound   eax, [SCRATCH]
        NOFAULT "BOUND out of range"
.r_br:  CHECK_EXC 5, NO_ERR, .f_br, "#BR"

        ; --- #UD ----------------------------------------------------------------------
        TRY     .r_ud1
.f_ud1: ud2
        NOFAULT "UD2"
.r_ud1: CHECK_EXC 6, NO_ERR, .f_ud1, "#UD UD2"
        TRY     .r_ud2
.f_ud2: db      0x8E, 0xC8              ; mov cs, ax
        NOFAULT "MOV CS, AX"
.r_ud2: CHECK_EXC 6, NO_ERR, .f_ud2, "#UD MOV CS"

        ; --- #NM: x87 instruction with CR0.TS=1 -------------------------------------------
        mov     eax, cr0
        or      eax, CR0_TS
        mov     cr0, eax
        TRY     .r_nm
.f_nm:  fninit
        NOFAULT "FNINIT with CR0.TS=1"
.r_nm:  CHECK_EXC 7, NO_ERR, .f_nm, "#NM"
        clts

        ; --- #TS ------------------------------------------------------------------------
        TRY     .r_ts1
.f_ts1: jmp     SEL_BAD_TSS:0
        NOFAULT "JMP to a TSS with a limit below 0x67"
.r_ts1: CHECK_EXC 10, SEL_BAD_TSS, .f_ts1, "#TS JMP to a short TSS"
        ; IRET with NT=1 whose back link names a TSS that is not busy
        mov     word [TSS0_BASE], SEL_TSS1
        TRY     .r_ts2
        pushfd
        or      dword [esp], EFL_NT
        popfd
.f_ts2: iretd
        NOFAULT "IRET with NT=1 to a non-busy TSS"
.r_ts2: CHECK_EXC 10, SEL_TSS1, .f_ts2, "#TS IRET to a non-busy TSS"
        mov     eax, [exc_eflags]
        and     eax, EFL_NT
        CHECK   eax, EFL_NT, "#TS frame EFLAGS.NT"
        pushfd
        pop     eax
        and     eax, EFL_NT
        CHECK   eax, 0, "NT cleared by the interrupt gate"

        ; --- #NP ------------------------------------------------------------------------
        TRY     .r_np1
        mov     ax, SEL_NP_DATA
.f_np1: mov     ds, ax
        NOFAULT "loading a not-present data segment"
.r_np1: CHECK_EXC 11, SEL_NP_DATA, .f_np1, "#NP data segment"
        TRY     .r_np2
.f_np2: int     VEC_NP_GATE
        NOFAULT "INT through a not-present gate"
.r_np2: CHECK_EXC 11, VEC_NP_GATE * 8 + 2, .f_np2, "#NP IDT gate"

        ; --- #SS ------------------------------------------------------------------------
        TRY     .r_ss1
        mov     ax, SEL_NP_STACK
.f_ss1: mov     ss, ax
        NOFAULT "loading a not-present stack segment"
.r_ss1: CHECK_EXC 12, SEL_NP_STACK, .f_ss1, "#SS not-present SS"
        ; an EBP-based access past the limit of SS (limit 0x7FFFF, ESP inside)
        mov     ax, SEL_SMALL_STACK
        mov     ss, ax
        TRY     .r_ss2
        mov     ebp, 0x80000
.f_ss2: mov     eax, [ebp]
        UNENFORCED .d_ss2, "access past the SS limit"
.r_ss2: CHECK_EXC 12, 0, .f_ss2, "#SS past the SS limit"
.d_ss2: mov     ax, SEL_DATA0
        mov     ss, ax

        ; --- #GP with selector error codes ---------------------------------------------
        TRY     .r_gp1
        mov     ax, 0x1FF8
.f_gp1: mov     ds, ax
        NOFAULT "selector past the GDT limit"
.r_gp1: CHECK_EXC 13, 0x1FF8, .f_gp1, "#GP past the GDT limit"
        TRY     .r_gp2
        mov     ax, 0x000C              ; TI=1 with no LDT
.f_gp2: mov     es, ax
        NOFAULT "LDT selector with a null LDTR"
.r_gp2: CHECK_EXC 13, 0x000C, .f_gp2, "#GP LDT selector, no LDT"
        TRY     .r_gp3
        mov     ax, SEL_DATA0 | 3       ; RPL 3 > DPL 0
.f_gp3: mov     fs, ax
        NOFAULT "data selector with RPL > DPL"
.r_gp3: CHECK_EXC 13, SEL_DATA0, .f_gp3, "#GP RPL > DPL"
        TRY     .r_gp4
        mov     ax, SEL_CODE0
.f_gp4: mov     ss, ax
        NOFAULT "code segment into SS"
.r_gp4: CHECK_EXC 13, SEL_CODE0, .f_gp4, "#GP code segment into SS"
        TRY     .r_gp5
        mov     ax, SEL_DATA3
.f_gp5: mov     ss, ax                  ; DPL 3 stack at CPL 0
        NOFAULT "DPL-3 stack segment at CPL 0"
.r_gp5: CHECK_EXC 13, SEL_DATA3 & 0xFFFC, .f_gp5, "#GP SS DPL != CPL"
        TRY     .r_gp6
.f_gp6: jmp     SEL_DATA0:0
        NOFAULT "far JMP to a data segment"
.r_gp6: CHECK_EXC 13, SEL_DATA0, .f_gp6, "#GP far JMP to data"

        ; --- ring 3: privileged instructions and a DPL-0 gate -----------------------------
        RING3   user_cli
        CHECK_EXC 13, 0, user_cli.f, "#GP CLI at CPL 3, IOPL 0"
        RING3   user_hlt
        CHECK_EXC 13, 0, user_hlt.f, "#GP HLT at CPL 3"
        RING3   user_movcr
        CHECK_EXC 13, 0, user_movcr.f, "#GP MOV from CR0 at CPL 3"
        RING3   user_int3
        CHECK_EXC 13, 3 * 8 + 2, user_int3.f, "#GP INT3 at CPL 3 through a DPL-0 gate"
        RING3   user_lidt
        CHECK_EXC 13, 0, user_lidt.f, "#GP LIDT at CPL 3"
        PASS

; --- ring 3 -----------------------------------------------------------------------
user_cli:
.f:     cli
        RING0
user_hlt:
.f:     hlt
        RING0
user_movcr:
.f:     mov     eax, cr0
        RING0
user_int3:
.f:     int3
        RING0
user_lidt:
.f:     lidt    [idt_ptr]
        RING0

ROM_END
