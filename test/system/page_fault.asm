; page_fault: the #PF handler sees CR2 and the error code for not-present
; read/write, user access to a supervisor page, user write to a read-only
; page, supervisor write to a read-only page with CR0.WP=1 (fault) and
; WP=0 (no fault). The pushed EIP is the faulting instruction's.
%define TEST_NAME "page_fault"
%include "lib.inc"

PT1             equ PT_FREE             ; page table for 0x400000-0x7FFFFF
LIN_NP          equ 0x400000            ; not present
LIN_SUPER       equ 0x401000            ; supervisor, read/write
LIN_USER_RO     equ 0x402000            ; user, read-only
LIN_SUPER_RO    equ 0x403000            ; supervisor, read-only
PHYS_PAGES      equ 0x300000            ; backing pages (PHYS_PAGES + n * 0x1000)

main:
        mov     ebx, PG_P | PG_RW | PG_US
        call    paging_init
        mov     dword [PD_BASE + 1 * 4], PT1 | PG_P | PG_RW | PG_US
        mov     edi, PT1
        mov     ecx, 1024
        xor     eax, eax
        rep     stosd
        mov     dword [PT1 + 1 * 4], (PHYS_PAGES + 0x1000) | PG_P | PG_RW
        mov     dword [PT1 + 2 * 4], (PHYS_PAGES + 0x2000) | PG_P | PG_US
        mov     dword [PT1 + 3 * 4], (PHYS_PAGES + 0x3000) | PG_P
        mov     dword [PHYS_PAGES + 0x3000 + 0x40], 0x11111111
        call    paging_enable
        PRINTLN "paging on"

        ; supervisor read of a not-present page: error 0
        TRY     .r1
.f1:    mov     eax, [LIN_NP + 0x123]
        NOFAULT "read of a not-present page"
.r1:    CHECK_EXC 14, 0, .f1, "not-present read"
        CHECK   [exc_cr2], LIN_NP + 0x123, "not-present read CR2"

        ; supervisor write to a not-present page: error 2
        TRY     .r2
.f2:    mov     dword [LIN_NP + 0x456], 1
        NOFAULT "write to a not-present page"
.r2:    CHECK_EXC 14, 2, .f2, "not-present write"
        CHECK   [exc_cr2], LIN_NP + 0x456, "not-present write CR2"

        ; user read of a not-present page: error 4
        RING3   user_read_np
        CHECK   [exc_vector], 14, "user not-present read vector"
        CHECK   [exc_err], 4, "user not-present read error code"
        CHECK   [exc_eip], user_read_np.f, "user not-present read EIP"
        CHECK   [exc_cr2], LIN_NP + 0x789, "user not-present read CR2"

        ; user read of a supervisor page: error 5
        RING3   user_read_super
        CHECK   [exc_vector], 14, "user read of supervisor page vector"
        CHECK   [exc_err], 5, "user read of supervisor page error code"
        CHECK   [exc_eip], user_read_super.f, "user read of supervisor page EIP"
        CHECK   [exc_cr2], LIN_SUPER + 0x10, "user read of supervisor page CR2"
        CHECK   [exc_cs], SEL_CODE3, "user read of supervisor page frame CS"
        CHECK   [exc_fss], SEL_DATA3, "user read of supervisor page frame SS"
        CHECK   [exc_fesp], USER_STACK_TOP, "user read of supervisor page frame ESP"

        ; user write to a supervisor page: error 7
        RING3   user_write_super
        CHECK   [exc_vector], 14, "user write to supervisor page vector"
        CHECK   [exc_err], 7, "user write to supervisor page error code"
        CHECK   [exc_cr2], LIN_SUPER + 0x20, "user write to supervisor page CR2"

        ; user write to a user read-only page: error 7
        RING3   user_write_ro
        CHECK   [exc_vector], 14, "user write to read-only page vector"
        CHECK   [exc_err], 7, "user write to read-only page error code"
        CHECK   [exc_eip], user_write_ro.f, "user write to read-only page EIP"
        CHECK   [exc_cr2], LIN_USER_RO + 0x30, "user write to read-only page CR2"
        ; ...while reading it is fine
        RING3   user_read_ro
        CHECK   [exc_vector], RING0_VEC, "user read of read-only page (no fault)"

        ; supervisor write to a read-only page, CR0.WP=1: error 3
        mov     eax, cr0
        or      eax, CR0_WP
        mov     cr0, eax
        TRY     .r3
.f3:    mov     dword [LIN_SUPER_RO + 0x40], 0x22222222
        NOFAULT "supervisor write to a read-only page with WP=1"
.r3:    CHECK_EXC 14, 3, .f3, "supervisor write, WP=1"
        CHECK   [exc_cr2], LIN_SUPER_RO + 0x40, "supervisor write, WP=1 CR2"
        CHECK   [LIN_SUPER_RO + 0x40], 0x11111111, "read-only page unchanged"

        ; the same with CR0.WP=0: no fault, the write lands
        mov     eax, cr0
        and     eax, ~CR0_WP
        mov     cr0, eax
        TRY     .r4
        mov     dword [LIN_SUPER_RO + 0x40], 0x33333333
        mov     dword [exc_resume], 0
        CHECK   [LIN_SUPER_RO + 0x40], 0x33333333, "supervisor write, WP=0, lands"
        CHECK   [PHYS_PAGES + 0x3000 + 0x40], 0x33333333, "supervisor write, WP=0, physical"
        jmp     .wp_done
.r4:    FAIL    "#PF on a supervisor write to a read-only page with WP=0"
.wp_done:

        ; making the page present (no INVLPG needed: not-present entries are
        ; not cached) lets the access through
        mov     dword [PT1 + 0 * 4], PHYS_PAGES | PG_P | PG_RW
        mov     dword [LIN_NP + 0x123], 0x44444444
        CHECK   [PHYS_PAGES + 0x123], 0x44444444, "page made present"

        call    paging_disable
        PASS

; --- ring 3 --------------------------------------------------------------------
user_read_np:
.f:     mov     eax, [LIN_NP + 0x789]
        RING0
user_read_super:
.f:     mov     eax, [LIN_SUPER + 0x10]
        RING0
user_write_super:
.f:     mov     dword [LIN_SUPER + 0x20], 1
        RING0
user_write_ro:
.f:     mov     dword [LIN_USER_RO + 0x30], 1
        RING0
user_read_ro:
        mov     eax, [LIN_USER_RO + 0x30]
        RING0

ROM_END
