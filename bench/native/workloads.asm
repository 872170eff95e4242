; The benchmark workloads, written once and run twice: assembled as a flat
; binary for the wkvm core (-DFLAT) and as an ELF object linked into the
; native harness (harness.c), so both execute the very same instructions.
;
; 32-bit code, position independent (relative jumps and calls only), no
; absolute data: every address comes in a register. Calling convention
; regparm(3): arguments in EAX, EDX, ECX; result in EAX; EBX, ESI, EDI, EBP
; preserved. Only integer instructions the core had from the start
; (MOV ADD SUB XOR AND CMP INC DEC Jcc PUSH POP CALL RET), plus REP MOVSD;
; and three floating-point/SIMD loops (x87, scalar SSE2, packed integer SSE2)
; whose results must agree bit for bit with the host's.

        bits 32
%ifdef FLAT
        org 0
        ; Entry table (flat binary only): offsets of the workloads, in this order.
        dd alu_loop, copy_dword, copy_byte, fib_bench, rep_movsd, x87_loop, sse2_loop, simd_int_loop
%else
        section .note.GNU-stack noalloc noexec nowrite progbits
        section .text
        global alu_loop, copy_dword, copy_byte, fib_bench, rep_movsd, x87_loop, sse2_loop, simd_int_loop
%endif

COPY_DWORDS equ 4096            ; 16 KiB per pass
COPY_BYTES equ 16384
MOVSD_DWORDS equ 16384          ; 64 KiB per REP MOVSD

; alu_loop(reps): register arithmetic and a data-dependent conditional branch.
; Returns a checksum.
alu_loop:
        push ebx
        push esi
        push edi
        push ebp
        mov ecx, eax
        mov eax, 0x12345678
        mov ebx, 0x9abcdef0
        xor edx, edx
        mov esi, 7
        xor edi, edi
        mov ebp, 0x55555555
.loop:  add eax, ebx
        sub ebx, esi
        xor edx, eax
        add esi, 3
        and ebp, edx
        add ebp, ecx
        cmp edx, ebx
        jae .skip
        inc edi
.skip:  dec ecx
        jnz .loop
        mov eax, edx
        add eax, edi
        add eax, ebp
        pop ebp
        pop edi
        pop esi
        pop ebx
        ret

; copy_dword(src, dst, reps): copies 16 KiB from src to dst, a dword at a
; time with loads and stores, reps times. Returns a dword of dst.
copy_dword:
        push ebx
        push esi
        push edi
        push ebp
        mov ebp, ecx
.outer: mov esi, eax
        mov edi, edx
        mov ecx, COPY_DWORDS
.loop:  mov ebx, [esi]
        mov [edi], ebx
        add esi, 4
        add edi, 4
        dec ecx
        jnz .loop
        dec ebp
        jnz .outer
        mov eax, [edx + 400]
        pop ebp
        pop edi
        pop esi
        pop ebx
        ret

; copy_byte(src, dst, reps): the same, a byte at a time.
copy_byte:
        push ebx
        push esi
        push edi
        push ebp
        mov ebp, ecx
.outer: mov esi, eax
        mov edi, edx
        mov ecx, COPY_BYTES
.loop:  mov bl, [esi]
        mov [edi], bl
        inc esi
        inc edi
        dec ecx
        jnz .loop
        dec ebp
        jnz .outer
        mov eax, [edx + 400]
        pop ebp
        pop edi
        pop esi
        pop ebx
        ret

; fib_bench(n, reps): recursive Fibonacci, reps times. Returns fib(n).
fib_bench:
        push ebx
        push esi
        mov ebx, eax
        mov esi, edx
.again: mov ecx, ebx
        call fib
        dec esi
        jnz .again
        pop esi
        pop ebx
        ret

; fib(n in ECX) -> EAX
fib:    cmp ecx, 2
        jb .base
        push ecx
        dec ecx
        call fib
        pop ecx
        push eax
        sub ecx, 2
        call fib
        pop edx
        add eax, edx
        ret
.base:  mov eax, ecx
        ret

; rep_movsd(src, dst, reps): REP MOVSD of 64 KiB, reps times. Returns a dword of dst.
rep_movsd:
        push ebx
        push esi
        push edi
        cld
        mov ebx, ecx
.again: mov esi, eax
        mov edi, edx
        mov ecx, MOVSD_DWORDS
        rep movsd
        dec ebx
        jnz .again
        mov eax, [edx + 400]
        pop edi
        pop esi
        pop ebx
        ret

; x87_loop(reps): x = sqrt(x / pi + pi) in 80-bit extended precision (FNINIT:
; 64-bit significands, round to nearest), reps times. Returns the low dword
; of the result's significand xor its high dword.
x87_loop:
        mov ecx, eax
        sub esp, 12
        fninit
        fldpi                   ; pi
        fld1                    ; x = 1, pi
.loop:  fdiv st0, st1           ; x / pi
        fadd st0, st1           ; + pi
        fsqrt
        dec ecx
        jnz .loop
        fstp tword [esp]
        fstp st0
        mov eax, [esp]
        xor eax, [esp + 4]
        add esp, 12
        ret

; sse2_loop(reps): x = sqrt(x * 3 + 7) / 1.5 + x in scalar double precision
; (MXCSR as reset: round to nearest), reps times. Returns the result's low
; dword xor its high dword.
sse2_loop:
        mov ecx, eax
        mov eax, 3
        cvtsi2sd xmm1, eax
        mov eax, 7
        cvtsi2sd xmm2, eax
        mov eax, 2
        cvtsi2sd xmm3, eax
        mov eax, 3
        cvtsi2sd xmm4, eax
        divsd xmm4, xmm3        ; 1.5
        mov eax, 1
        cvtsi2sd xmm0, eax
.loop:  movapd xmm5, xmm0
        mulsd xmm0, xmm1
        addsd xmm0, xmm2
        sqrtsd xmm0, xmm0
        divsd xmm0, xmm4
        addsd xmm0, xmm5
        dec ecx
        jnz .loop
        movd eax, xmm0
        psrlq xmm0, 32
        movd edx, xmm0
        xor eax, edx
        ret

; simd_int_loop(reps): packed 32- and 16-bit integer arithmetic on four
; lanes, reps times. Returns a dword folded from the lanes.
simd_int_loop:
        mov ecx, eax
        movd xmm0, eax
        pshufd xmm0, xmm0, 0
        mov eax, 0x00030005
        movd xmm1, eax
        pshufd xmm1, xmm1, 0
        mov eax, 0x9e3779b9
        movd xmm2, eax
        pshufd xmm2, xmm2, 0x1b
.loop:  paddd xmm0, xmm2
        pmullw xmm0, xmm1
        movdqa xmm3, xmm0
        psrld xmm3, 7
        pxor xmm0, xmm3
        psubd xmm2, xmm0
        dec ecx
        jnz .loop
        pshufd xmm3, xmm0, 0x4e
        pxor xmm0, xmm3
        pshufd xmm3, xmm0, 0xb1
        paddd xmm0, xmm3
        movd eax, xmm0
        ret
