; paging: 4 KiB identity map, a 4 MiB page (CR4.PSE), an alias (two linear
; pages on one physical page), accessed/dirty bits written by the CPU,
; global pages (CR4.PGE) across a CR3 reload, INVLPG.
%define TEST_NAME "paging"
%include "lib.inc"

PT1             equ PT_FREE             ; page table for 0xC00000-0xFFFFFF
LIN_BIG         equ 0x400000            ; PDE 1: 4 MiB page -> phys 0x800000
PHYS_BIG        equ 0x800000
LIN_BIGVIEW     equ 0x800000            ; PDE 2: 4 MiB page, identity (to look at PHYS_BIG)
LIN_ALIAS_A     equ 0xC00000            ; PT1[0] -> 0x300000
LIN_ALIAS_B     equ 0xC01000            ; PT1[1] -> 0x300000
LIN_AD          equ 0xC02000            ; PT1[2] -> 0x301000, A=D=0
LIN_GLOBAL      equ 0xC03000            ; PT1[3] -> 0x302000, G
LIN_LOCAL       equ 0xC04000            ; PT1[4] -> 0x303000
LIN_INVLPG      equ 0xC05000            ; PT1[5] -> 0x305000
PHYS_ALIAS      equ 0x300000
PHYS_AD         equ 0x301000
PHYS_G_OLD      equ 0x302000
PHYS_L_OLD      equ 0x303000
PHYS_NEW        equ 0x304000
PHYS_I_OLD      equ 0x305000
PHYS_I_NEW      equ 0x306000
MARK_BIG        equ 0xA5A5A5A5
MARK_G_OLD      equ 0x11111111
MARK_L_OLD      equ 0x22222222
MARK_NEW        equ 0x33333333
MARK_I_OLD      equ 0x44444444
MARK_I_NEW      equ 0x55555555
PTE_RW          equ PG_P | PG_RW

main:
        ; contents of the physical pages, written before paging is on
        mov     dword [PHYS_BIG + 0x1234], MARK_BIG
        mov     dword [PHYS_G_OLD], MARK_G_OLD
        mov     dword [PHYS_L_OLD], MARK_L_OLD
        mov     dword [PHYS_NEW], MARK_NEW
        mov     dword [PHYS_I_OLD], MARK_I_OLD
        mov     dword [PHYS_I_NEW], MARK_I_NEW

        mov     ebx, PG_P | PG_RW | PG_US
        call    paging_init
        mov     dword [PD_BASE + 1 * 4], PHYS_BIG | PTE_RW | PG_PS
        mov     dword [PD_BASE + 2 * 4], PHYS_BIG | PTE_RW | PG_PS
        mov     dword [PD_BASE + 3 * 4], PT1 | PTE_RW
        mov     edi, PT1
        mov     ecx, 1024
        xor     eax, eax
        rep     stosd
        mov     dword [PT1 + 0 * 4], PHYS_ALIAS | PTE_RW
        mov     dword [PT1 + 1 * 4], PHYS_ALIAS | PTE_RW
        mov     dword [PT1 + 2 * 4], PHYS_AD | PTE_RW
        mov     dword [PT1 + 3 * 4], PHYS_G_OLD | PTE_RW | PG_G
        mov     dword [PT1 + 4 * 4], PHYS_L_OLD | PTE_RW
        mov     dword [PT1 + 5 * 4], PHYS_I_OLD | PTE_RW

        mov     eax, cr4
        or      eax, CR4_PSE | CR4_PGE
        mov     cr4, eax
        call    paging_enable
        mov     eax, cr0
        and     eax, CR0_PG
        CHECK   eax, CR0_PG, "CR0.PG"
        PRINTLN "paging on"

        ; --- the 4 MiB page -------------------------------------------------
        mov     eax, [PD_BASE + 1 * 4]
        and     eax, PG_A | PG_D
        CHECK   eax, 0, "4M PDE A|D before use"
        CHECK   [LIN_BIG + 0x1234], MARK_BIG, "4M page read"
        mov     eax, [PD_BASE + 1 * 4]
        and     eax, PG_A | PG_D
        CHECK   eax, PG_A, "4M PDE A|D after read"
        mov     dword [LIN_BIG + 0x3FF000], 0x600DCAFE     ; last 4 KiB of the page
        mov     eax, [PD_BASE + 1 * 4]
        and     eax, PG_A | PG_D
        CHECK   eax, PG_A | PG_D, "4M PDE A|D after write"
        CHECK   [LIN_BIGVIEW + 0x3FF000], 0x600DCAFE, "4M page write seen at its physical address"

        ; --- alias ----------------------------------------------------------
        mov     dword [LIN_ALIAS_A + 0x10], 0xDEADBEEF
        CHECK   [LIN_ALIAS_B + 0x10], 0xDEADBEEF, "alias read"
        CHECK   [PHYS_ALIAS + 0x10], 0xDEADBEEF, "alias physical"
        mov     dword [LIN_ALIAS_B + 0x10], 0x12345678
        CHECK   [LIN_ALIAS_A + 0x10], 0x12345678, "alias read back"

        ; --- accessed / dirty -------------------------------------------------
        mov     eax, [PT1 + 2 * 4]
        and     eax, PG_A | PG_D
        CHECK   eax, 0, "PTE A|D before use"
        mov     eax, [LIN_AD]
        mov     eax, [PT1 + 2 * 4]
        and     eax, PG_A | PG_D
        CHECK   eax, PG_A, "PTE A|D after read"
        mov     eax, [PD_BASE + 3 * 4]
        and     eax, PG_A
        CHECK   eax, PG_A, "PDE A after walk"
        mov     dword [LIN_AD + 4], 1
        mov     eax, [PT1 + 2 * 4]
        and     eax, PG_A | PG_D
        CHECK   eax, PG_A | PG_D, "PTE A|D after write"

        ; --- global vs non-global across a CR3 reload ---------------------------
        CHECK   [LIN_GLOBAL], MARK_G_OLD, "global page before"
        CHECK   [LIN_LOCAL], MARK_L_OLD, "local page before"
        mov     dword [PT1 + 3 * 4], PHYS_NEW | PTE_RW | PG_G
        mov     dword [PT1 + 4 * 4], PHYS_NEW | PTE_RW
        mov     eax, [LIN_LOCAL]
        PRINT   "  local page after the PTE change, no flush: "
        call    print_stale_or_new
        mov     eax, cr3
        mov     cr3, eax
        CHECK   [LIN_LOCAL], MARK_NEW, "local page after CR3 reload"
        mov     eax, [LIN_GLOBAL]
        PRINT   "GLOBAL-AFTER-CR3: "
        call    print_stale_or_new
        invlpg  [LIN_GLOBAL]
        CHECK   [LIN_GLOBAL], MARK_NEW, "global page after INVLPG"

        ; clearing CR4.PGE flushes global entries too
        mov     dword [PT1 + 3 * 4], PHYS_G_OLD | PTE_RW | PG_G
        mov     eax, cr4
        and     eax, ~CR4_PGE
        mov     cr4, eax
        or      eax, CR4_PGE
        mov     cr4, eax
        CHECK   [LIN_GLOBAL], MARK_G_OLD, "global page after CR4.PGE toggle"

        ; --- INVLPG ---------------------------------------------------------------
        CHECK   [LIN_INVLPG], MARK_I_OLD, "page before INVLPG"
        mov     dword [PT1 + 5 * 4], PHYS_I_NEW | PTE_RW
        invlpg  [LIN_INVLPG]
        CHECK   [LIN_INVLPG], MARK_I_NEW, "page after INVLPG"
        ; INVLPG of a 4 MiB page: move PDE 1 and look again
        mov     dword [PD_BASE + 1 * 4], 0 | PTE_RW | PG_PS
        invlpg  [LIN_BIG + 0x1234]
        mov     eax, [LIN_BIG + PHYS_G_OLD]
        CHECK   eax, MARK_G_OLD, "4M page after moving it and INVLPG"

        call    paging_disable
        PASS

; prints "stale" or "new" for EAX (a value read through a changed mapping)
print_stale_or_new:
        cmp     eax, MARK_NEW
        je      .new
        PRINTLN "stale"
        ret
.new:   PRINTLN "new"
        ret

ROM_END
