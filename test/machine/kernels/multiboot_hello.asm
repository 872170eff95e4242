; A multiboot (v1) test kernel for the machine tests: prints a greeting and
; its command line on COM1, then writes the number after "exit=" in the
; command line to the isa-debug-exit port 0xF4 (QEMU makes the process exit
; with (n << 1) | 1). Built with: nasm -f bin -o multiboot_hello.bin
bits 32
org 0x100000

MB_MAGIC  equ 0x1BADB002
MB_FLAGS  equ 0x00010003          ; page align, memory info, address fields
COM1      equ 0x3F8

start:
    jmp entry
align 4
header:
    dd MB_MAGIC, MB_FLAGS, -(MB_MAGIC + MB_FLAGS)
    dd header, start, load_end, bss_end, entry

entry:
    mov esp, stack_top
    cmp eax, 0x2BADB002
    jne fail
    mov esi, ebx                  ; multiboot information
    mov edi, msg_hello
    call puts
    test dword [esi], 4           ; command line present?
    jz no_cmdline
    mov edi, [esi + 16]
    call puts
    mov al, 10
    call putc
    ; find "exit=" and parse a decimal number after it
    mov edi, [esi + 16]
.scan:
    mov al, [edi]
    test al, al
    jz no_cmdline
    cmp dword [edi], 'exit'
    jne .next
    cmp byte [edi + 4], '='
    je .found
.next:
    inc edi
    jmp .scan
.found:
    add edi, 5
    xor eax, eax
.digit:
    movzx ecx, byte [edi]
    sub ecx, '0'
    cmp ecx, 9
    ja .done
    imul eax, eax, 10
    add eax, ecx
    inc edi
    jmp .digit
.done:
    out 0xF4, al
    jmp halt
no_cmdline:
    mov al, 0
    out 0xF4, al
halt:
    cli
    hlt
    jmp halt
fail:
    mov al, 0x7f
    out 0xF4, al
    jmp halt

; putc: AL to COM1, waiting for the transmitter holding register to empty
putc:
    push edx
    push eax
    mov dx, COM1 + 5
.wait:
    in al, dx
    test al, 0x20
    jz .wait
    pop eax
    mov dx, COM1
    out dx, al
    pop edx
    ret

; puts: the zero-terminated string at EDI
puts:
    push edi
.loop:
    mov al, [edi]
    test al, al
    jz .end
    call putc
    inc edi
    jmp .loop
.end:
    pop edi
    ret

msg_hello: db "hello from a multiboot kernel: ", 0
load_end:
align 16
    resb 4096
stack_top:
bss_end:
