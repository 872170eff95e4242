; call_gate: ring 3 calls ring 0 through a 32-bit call gate that copies two
; dword parameters; the stack switches to SS0:ESP0 from the TSS, RETF 8
; returns to ring 3 and pops the parameters from the ring-3 stack. Also: the
; same gate from ring 0 (no stack switch), a DPL-0 gate from ring 3 (#GP).
%define TEST_NAME "call_gate"
%include "lib.inc"

SEL_GATE3       equ SEL_FREE | 3        ; call gate, DPL 3 -> gate_target, 2 params
SEL_GATE0       equ SEL_FREE + 0x08     ; call gate, DPL 0 -> gate_target
PARAM1          equ 0x11111111          ; pushed first
PARAM2          equ 0x22222222

[absolute SCRATCH]
g_cs:           resd 1                  ; what gate_target saw
g_ss:           resd 1
g_esp:          resd 1
g_ds:           resd 1
g_frame:        resd 6                  ; EIP CS param2 param1 ESP SS
u_cs:           resd 1                  ; what ring 3 saw
u_esp_call:     resd 1
u_esp_after:    resd 1
u_cs_after:     resd 1
u_ss_after:     resd 1
u_es_after:     resd 1
u_eax_after:    resd 1
[section .text]

main:
        GDT_GATE SEL_GATE3, gate_target, SEL_CODE0, GATE_CALL32 | GATE_DPL3, 2
        GDT_GATE SEL_GATE0, gate_target, SEL_CODE0, GATE_CALL32, 2

        ; --- ring 3 -> ring 0 ------------------------------------------------
        RING3   user_main
        CHECK   [exc_vector], RING0_VEC, "ring 3 came back through RING0"
        CHECK   [u_cs], SEL_CODE3, "CS in ring 3 (CPL 3)"
        CHECK   [g_cs], SEL_CODE0, "CS in the gate target (CPL 0)"
        CHECK   [g_ss], SEL_DATA0, "SS in the gate target (TSS.SS0)"
        CHECK   [g_esp], KSTACK_TOP - 24, "ESP in the gate target (TSS.ESP0 - 24)"
        CHECK   [g_frame + 0], user_main.ret, "frame EIP"
        CHECK   [g_frame + 4], SEL_CODE3, "frame CS"
        CHECK   [g_frame + 8], PARAM2, "copied parameter 2"
        CHECK   [g_frame + 12], PARAM1, "copied parameter 1"
        CHECK   [g_frame + 16], [u_esp_call], "frame ESP (caller's)"
        CHECK   [g_frame + 20], SEL_DATA3, "frame SS (caller's)"
        CHECK   [g_ds], SEL_DATA3, "DS unchanged through the gate"
        CHECK   [u_cs_after], SEL_CODE3, "CS after RETF (CPL 3)"
        CHECK   [u_ss_after], SEL_DATA3, "SS after RETF"
        mov     eax, [u_esp_call]
        add     eax, 8
        CHECK   [u_esp_after], eax, "ESP after RETF 8 (parameters popped)"
        CHECK   [u_es_after], 0, "ES (DPL 0 data) nulled by RETF to ring 3"
        CHECK   [u_eax_after], 0x600D, "EAX returned by the gate target"

        ; --- the same gate from ring 0: no stack switch --------------------------
        PRINTLN "ring 0 through the gate"
        push    dword PARAM1
        push    dword PARAM2
        mov     ebx, esp
        call    SEL_GATE3:0
.r0ret: mov     edx, esp
        lea     ecx, [ebx + 8]
        CHECK   edx, ecx, "ring 0: ESP after RETF 8"
        lea     ecx, [ebx - 8]
        CHECK   [g_esp], ecx, "ring 0: ESP in the target (no switch)"
        CHECK   [g_frame + 0], .r0ret, "ring 0: frame EIP"
        CHECK   [g_frame + 4], SEL_CODE0, "ring 0: frame CS"
        CHECK   [g_frame + 8], PARAM2, "ring 0: parameter 2"
        CHECK   [g_frame + 12], PARAM1, "ring 0: parameter 1"
        CHECK   [g_ss], SEL_DATA0, "ring 0: SS unchanged"
        mov     ax, SEL_DATA0
        mov     es, ax

        ; --- a DPL-0 gate from ring 3: #GP(gate selector) ----------------------
        RING3   user_gate0
        CHECK   [exc_vector], 13, "DPL-0 gate from ring 3 vector"
        CHECK   [exc_err], SEL_GATE0, "DPL-0 gate from ring 3 error code"
        CHECK   [exc_eip], user_gate0.f, "DPL-0 gate from ring 3 EIP"
        PASS

; --- ring 0 gate target ---------------------------------------------------------
gate_target:
        push    eax
        push    esi
        push    edi
        push    ecx
        lea     eax, [esp + 16]
        mov     [g_esp], eax
        xor     eax, eax
        mov     ax, cs
        mov     [g_cs], eax
        mov     ax, ss
        mov     [g_ss], eax
        mov     ax, ds
        mov     [g_ds], eax
        lea     esi, [esp + 16]
        mov     edi, g_frame
        mov     ecx, 6
        cld
        rep     movsd
        pop     ecx
        pop     edi
        pop     esi
        pop     eax
        mov     ax, SEL_DATA0           ; DPL 0: must not survive the return to ring 3
        mov     es, ax
        mov     eax, 0x600D
        retf    8

; --- ring 3 ---------------------------------------------------------------------
user_main:
        xor     eax, eax
        mov     ax, cs
        mov     [u_cs], eax
        push    dword PARAM1
        push    dword PARAM2
        mov     [u_esp_call], esp
        call    SEL_GATE3:0             ; the offset is ignored for a gate
.ret:   mov     [u_eax_after], eax
        mov     [u_esp_after], esp
        xor     eax, eax
        mov     ax, cs
        mov     [u_cs_after], eax
        mov     ax, ss
        mov     [u_ss_after], eax
        mov     ax, es
        mov     [u_es_after], eax
        RING0

user_gate0:
.f:     call    SEL_GATE0:0
        RING0

ROM_END
