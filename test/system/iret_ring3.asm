; iret_ring3: IRET to ring 3 with a frame built by hand; ring 3 does some work
; and comes back to ring 0 with INT. Data-segment registers whose DPL is
; below the new CPL (data or non-conforming code) are nulled by the IRET;
; conforming code and DPL-3 data survive. Also: IRET to the same privilege,
; IOPL set by a CPL-0 IRET and kept by a CPL-3 POPF, IRET with an SS whose
; RPL differs from the new CPL (#GP).
%define TEST_NAME "iret_ring3"
%include "lib.inc"

SEL_CONF        equ SEL_FREE            ; conforming readable code, DPL 0
USER_ESP        equ USER_STACK_TOP - 0x100
USER_EFLAGS     equ EFL_BASE | EFL_CF | EFL_ZF | 0x80 | EFL_IOPL3   ; 0x80 = SF

[absolute SCRATCH]
u_cs:           resd 1
u_ss:           resd 1
u_ds:           resd 1
u_es:           resd 1
u_fs:           resd 1
u_gs:           resd 1
u_esp:          resd 1
u_eflags:       resd 1
u_eflags2:      resd 1                  ; after a POPF that tries to clear IOPL
u_sum:          resd 1
u_gsread:       resd 1
[section .text]

main:
        GDT_SET SEL_CONF, 0, 0xFFFFF, 0xC09E     ; code, conforming, readable

        ; --- IRET to the same privilege level ------------------------------------
        mov     ebx, esp
        pushfd
        push    dword SEL_CODE0
        push    dword .same
        iretd
        FAIL    "IRET (same privilege) fell through"
.same:  mov     eax, esp
        CHECK   eax, ebx, "ESP after a same-privilege IRET"

        ; --- IRET to ring 3 with a hand-built frame --------------------------------
        mov     dword [SCRATCH + 0x1000], 0xC0FFEE   ; read by ring 3 through GS
        TRY     .back1
        mov     ax, SEL_DATA3
        mov     ds, ax                  ; DPL 3: stays
        mov     ax, SEL_DATA0
        mov     es, ax                  ; DPL 0 data: nulled
        mov     fs, ax                  ; DPL 0 data: nulled
        mov     ax, SEL_CONF
        mov     gs, ax                  ; conforming code: stays
        push    dword SEL_DATA3         ; SS
        push    dword USER_ESP          ; ESP
        push    dword USER_EFLAGS       ; EFLAGS
        push    dword SEL_CODE3         ; CS
        push    dword user_main         ; EIP
        iretd
.back1: mov     ax, SEL_DATA0
        mov     ds, ax
        mov     es, ax
        mov     fs, ax
        mov     gs, ax
        CHECK   [exc_vector], RING0_VEC, "ring 3 came back with INT"
        CHECK   [u_cs], SEL_CODE3, "ring 3 CS"
        CHECK   [u_ss], SEL_DATA3, "ring 3 SS"
        CHECK   [u_esp], USER_ESP, "ring 3 ESP"
        CHECK   [u_eflags], USER_EFLAGS, "ring 3 EFLAGS (incl. IOPL=3)"
        mov     eax, [u_eflags2]
        and     eax, EFL_IOPL3
        CHECK   eax, EFL_IOPL3, "ring 3 POPF cannot clear IOPL"
        CHECK   [u_ds], SEL_DATA3, "DS (DPL 3 data) kept"
        CHECK   [u_es], 0, "ES (DPL 0 data) nulled"
        CHECK   [u_fs], 0, "FS (DPL 0 data) nulled"
        CHECK   [u_gs], SEL_CONF, "GS (conforming code) kept"
        CHECK   [u_gsread], 0xC0FFEE, "read through GS in ring 3"
        CHECK   [u_sum], 5050, "ring 3 work: 1+...+100"
        CHECK   [exc_cs], SEL_CODE3, "INT frame CS"
        CHECK   [exc_fesp], USER_ESP, "INT frame ESP"
        CHECK   [exc_eip], user_main.end, "INT frame EIP"

        ; --- the nulled ES really is null: using it is #GP(0) -----------------------
        TRY     .back2
        mov     ax, SEL_DATA0
        mov     es, ax
        mov     ax, SEL_DATA3
        mov     ds, ax
        push    dword SEL_DATA3
        push    dword USER_ESP
        push    dword EFL_BASE
        push    dword SEL_CODE3
        push    dword user_null
        iretd
.back2: mov     ax, SEL_DATA0
        mov     ds, ax
        mov     es, ax
        cmp     dword [exc_vector], RING0_VEC
        jne     .null_faulted
        PRINTLN "UNENFORCED: access through a data segment register nulled by IRET"
        jmp     .null_done
.null_faulted:
        CHECK   [exc_vector], 13, "access through nulled ES vector"
        CHECK   [exc_err], 0, "access through nulled ES error code"
        CHECK   [exc_eip], user_null.f, "access through nulled ES EIP"
.null_done:

        ; --- IRET to ring 3 with SS.RPL != 3: #GP(SS selector) ----------------------
        TRY     .back3
        push    dword SEL_DATA0         ; RPL 0, but CS is ring 3
        push    dword USER_ESP
        push    dword EFL_BASE
        push    dword SEL_CODE3
        push    dword user_main
.f3:    iretd
        NOFAULT "IRET to ring 3 with a ring-0 SS"
.back3: CHECK_EXC 13, SEL_DATA0, .f3, "IRET with a bad SS"
        PASS

; --- ring 3 --------------------------------------------------------------------------
user_main:
        pushfd                          ; first: nothing has touched the flags yet
        pop     dword [u_eflags]
        xor     eax, eax
        mov     ax, cs
        mov     [u_cs], eax
        mov     ax, ss
        mov     [u_ss], eax
        mov     ax, ds
        mov     [u_ds], eax
        mov     ax, es
        mov     [u_es], eax
        mov     ax, fs
        mov     [u_fs], eax
        mov     ax, gs
        mov     [u_gs], eax
        mov     [u_esp], esp
        pushfd
        and     dword [esp], ~EFL_IOPL3
        popfd
        pushfd
        pop     dword [u_eflags2]
        mov     eax, [gs:SCRATCH + 0x1000]
        mov     [u_gsread], eax
        mov     ecx, 100
        call    sum_to_ecx
        mov     [u_sum], eax
        RING0
.end:

; EAX = 1 + 2 + ... + ECX (a near call on the ring-3 stack)
sum_to_ecx:
        xor     eax, eax
.add:   add     eax, ecx
        loop    .add
        ret

user_null:
.f:     mov     eax, [es:SCRATCH]
        RING0

ROM_END
