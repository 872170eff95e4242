; cpu_state: the reset state (CR0, EDX = the signature), CPUID leaf 0 (GenuineIntel) and
; leaf 1 (family 6, the features the other tests use), RDTSC increasing
; (and CR4.TSD), RDMSR/WRMSR of the SYSENTER MSRs, SYSEXIT to ring 3 and
; SYSENTER back, and the #GP cases around them.
%define TEST_NAME "cpu_state"
%include "lib.inc"

MSR_SYSENTER_CS equ 0x174
MSR_SYSENTER_ESP equ 0x175
MSR_SYSENTER_EIP equ 0x176
CR4_TSD         equ 0x4
SYSENTER_STACK  equ ALT_STACK_TOP
FEAT_NEEDED     equ (1 << 3) | (1 << 4) | (1 << 5) | (1 << 11) | (1 << 13)  ; PSE TSC MSR SEP PGE

[absolute SCRATCH]
tsc0:           resd 2
tsc1:           resd 2
saved_esp:      resd 1
u_cs:           resd 1
u_ss:           resd 1
u_esp:          resd 1
u_eflags:       resd 1
k_cs:           resd 1
k_ss:           resd 1
k_esp:          resd 1
k_eflags:       resd 1
k_count:        resd 1
[section .text]

main:
        ; --- reset state, saved by lib before anything changed it ----------------
        CHECK   [reset_cr0], 0x60000010, "CR0 at reset"

        ; --- CPUID ------------------------------------------------------------------
        xor     eax, eax
        cpuid
        mov     [SCRATCH + 0x100], ebx
        mov     [SCRATCH + 0x104], edx
        mov     [SCRATCH + 0x108], ecx
        mov     byte [SCRATCH + 0x10C], 0
        PRINT   "CPUID 0: max leaf "
        PHEX    eax
        PRINT   ", vendor "
        push    eax
        push    esi
        mov     esi, SCRATCH + 0x100
.vendor:
        lodsb
        test    al, al
        jz      .vendor_done
        out     DEBUGCON, al
        jmp     .vendor
.vendor_done:
        pop     esi
        pop     eax
        NEWLINE
        CHECK   ebx, 'Genu', "CPUID 0 EBX"
        CHECK   edx, 'ineI', "CPUID 0 EDX"
        CHECK   ecx, 'ntel', "CPUID 0 ECX"
        cmp     eax, 1
        jae     .leaf1
        FAIL    "CPUID max leaf is 0"
.leaf1: mov     eax, 1
        cpuid
        PRINT   "CPUID 1:"
        SHOW    "EAX", eax
        SHOW    "EBX", ebx
        SHOW    "ECX", ecx
        SHOW    "EDX", edx
        NEWLINE
        mov     esi, eax
        shr     esi, 8
        and     esi, 0x0F
        CHECK   esi, 6, "CPUID 1 family"
        ; EDX at reset holds the processor signature (QEMU, real CPUs; Bochs
        ; leaves 0 there)
        cmp     dword [reset_edx], 0
        jne     .reset_edx
        PRINTLN "UNENFORCED: EDX at reset is 0, not the processor signature"
        jmp     .reset_edx_done
.reset_edx:
        CHECK   [reset_edx], eax, "EDX at reset = CPUID 1 EAX"
.reset_edx_done:
        and     edx, FEAT_NEEDED
        CHECK   edx, FEAT_NEEDED, "CPUID 1 EDX: PSE TSC MSR SEP PGE"

        ; --- RDTSC --------------------------------------------------------------------
        rdtsc
        mov     [tsc0], eax
        mov     [tsc0 + 4], edx
        mov     ecx, 1000
.spin:  loop    .spin
        rdtsc
        mov     [tsc1], eax
        mov     [tsc1 + 4], edx
        PRINT   "TSC "
        PHEX    [tsc0 + 4]
        PHEX    [tsc0]
        PRINT   " -> "
        PHEX    [tsc1 + 4]
        PHEX    [tsc1]
        NEWLINE
        mov     eax, [tsc1]
        mov     edx, [tsc1 + 4]
        sub     eax, [tsc0]
        sbb     edx, [tsc0 + 4]
        jc      .tsc_bad                ; went backwards
        or      eax, edx
        jz      .tsc_bad                ; did not move
        PRINTLN "  TSC increases"
        jmp     .msr
.tsc_bad:
        FAIL    "TSC did not increase"

        ; --- RDMSR / WRMSR ----------------------------------------------------------------
.msr:   mov     ecx, MSR_SYSENTER_CS
        mov     eax, 0x1234
        xor     edx, edx
        wrmsr
        xor     eax, eax
        rdmsr
        CHECK   eax, 0x1234, "SYSENTER_CS round trip"
        mov     ecx, MSR_SYSENTER_ESP
        mov     eax, SYSENTER_STACK
        wrmsr
        rdmsr
        CHECK   eax, SYSENTER_STACK, "SYSENTER_ESP round trip"
        mov     ecx, MSR_SYSENTER_EIP
        mov     eax, sysenter_entry
        wrmsr
        rdmsr
        CHECK   eax, sysenter_entry, "SYSENTER_EIP round trip"

        ; SYSENTER with SYSENTER_CS = 0: #GP(0)
        mov     ecx, MSR_SYSENTER_CS
        xor     eax, eax
        wrmsr
        RING3   user_sysenter
        CHECK_EXC 13, 0, user_sysenter.f, "SYSENTER with SYSENTER_CS=0"

        ; --- SYSEXIT to ring 3, SYSENTER back ---------------------------------------------
        mov     ecx, MSR_SYSENTER_CS
        mov     eax, SEL_CODE0          ; CS=08 SS=10; SYSEXIT: CS=1B SS=23
        xor     edx, edx
        wrmsr
        mov     [saved_esp], esp
        mov     ax, SEL_DATA3
        mov     ds, ax
        mov     es, ax
        mov     edx, user_sysexit       ; EIP
        mov     ecx, USER_STACK_TOP     ; ESP
        sti                             ; SYSENTER must clear it
        sysexit
.after_sysenter:
        mov     ax, SEL_DATA0
        mov     ds, ax
        mov     es, ax
        PRINTLN "SYSEXIT / SYSENTER:"
        CHECK   [u_cs], SEL_CODE3, "ring 3 CS after SYSEXIT"
        CHECK   [u_ss], SEL_DATA3, "ring 3 SS after SYSEXIT"
        CHECK   [u_esp], USER_STACK_TOP, "ring 3 ESP after SYSEXIT (ECX)"
        mov     eax, [u_eflags]
        and     eax, EFL_IF
        CHECK   eax, EFL_IF, "ring 3 EFLAGS.IF (unchanged by SYSEXIT)"
        CHECK   [k_count], 1, "SYSENTER entry runs"
        CHECK   [k_cs], SEL_CODE0, "CS after SYSENTER"
        CHECK   [k_ss], SEL_DATA0, "SS after SYSENTER"
        CHECK   [k_esp], SYSENTER_STACK, "ESP after SYSENTER"
        mov     eax, [k_eflags]
        and     eax, EFL_IF
        CHECK   eax, 0, "EFLAGS.IF after SYSENTER"

        ; --- the #GP cases -----------------------------------------------------------------------
        RING3   user_rdmsr
        CHECK_EXC 13, 0, user_rdmsr.f, "RDMSR at CPL 3"
        RING3   user_wrmsr
        CHECK_EXC 13, 0, user_wrmsr.f, "WRMSR at CPL 3"
        RING3   user_sysexit_r3
        CHECK_EXC 13, 0, user_sysexit_r3.f, "SYSEXIT at CPL 3"
        RING3   user_rdtsc
        CHECK   [exc_vector], RING0_VEC, "RDTSC at CPL 3 with CR4.TSD=0"
        mov     eax, cr4
        or      eax, CR4_TSD
        mov     cr4, eax
        RING3   user_rdtsc
        CHECK_EXC 13, 0, user_rdtsc.f, "RDTSC at CPL 3 with CR4.TSD=1"
        mov     eax, cr4
        and     eax, ~CR4_TSD
        mov     cr4, eax
        PASS

; --- SYSENTER lands here (ring 0) -----------------------------------------------------
sysenter_entry:
        pushfd
        pop     dword [ss:k_eflags]
        mov     [ss:k_esp], esp
        push    eax
        xor     eax, eax
        mov     ax, cs
        mov     [ss:k_cs], eax
        mov     ax, ss
        mov     [ss:k_ss], eax
        pop     eax
        inc     dword [ss:k_count]
        mov     esp, [ss:saved_esp]
        jmp     main.after_sysenter

; --- ring 3 ----------------------------------------------------------------------------
user_sysexit:
        pushfd
        pop     dword [u_eflags]
        mov     [u_esp], esp
        xor     eax, eax
        mov     ax, cs
        mov     [u_cs], eax
        mov     ax, ss
        mov     [u_ss], eax
        sysenter
user_sysenter:
.f:     sysenter
        RING0
user_rdmsr:
        mov     ecx, MSR_SYSENTER_CS
.f:     rdmsr
        RING0
user_wrmsr:
        mov     ecx, MSR_SYSENTER_CS
        xor     eax, eax
        xor     edx, edx
.f:     wrmsr
        RING0
user_sysexit_r3:
        mov     edx, user_sysexit_r3
        mov     ecx, USER_STACK_TOP
.f:     sysexit
        RING0
user_rdtsc:
.f:     rdtsc
        RING0

ROM_END
