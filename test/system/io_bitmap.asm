; io_bitmap: ring 3 with IOPL=0 and a TSS I/O permission bitmap that allows
; port 0xE9 but not 0x80: OUT 0xE9 works from ring 3 (ring 3 prints), OUT
; 0x80 is #GP(0); so are a word access that covers a denied port and IN from
; a denied port. With IOPL=3 the bitmap is not consulted. A bitmap past the
; TSS limit (entirely, or the second byte the CPU reads) means #GP too.
%define TEST_NAME "io_bitmap"
%include "lib.inc"

; TSS_IO_RELOAD limit: reloads TR from SEL_TSS_IO with a new limit
%macro TSS_IO_RELOAD 1
        and     byte [GDT_BASE + SEL_TSS_IO + 5], ~0x02  ; not busy
        GDT_SET SEL_TSS_IO, TSS_IO_BASE, %1, ATTR_TSS32
        mov     ax, SEL_TSS_IO
        ltr     ax
%endmacro

main:
        call    tss_io_init
        IOMAP_ALLOW DEBUGCON
        xor     eax, eax
        str     ax
        CHECK   eax, SEL_TSS_IO, "TR"

        PRINTLN "ring 3, IOPL=0, port 0xE9 allowed:"
        RING3   user_print
        CHECK   [exc_vector], RING0_VEC, "ring 3 printed without a fault"

        RING3   user_out80
        CHECK   [exc_vector], 13, "OUT 0x80 vector"
        CHECK   [exc_err], 0, "OUT 0x80 error code"
        CHECK   [exc_eip], user_out80.f, "OUT 0x80 EIP"

        RING3   user_in80
        CHECK   [exc_vector], 13, "IN 0x80 vector"
        CHECK   [exc_eip], user_in80.f, "IN 0x80 EIP"

        RING3   user_outw_e9        ; 16-bit OUT covers 0xE9 (allowed) and 0xEA (denied)
        CHECK   [exc_vector], 13, "OUT DX=0xE9, AX vector"
        CHECK   [exc_eip], user_outw_e9.f, "OUT DX=0xE9, AX EIP"

        PRINTLN "ring 3, IOPL=3: the bitmap is not consulted:"
        RING3   user_out80, EFL_BASE | EFL_IOPL3
        CHECK   [exc_vector], RING0_VEC, "OUT 0x80 with IOPL=3"

        PRINTLN "bitmap entirely past the TSS limit:"
        TSS_IO_RELOAD 0x67
        RING3   user_oute9
        CHECK   [exc_vector], 13, "OUT 0xE9 vector"
        CHECK   [exc_err], 0, "OUT 0xE9 error code"
        CHECK   [exc_eip], user_oute9.f, "OUT 0xE9 EIP"

        PRINTLN "the second bitmap byte past the TSS limit:"
        TSS_IO_RELOAD TSS_IO_MAP + (DEBUGCON >> 3)
        RING3   user_oute9
        CHECK   [exc_vector], 13, "OUT 0xE9 vector"
        CHECK   [exc_eip], user_oute9.f, "OUT 0xE9 EIP"

        PRINTLN "both bytes inside the limit again:"
        TSS_IO_RELOAD TSS_IO_MAP + (DEBUGCON >> 3) + 1
        RING3   user_print
        CHECK   [exc_vector], RING0_VEC, "ring 3 printed without a fault"

        ; LTR of a busy TSS: #GP(selector)
        TRY     .r_ltr
        mov     ax, SEL_TSS_IO
.f_ltr: ltr     ax
        NOFAULT "LTR of a busy TSS"
.r_ltr: CHECK_EXC 13, SEL_TSS_IO, .f_ltr, "LTR busy TSS"
        PASS

; --- ring 3 -----------------------------------------------------------------------
user_print:
        PRINTLN "  hello from ring 3"
        RING0
user_oute9:
        mov     al, '!'
.f:     out     DEBUGCON, al
        RING0
user_out80:
.f:     out     0x80, al
        RING0
user_in80:
.f:     in      al, 0x80
        RING0
user_outw_e9:
        mov     dx, DEBUGCON
        mov     ax, 0x0A0A
.f:     out     dx, ax
        RING0

ROM_END
