; v86: virtual-8086 mode entered by IRET with VM=1 from 32-bit ring 0.
; The v86 code prints with OUT (v86 I/O is checked against the TSS I/O
; bitmap, not IOPL: 0xE9 is allowed, 0x80 is not), does real-mode segment
; arithmetic, and with IOPL=3 executes INT n, which goes through the IDT to
; a ring-0 handler with the v86 frame (EIP CS EFLAGS ESP SS ES DS FS GS) on
; the TSS stack and null data segments; IRET returns to v86. With IOPL=0,
; INT n in v86 is #GP(0).
%define TEST_NAME "v86"
%include "lib.inc"

V86_VEC         equ 0x50                ; interrupt gate, DPL 3
V86_CS          equ 0xF000
V86_SS          equ 0x4000
V86_SP          equ 0xFFF0
V86_DS          equ SCRATCH >> 4        ; DS:var - SCRATCH addresses the variables below
%define V(x) ((x) - SCRATCH)

[absolute SCRATCH]
h_count:        resd 1                  ; the ring-0 handler of V86_VEC
h_esp:          resd 1
h_cs:           resd 1
h_ss:           resd 1
h_ds:           resd 1
h_es:           resd 1
h_fs:           resd 1
h_gs:           resd 1
h_eflags:       resd 1
h_frame:        resd 9
v_es:           resw 1                  ; v86 segment registers after the IRET back
v_ds:           resw 1
v_fs:           resw 1
v_gs:           resw 1
v_ss:           resw 1
v_sp:           resw 1
v_ax:           resw 1                  ; value left by the v86 INT handler's IRET
v_seg:          resw 1                  ; segment arithmetic result
v_entry_ds:     resw 1                  ; DS as set by the IRET into v86
[section .text]

main:
        call    tss_io_init             ; ESP0/SS0 as usual, and an I/O bitmap
        IOMAP_ALLOW DEBUGCON
        IDT_GATE V86_VEC, h_v86, GATE_INT32 | GATE_DPL3

        ; --- IOPL=3: print, INT through the IDT and back -----------------------
        PRINTLN "entering v86 (IOPL=3)"
        mov     eax, R(v86_main)
        mov     ebx, EFL_BASE | EFL_VM | EFL_IOPL3
        call    v86_call
        PRINTLN "back in protected mode"
        CHECK   [exc_vector], RING0_VEC, "v86 came back with INT"
        mov     eax, [exc_eflags]
        and     eax, EFL_VM
        CHECK   eax, EFL_VM, "VM in that INT's frame"
        CHECK   [exc_cs], V86_CS, "CS in that INT's frame"
        movzx   eax, word [v_entry_ds]
        CHECK   eax, V86_DS, "DS set by the IRET into v86"
        movzx   eax, word [v_seg]
        CHECK   eax, 0xBEEF, "v86 segment arithmetic"

        PRINTLN "the v86 INT handler saw:"
        CHECK   [h_count], 1, "handler runs"
        CHECK   [h_cs], SEL_CODE0, "CS"
        CHECK   [h_ss], SEL_DATA0, "SS (TSS.SS0)"
        CHECK   [h_esp], KSTACK_TOP - 36, "ESP (TSS.ESP0 - 36)"
        CHECK   [h_ds], 0, "DS (nulled)"
        CHECK   [h_es], 0, "ES (nulled)"
        CHECK   [h_fs], 0, "FS (nulled)"
        CHECK   [h_gs], 0, "GS (nulled)"
        mov     eax, [h_eflags]
        and     eax, EFL_VM | EFL_IF
        CHECK   eax, 0, "EFLAGS.VM|IF in the handler"
        CHECK   [h_frame + 0], R(v86_main.after_int), "frame EIP"
        CHECK   [h_frame + 4], V86_CS, "frame CS"
        mov     eax, [h_frame + 8]
        and     eax, EFL_VM | EFL_IOPL3
        CHECK   eax, EFL_VM | EFL_IOPL3, "frame EFLAGS.VM|IOPL"
        CHECK   [h_frame + 12], V86_SP, "frame ESP"
        CHECK   [h_frame + 16], V86_SS, "frame SS"
        CHECK   [h_frame + 20], 0x1111, "frame ES"
        CHECK   [h_frame + 24], V86_DS, "frame DS"
        CHECK   [h_frame + 28], 0x3333, "frame FS"
        CHECK   [h_frame + 32], 0x4444, "frame GS"
        PRINTLN "after the IRET back to v86:"
        movzx   eax, word [v_es]
        CHECK   eax, 0x1111, "ES"
        movzx   eax, word [v_ds]
        CHECK   eax, V86_DS, "DS"
        movzx   eax, word [v_fs]
        CHECK   eax, 0x3333, "FS"
        movzx   eax, word [v_gs]
        CHECK   eax, 0x4444, "GS"
        movzx   eax, word [v_ss]
        CHECK   eax, V86_SS, "SS"
        movzx   eax, word [v_sp]
        CHECK   eax, V86_SP, "SP"
        movzx   eax, word [v_ax]
        CHECK   eax, 0x8686, "AX from the handler"

        ; --- a port the bitmap denies: #GP(0) even with IOPL=3 ----------------------
        PRINTLN "v86 OUT to a denied port (IOPL=3):"
        mov     eax, R(v86_out80)
        mov     ebx, EFL_BASE | EFL_VM | EFL_IOPL3
        call    v86_call
        CHECK   [exc_vector], 13, "vector"
        CHECK   [exc_err], 0, "error code"
        CHECK   [exc_eip], R(v86_out80.f), "EIP"
        CHECK   [exc_cs], V86_CS, "CS"
        CHECK   [exc_entry_esp], KSTACK_TOP - 40, "handler ESP (v86 frame + error code)"

        ; --- IOPL=0: INT n is #GP(0) -------------------------------------------------
        PRINTLN "v86 INT n with IOPL=0:"
        mov     eax, R(v86_int_iopl0)
        mov     ebx, EFL_BASE | EFL_VM
        call    v86_call
        CHECK   [exc_vector], 13, "vector"
        CHECK   [exc_err], 0, "error code"
        CHECK   [exc_eip], R(v86_int_iopl0.f), "EIP"
        mov     eax, [exc_eflags]
        and     eax, EFL_VM
        CHECK   eax, EFL_VM, "frame EFLAGS.VM"
        PASS

; v86_call: EAX = IP (CS = V86_CS), EBX = EFLAGS (with VM). Runs v86 code
; until an exception or INT RING0_VEC; then returns (ring 0, flat segments).
v86_call:
        pushad
        mov     dword [exc_vector], NO_VEC
        mov     [exc_resume_esp], esp
        mov     dword [exc_resume], .back
        push    dword 0                 ; GS
        push    dword 0                 ; FS
        push    dword V86_DS            ; DS
        push    dword 0                 ; ES
        push    dword V86_SS            ; SS
        push    dword V86_SP            ; ESP
        push    ebx                     ; EFLAGS
        push    dword V86_CS            ; CS
        push    eax                     ; EIP
        iretd
.back:  mov     ax, SEL_DATA0
        mov     es, ax
        mov     fs, ax
        mov     gs, ax
        popad
        ret

; --- ring-0 handler for INT V86_VEC from v86 -----------------------------------------
h_v86:  push    eax                     ; records go through SS: DS is null here
        lea     eax, [esp + 4]
        mov     [ss:h_esp], eax
        pushfd
        pop     dword [ss:h_eflags]
        xor     eax, eax
        mov     ax, cs
        mov     [ss:h_cs], eax
        mov     ax, ss
        mov     [ss:h_ss], eax
        mov     ax, ds
        mov     [ss:h_ds], eax
        mov     ax, es
        mov     [ss:h_es], eax
        mov     ax, fs
        mov     [ss:h_fs], eax
        mov     ax, gs
        mov     [ss:h_gs], eax
%assign i 0
%rep 9
        mov     eax, [esp + 4 + i * 4]
        mov     [ss:h_frame + i * 4], eax
  %assign i i + 1
%endrep
        inc     dword [ss:h_count]
        pop     eax
        mov     ax, 0x8686              ; a result for the v86 caller
        iretd

; --- v86 code ---------------------------------------------------------------------------
        bits    16
v86_main:
        mov     [V(v_entry_ds)], ds
        RM_PRINT "  hello from v86", 10
        ; 2000:0010 and 2001:0000 are the same byte
        mov     ax, V86_DS + 1
        mov     es, ax
        mov     word [V(v_seg)], 0
        mov     word [es:V(v_seg) - 0x10], 0xBEEF
        ; distinctive segment registers for the frame
        mov     ax, 0x1111
        mov     es, ax
        mov     ax, 0x3333
        mov     fs, ax
        mov     ax, 0x4444
        mov     gs, ax
        xor     ax, ax
        int     V86_VEC
.after_int:
        mov     [V(v_ax)], ax
        mov     [V(v_es)], es
        mov     [V(v_ds)], ds
        mov     [V(v_fs)], fs
        mov     [V(v_gs)], gs
        mov     [V(v_ss)], ss
        mov     [V(v_sp)], sp
        RM_PRINT "  v86 again after the handler's IRET", 10
        int     RING0_VEC

v86_out80:
.f:     out     0x80, al
        int     RING0_VEC

v86_int_iopl0:
.f:     int     V86_VEC
        int     RING0_VEC
        bits    32

ROM_END
