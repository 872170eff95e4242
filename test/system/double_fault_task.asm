; double_fault_task: #DF through a task gate to its own TSS, as Linux does on
; i386. Two double faults: a #GP whose IDT gate is not present (#NP while
; delivering #GP), and a kernel stack overflow with paging (#PF while
; delivering #PF). The #DF task checks TR, NT, its back link, the busy bits,
; then repairs the interrupted task's TSS and IRETs back to it (a task
; return through the back link).
%define TEST_NAME "double_fault_task"
%include "lib.inc"

BAD_STACK_PAGE  equ 0x30000             ; made not present for the overflow
TSS_LINK        equ 0x00
TSS_CR3         equ 0x1C
TSS_EIP         equ 0x20
TSS_EFLAGS      equ 0x24
TSS_ESP         equ 0x38
TSS_ES          equ 0x48
TSS_CS          equ 0x4C
TSS_SS          equ 0x50
TSS_DS          equ 0x54
TSS_FS          equ 0x58
TSS_GS          equ 0x5C

[absolute SCRATCH]
df_count:       resd 1
df_esp:         resd 1                  ; ESP on entry to the #DF task
df_err:         resd 1                  ; the error code it found on its stack
df_eflags:      resd 1
df_tr:          resd 1
df_link:        resd 1                  ; back link in its TSS
df_type0:       resd 1                  ; GDT access byte of TSS0 / TSS1 while in the task
df_type1:       resd 1
df_cr0:         resd 1
df_cr2:         resd 1
df_cr3:         resd 1
df_old_eip:     resd 1                  ; EIP saved in TSS0 (architecturally undefined for #DF)
df_resume:      resd 1                  ; where the interrupted task is sent back to
df_resume_esp:  resd 1
[section .text]

main:
        mov     ebx, PG_P | PG_RW | PG_US
        call    paging_init
        ; the #DF task's TSS
        mov     dword [TSS1_BASE + TSS_EIP], df_task
        mov     dword [TSS1_BASE + TSS_ESP], ALT_STACK_TOP
        mov     dword [TSS1_BASE + TSS_EFLAGS], EFL_BASE
        mov     dword [TSS1_BASE + TSS_CR3], PD_BASE
        mov     dword [TSS1_BASE + TSS_CS], SEL_CODE0
        mov     dword [TSS1_BASE + TSS_SS], SEL_DATA0
        mov     dword [TSS1_BASE + TSS_DS], SEL_DATA0
        mov     dword [TSS1_BASE + TSS_ES], SEL_DATA0
        mov     dword [TSS1_BASE + TSS_FS], SEL_DATA0
        mov     dword [TSS1_BASE + TSS_GS], SEL_DATA0
        ; the main task's CR3 is loaded again on the way back
        mov     dword [TSS0_BASE + TSS_CR3], PD_BASE
        IDT_GATE 8, 0, GATE_TASK, SEL_TSS1

        ; --- 1: #GP with a not-present #GP gate -> #NP -> #DF ---------------------
        PRINTLN "double fault 1: #GP, #NP delivering it"
        IDT_GATE 13, exc_stub_13, GATE_INT32 & 0x7F      ; P=0
        mov     dword [df_resume], .back1
        mov     [df_resume_esp], esp
        mov     ax, 0xFFF0
.f1:    mov     ds, ax
        FAIL    "no fault loading a selector past the GDT limit"
.back1: PRINTLN "back in the main task"
        IDT_GATE 13, exc_stub_13, GATE_INT32
        call    check_common
        CHECK   [df_count], 1, "#DF task runs"
        PRINT   "  EIP saved in TSS0 (undefined for #DF): "
        PHEX    [df_old_eip]
        NEWLINE

        ; --- 2: stack overflow with paging: #PF, #PF delivering it -> #DF -----------
        PRINTLN "double fault 2: #PF on the stack, #PF delivering it"
        mov     dword [PT0_BASE + (BAD_STACK_PAGE >> 12) * 4], 0
        call    paging_enable
        mov     dword [df_resume], .back2
        mov     [df_resume_esp], esp
        mov     esp, BAD_STACK_PAGE + 0x1000
.f2:    push    eax
        mov     esp, [df_resume_esp]
        FAIL    "no fault pushing onto a not-present page"
.back2: PRINTLN "back in the main task"
        call    check_common
        CHECK   [df_count], 2, "#DF task runs again"
        CHECK   [df_cr2], BAD_STACK_PAGE + 0x1000 - 4, "CR2 in the #DF task"
        CHECK   [df_cr3], PD_BASE, "CR3 in the #DF task (from its TSS)"
        mov     eax, cr0
        and     eax, CR0_PG
        CHECK   eax, CR0_PG, "paging still on"
        call    paging_disable
        PASS

; checks after each round trip through the #DF task
check_common:
        CHECK   [df_err], 0, "#DF error code"
        CHECK   [df_esp], ALT_STACK_TOP - 4, "#DF task ESP (TSS1.ESP - 4)"
        CHECK   [df_tr], SEL_TSS1, "TR in the #DF task"
        mov     eax, [df_eflags]
        and     eax, EFL_NT
        CHECK   eax, EFL_NT, "NT in the #DF task"
        CHECK   [df_link], SEL_TSS0, "back link in TSS1"
        CHECK   [df_type0], 0x8B, "TSS0 busy while nested"
        CHECK   [df_type1], 0x8B, "TSS1 busy while running"
        ; back in the main task
        xor     eax, eax
        str     ax
        CHECK   eax, SEL_TSS0, "TR after the task return"
        movzx   eax, byte [GDT_BASE + SEL_TSS1 + 5]
        CHECK   eax, 0x89, "TSS1 no longer busy"
        movzx   eax, byte [GDT_BASE + SEL_TSS0 + 5]
        CHECK   eax, 0x8B, "TSS0 still busy"
        mov     eax, [TSS1_BASE + TSS_EFLAGS]
        and     eax, EFL_NT
        CHECK   eax, 0, "NT cleared in TSS1's saved EFLAGS"
        pushfd
        pop     eax
        and     eax, EFL_NT
        CHECK   eax, 0, "NT in the main task"
        mov     eax, cr0
        and     eax, CR0_TS
        CHECK   eax, CR0_TS, "CR0.TS set by the task switch"
        clts
        xor     eax, eax
        mov     ax, ds
        CHECK   eax, SEL_DATA0, "DS restored from TSS0"
        ret

; --- the #DF task ------------------------------------------------------------------
df_task:
        mov     [df_esp], esp
        pop     dword [df_err]
        pushfd
        pop     dword [df_eflags]
        xor     eax, eax
        str     ax
        mov     [df_tr], eax
        movzx   eax, word [TSS1_BASE + TSS_LINK]
        mov     [df_link], eax
        movzx   eax, byte [GDT_BASE + SEL_TSS0 + 5]
        mov     [df_type0], eax
        movzx   eax, byte [GDT_BASE + SEL_TSS1 + 5]
        mov     [df_type1], eax
        mov     eax, cr0
        mov     [df_cr0], eax
        mov     eax, cr2
        mov     [df_cr2], eax
        mov     eax, cr3
        mov     [df_cr3], eax
        mov     eax, [TSS0_BASE + TSS_EIP]
        mov     [df_old_eip], eax
        inc     dword [df_count]
        PRINTLN "in the #DF task"
        ; send the interrupted task somewhere sane
        mov     eax, [df_resume]
        mov     [TSS0_BASE + TSS_EIP], eax
        mov     eax, [df_resume_esp]
        mov     [TSS0_BASE + TSS_ESP], eax
        mov     dword [TSS0_BASE + TSS_DS], SEL_DATA0
        iretd                           ; NT=1: back to the task in the back link
        jmp     df_task                 ; the next #DF enters here

ROM_END
