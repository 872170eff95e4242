; A multiboot (v1) test kernel for the machine tests: finds the interrupt and
; timer hardware through ACPI the way an OS does, then exercises it:
;
;   1. ACPI: the RSDP (scanning 0xE0000-0xFFFFF on 16-byte boundaries), the
;      RSDT, the FADT (PM_TMR_BLK, SCI_INT) and the MADT (local APIC address,
;      the I/O APIC, interrupt source overrides: the one for IRQ0 says which
;      I/O APIC pin the PIT drives); every checksum is checked.
;   2. The ACPI PM timer: it advances, never goes backwards and stays within
;      24 bits (unless the FADT says TMR_VAL_EXT).
;   3. The local APIC timer, with an IDT of 32-bit interrupt gates, the
;      8259s moved to 0x20/0x28 and masked, the APIC enabled (spurious
;      vector 0xFF): calibrated against the PM timer (one-shot, divide by 16,
;      over ~10 ms, measured again if the window was held up), then periodic
;      at ~1 kHz on vector 0x40: 20 interrupts taken with HLT must span
;      20 ms +- 30%.
;   4. The I/O APIC: the PIT's pin (from the MADT) programmed edge, active
;      high, fixed, vector 0x50, to this CPU's APIC ID; the PIT at ~1 kHz
;      (mode 2, count 1193); 10 interrupts must come at that rate; once the
;      pin is masked, none may follow (one already in flight is allowed).
;
; It prints what it finds and measures on COM1, then "PASS timers" and
; writes 0 to the isa-debug-exit port 0xF4 (QEMU exits with (0 << 1) | 1 = 1),
; or "FAIL: <reason>" and a distinct non-zero code per check.
;
; Built with: nasm -f bin -o multiboot_timers.bin multiboot_timers.asm
; Reference run:
;   qemu-system-i386 -cpu pentium3 -m 64 -kernel multiboot_timers.bin \
;     -device isa-debug-exit,iobase=0xf4,iosize=0x04 -nographic -no-reboot
bits 32
org 0x100000

MB_MAGIC        equ 0x1BADB002
MB_FLAGS        equ 0x00010003      ; page align, memory info, address fields
COM1            equ 0x3F8
EXIT_PORT       equ 0xF4

PM_HZ           equ 3579545         ; ACPI PM timer frequency
PM_10MS         equ 35795
PM_5MS          equ 17898
PM_100MS        equ 357954
PM_1S           equ 3579545

PIT_COUNT       equ 1193            ; ~1 kHz from 1.193182 MHz
; The PM timer runs at exactly 3 times the PIT clock (14.31818 MHz / 4 and / 12).
PIT_PERIOD_PM   equ PIT_COUNT * 3

; Local APIC registers (offsets from its base).
LAPIC_ID        equ 0x020
LAPIC_VERSION   equ 0x030
LAPIC_TPR       equ 0x080
LAPIC_EOI       equ 0x0B0
LAPIC_SVR       equ 0x0F0
LAPIC_LVT_TIMER equ 0x320
LAPIC_TMR_INIT  equ 0x380
LAPIC_TMR_CUR   equ 0x390
LAPIC_TMR_DIV   equ 0x3E0
LVT_MASKED      equ 1 << 16
LVT_PERIODIC    equ 1 << 17
TMR_DIV_16      equ 0x3

; I/O APIC registers.
IOAPIC_REGSEL   equ 0x00
IOAPIC_WIN      equ 0x10
IOAPIC_REG_ID   equ 0x00
IOAPIC_REG_VER  equ 0x01
IOAPIC_REDTBL   equ 0x10
REDIR_MASKED    equ 1 << 16

VEC_APIC_TIMER  equ 0x40
VEC_PIT         equ 0x50
VEC_SPURIOUS    equ 0xFF
VEC_PIC_MASTER  equ 0x20            ; the 8259s are moved here, then masked
VEC_PIC_SLAVE   equ 0x28

APIC_TIMER_IRQS equ 20
PIT_IRQS        equ 10
MAX_STAMPS      equ 32

MSR_APIC_BASE   equ 0x1B

; Failure codes (the byte written to 0xF4; the process exits with code*2+1).
E_MULTIBOOT     equ 2
E_UNEXPECTED    equ 3
E_NO_RSDP       equ 4
E_RSDP_SUM      equ 5
E_RSDT          equ 6
E_RSDT_SUM      equ 7
E_NO_FADT       equ 8
E_FADT          equ 9
E_NO_PMTMR      equ 10
E_NO_MADT       equ 11
E_MADT          equ 12
E_NO_IOAPIC     equ 13
E_MADT_ENTRY    equ 14
E_NO_APIC       equ 15
E_APIC_BASE     equ 16
E_IOAPIC        equ 17
E_PM_WIDTH      equ 18
E_PM_STUCK      equ 19
E_PM_BACKWARDS  equ 20
E_CALIBRATE     equ 21
E_NO_TIMER_IRQ  equ 22
E_TIMER_RATE    equ 23
E_TIMEOUT       equ 24
E_NO_PIT_IRQ    equ 25
E_PIT_RATE      equ 26
E_MASK          equ 27
E_FADT_SUM      equ 28
E_MADT_SUM      equ 29

; FAIL_IF cc, code, "reason": if the condition holds, fail with that reason.
%macro FAIL_IF 3
    j%-1 %%ok
    mov edi, %%msg
    mov bl, %2
    jmp fail
%%msg: db %3, 0
%%ok:
%endmacro

; PRINT "text": the text on COM1 (all registers kept).
%macro PRINT 1
    push edi
    mov edi, %%s
    call puts
    pop edi
    jmp %%e
%%s: db %1, 0
%%e:
%endmacro

start:
    jmp entry
align 4
header:
    dd MB_MAGIC, MB_FLAGS, -(MB_MAGIC + MB_FLAGS)
    dd header, start, load_end, bss_end, entry

entry:
    cli
    mov esp, stack_top
    cmp eax, 0x2BADB002
    FAIL_IF ne, E_MULTIBOOT, "not started by a multiboot loader"
    ; Our own GDT: the loader's may be anywhere (and gates need a known CS).
    lgdt [gdt_desc]
    jmp 0x08:.flat
.flat:
    mov ax, 0x10
    mov ds, ax
    mov es, ax
    mov fs, ax
    mov gs, ax
    mov ss, ax
    PRINT `multiboot_timers: ACPI, PM timer, local APIC timer, I/O APIC\n`

    call find_acpi
    call check_cpu_apic
    call check_ioapic
    call test_pm_timer
    call setup_interrupts
    call test_apic_timer
    call test_ioapic_pit

    PRINT `PASS timers\n`
    mov al, 0
    out EXIT_PORT, al
halt:
    cli
    hlt
    jmp halt

; fail: prints "FAIL: " and the reason at EDI (on a line of its own), exits
; with code BL.
fail:
    cli
    cmp byte [mid_line], 0
    je .line_start
    mov al, 10
    call putc
.line_start:
    mov esi, edi
    mov edi, s_fail
    call puts
    mov edi, esi
    call puts
    mov al, 10
    call putc
    mov al, bl
    out EXIT_PORT, al
    jmp halt

; ---------------------------------------------------------------------------
; 1. ACPI tables
; ---------------------------------------------------------------------------

find_acpi:
    ; The RSDP: "RSD PTR " on a 16-byte boundary with a valid checksum.
    mov esi, 0xE0000
    mov dword [bad_rsdp], 0
.scan:
    cmp dword [esi], 'RSD '
    jne .next
    cmp dword [esi + 4], 'PTR '
    jne .next
    mov ecx, 20
    call checksum
    jnz .bad
    cmp byte [esi + 15], 2          ; ACPI 2.0+: the extended checksum too
    jb .found
    mov ecx, [esi + 20]
    cmp ecx, 36
    jb .bad
    call checksum
    jz .found
.bad:
    mov [bad_rsdp], esi             ; keep scanning: this one is not it
.next:
    add esi, 16
    cmp esi, 0x100000
    jb .scan
    cmp dword [bad_rsdp], 0
    FAIL_IF ne, E_RSDP_SUM, "ACPI RSDP checksum is wrong"
    FAIL_IF e, E_NO_RSDP, "no ACPI RSDP in 0xE0000-0xFFFFF"
.found:
    mov [rsdp], esi
    PRINT "ACPI: RSDP at "
    mov eax, esi
    call put_hex
    PRINT " (revision "
    movzx eax, byte [esi + 15]
    call put_dec
    PRINT "), RSDT at "
    mov eax, [esi + 16]
    call put_hex
    PRINT ":"

    ; The RSDT.
    mov esi, [esi + 16]
    mov [rsdt], esi
    cmp dword [esi], 'RSDT'
    FAIL_IF ne, E_RSDT, "the RSDP does not point to an RSDT"
    call table_length
    FAIL_IF c, E_RSDT, "RSDT length is out of range"
    call checksum
    FAIL_IF nz, E_RSDT_SUM, "ACPI RSDT checksum is wrong"

    ; Its entries: note the FADT and the MADT, print every signature.
    mov dword [fadt], 0
    mov dword [madt], 0
    lea ebp, [esi + ecx]            ; end of the RSDT
    add esi, 36
.entry:
    cmp esi, ebp
    jae .entries_done
    mov edx, [esi]                  ; a table
    mov al, ' '
    call putc
    mov ecx, 4
    mov edi, edx
.sig:
    mov al, [edi]
    call putc
    inc edi
    loop .sig
    mov eax, [edx]
    cmp eax, 'FACP'
    jne .not_fadt
    mov [fadt], edx
.not_fadt:
    cmp eax, 'APIC'
    jne .not_madt
    mov [madt], edx
.not_madt:
    add esi, 4
    jmp .entry
.entries_done:
    mov al, 10
    call putc

    ; The FADT: PM_TMR_BLK (offset 76), PM_TMR_LEN (91), SCI_INT (46),
    ; TMR_VAL_EXT (flags at 112, bit 8).
    mov esi, [fadt]
    test esi, esi
    FAIL_IF z, E_NO_FADT, "no FADT (FACP) in the RSDT"
    call table_length
    FAIL_IF c, E_FADT, "FADT length is out of range"
    cmp ecx, 116
    FAIL_IF b, E_FADT, "FADT is shorter than ACPI 1.0's 116 bytes"
    call checksum
    FAIL_IF nz, E_FADT_SUM, "ACPI FADT checksum is wrong"
    mov eax, [esi + 76]
    mov [pm_port], eax
    test eax, eax
    FAIL_IF z, E_NO_PMTMR, "the FADT has no PM timer (PM_TMR_BLK is 0)"
    cmp eax, 0xFFFC
    FAIL_IF a, E_NO_PMTMR, "PM_TMR_BLK is not an I/O port"
    cmp byte [esi + 91], 4
    FAIL_IF ne, E_NO_PMTMR, "PM_TMR_LEN is not 4"
    movzx eax, word [esi + 46]
    mov [sci_irq], eax
    mov dword [pm_mask], 0xFFFFFF
    test dword [esi + 112], 1 << 8
    jz .pm24
    mov dword [pm_mask], 0xFFFFFFFF
.pm24:

    ; The MADT: local APIC address (36), flags (40), then entries.
    mov esi, [madt]
    test esi, esi
    FAIL_IF z, E_NO_MADT, "no MADT (APIC) in the RSDT"
    call table_length
    FAIL_IF c, E_MADT, "MADT length is out of range"
    cmp ecx, 44
    FAIL_IF b, E_MADT, "MADT is too short"
    call checksum
    FAIL_IF nz, E_MADT_SUM, "ACPI MADT checksum is wrong"
    mov eax, [esi + 36]
    mov [lapic], eax
    test eax, eax
    FAIL_IF z, E_MADT, "the MADT's local APIC address is 0"
    mov dword [ioapic], 0
    mov dword [irq0_gsi], 0         ; identity unless overridden
    mov dword [cpus], 0
    lea ebp, [esi + ecx]
    add esi, 44
.madt_entry:
    cmp esi, ebp
    jae .madt_done
    movzx ecx, byte [esi + 1]       ; entry length
    cmp ecx, 2
    FAIL_IF b, E_MADT_ENTRY, "MADT entry with a length below 2"
    lea eax, [esi + ecx]
    cmp eax, ebp
    FAIL_IF a, E_MADT_ENTRY, "MADT entry runs past the end of the table"
    mov al, [esi]
    cmp al, 0                       ; processor local APIC
    jne .not_cpu
    cmp ecx, 8
    FAIL_IF b, E_MADT_ENTRY, "MADT local APIC entry is too short"
    test dword [esi + 4], 1
    jz .madt_next
    inc dword [cpus]
    jmp .madt_next
.not_cpu:
    cmp al, 1                       ; I/O APIC
    jne .not_ioapic
    cmp ecx, 12
    FAIL_IF b, E_MADT_ENTRY, "MADT I/O APIC entry is too short"
    cmp dword [ioapic], 0
    jne .madt_next                  ; the first one is the one with the ISA IRQs
    mov eax, [esi + 4]
    mov [ioapic], eax
    mov eax, [esi + 8]
    mov [ioapic_gsi_base], eax
    movzx eax, byte [esi + 2]
    mov [ioapic_id], eax
    jmp .madt_next
.not_ioapic:
    cmp al, 2                       ; interrupt source override
    jne .madt_next
    cmp ecx, 10
    FAIL_IF b, E_MADT_ENTRY, "MADT interrupt source override is too short"
    cmp byte [esi + 2], 0           ; bus: ISA
    jne .madt_next
    cmp byte [esi + 3], 0           ; IRQ0
    jne .madt_next
    mov eax, [esi + 4]
    mov [irq0_gsi], eax
.madt_next:
    add esi, ecx
    jmp .madt_entry
.madt_done:
    cmp dword [ioapic], 0
    FAIL_IF e, E_NO_IOAPIC, "no I/O APIC entry in the MADT"
    cmp dword [cpus], 0
    FAIL_IF e, E_MADT, "no enabled processor in the MADT"

    PRINT "ACPI: PM timer at "
    mov eax, [pm_port]
    call put_hex
    PRINT ", IOAPIC at "
    mov eax, [ioapic]
    call put_hex
    PRINT ", IRQ0 -> GSI "
    mov eax, [irq0_gsi]
    call put_dec
    PRINT `\nACPI: SCI IRQ `
    mov eax, [sci_irq]
    call put_dec
    PRINT ", local APIC at "
    mov eax, [lapic]
    call put_hex
    PRINT ", CPUs "
    mov eax, [cpus]
    call put_dec
    PRINT ", IOAPIC id "
    mov eax, [ioapic_id]
    call put_dec
    PRINT " GSI base "
    mov eax, [ioapic_gsi_base]
    call put_dec
    PRINT `\n`
    ret

; table_length: ECX = the length of the table at ESI; CF set if it is below
; the 36-byte header or implausibly large (over 64 KiB).
table_length:
    mov ecx, [esi + 4]
    cmp ecx, 36
    jb .bad
    cmp ecx, 0x10000
    ja .bad
    clc
    ret
.bad:
    stc
    ret

; checksum: ZF set if the ECX bytes at ESI sum to 0 (mod 256). Keeps ECX, ESI.
checksum:
    push ecx
    push esi
    xor eax, eax
.add:
    add al, [esi]
    inc esi
    loop .add
    pop esi
    pop ecx
    test al, al
    ret

; ---------------------------------------------------------------------------
; The local APIC and the I/O APIC as the CPU and the chip report them
; ---------------------------------------------------------------------------

check_cpu_apic:
    mov eax, 1
    cpuid
    test edx, 1 << 9
    FAIL_IF z, E_NO_APIC, "CPUID says there is no local APIC"
    test edx, 1 << 5
    FAIL_IF z, E_NO_APIC, "CPUID says there are no MSRs"
    mov ecx, MSR_APIC_BASE
    rdmsr
    mov [apic_base_msr], eax
    test eax, 1 << 11
    FAIL_IF z, E_APIC_BASE, "the local APIC is disabled in IA32_APIC_BASE"
    and eax, 0xFFFFF000
    cmp eax, [lapic]
    FAIL_IF ne, E_APIC_BASE, "IA32_APIC_BASE differs from the MADT's local APIC address"
    mov ebx, [lapic]
    mov eax, [ebx + LAPIC_ID]
    shr eax, 24
    mov [apic_id], eax
    PRINT "APIC: id "
    call put_dec
    PRINT ", version "
    mov eax, [ebx + LAPIC_VERSION]
    and eax, 0xFF
    call put_hex
    PRINT ", IA32_APIC_BASE "
    mov eax, [apic_base_msr]
    call put_hex
    PRINT `\n`
    ret

check_ioapic:
    mov ebx, [ioapic]
    mov dword [ebx + IOAPIC_REGSEL], IOAPIC_REG_ID
    mov eax, [ebx + IOAPIC_WIN]
    shr eax, 24
    and eax, 0x0F
    mov [ioapic_hw_id], eax
    mov dword [ebx + IOAPIC_REGSEL], IOAPIC_REG_VER
    mov eax, [ebx + IOAPIC_WIN]
    mov [ioapic_version], eax
    shr eax, 16
    and eax, 0xFF
    inc eax
    mov [ioapic_pins], eax
    ; The PIT's pin: its GSI less the I/O APIC's first GSI.
    mov eax, [irq0_gsi]
    sub eax, [ioapic_gsi_base]
    mov [pit_pin], eax
    PRINT "IOAPIC: id "
    mov eax, [ioapic_hw_id]
    call put_dec
    PRINT ", version "
    mov eax, [ioapic_version]
    and eax, 0xFF
    call put_hex
    PRINT ", "
    mov eax, [ioapic_pins]
    call put_dec
    PRINT " pins; the PIT is on pin "
    mov eax, [pit_pin]
    call put_dec
    PRINT `\n`
    mov eax, [ioapic_hw_id]
    mov ecx, [ioapic_id]
    and ecx, 0x0F
    cmp eax, ecx
    FAIL_IF ne, E_IOAPIC, "the I/O APIC's ID register differs from the MADT"
    mov eax, [pit_pin]
    cmp eax, [ioapic_pins]
    FAIL_IF ae, E_IOAPIC, "the PIT's GSI is not on the I/O APIC"
    ret

; ---------------------------------------------------------------------------
; 2. The PM timer
; ---------------------------------------------------------------------------

; pm_read: EAX = the PM timer (raw).
pm_read:
    push edx
    mov edx, [pm_port]
    in eax, dx
    pop edx
    ret

; pm_since: EAX = PM ticks from the count in EAX to now (modulo the timer width).
pm_since:
    push ecx
    mov ecx, eax
    call pm_read
    sub eax, ecx
    and eax, [pm_mask]
    pop ecx
    ret

; pm_us: EAX = PM ticks in EAX as microseconds (rounded).
pm_us:
    push ecx
    push edx
    mov ecx, 1000000
    mul ecx
    add eax, PM_HZ / 2
    adc edx, 0
    mov ecx, PM_HZ
    div ecx
    pop edx
    pop ecx
    ret

test_pm_timer:
    call pm_read
    mov [pm_t0], eax
    mov ecx, [pm_mask]
    not ecx
    test eax, ecx
    FAIL_IF nz, E_PM_WIDTH, "the PM timer has bits above 23 set"
    ; Many reads in a row: each within the width, none going backwards
    ; (a step of half the range or more is a step back).
    mov esi, eax
    mov ecx, 10000
.reads:
    call pm_read
    mov edx, [pm_mask]
    not edx
    test eax, edx
    FAIL_IF nz, E_PM_WIDTH, "the PM timer has bits above 23 set"
    mov edx, eax
    sub edx, esi
    and edx, [pm_mask]
    mov ebx, [pm_mask]
    shr ebx, 1
    cmp edx, ebx
    FAIL_IF a, E_PM_BACKWARDS, "the PM timer went backwards"
    mov esi, eax
    dec ecx
    jnz .reads
    ; A busy loop, then it must have advanced.
    mov ecx, 200000
.busy:
    dec ecx
    jnz .busy
    mov eax, [pm_t0]
    call pm_since
    mov [pm_delta], eax
    PRINT "PM timer: "
    mov eax, [pm_mask]
    inc eax
    jz .bits32
    PRINT "24"
    jmp .bits
.bits32:
    PRINT "32"
.bits:
    PRINT "-bit, advanced "
    mov eax, [pm_delta]
    call put_dec
    PRINT ` ticks over 10000 reads and a busy loop\n`
    cmp dword [pm_delta], 0
    FAIL_IF e, E_PM_STUCK, "the PM timer did not advance"
    ret

; ---------------------------------------------------------------------------
; Interrupts: IDT, the 8259s out of the way, the local APIC enabled
; ---------------------------------------------------------------------------

setup_interrupts:
    ; Every vector gets a stub that reports it as unexpected...
    mov edi, idt
    mov esi, stubs
    xor ecx, ecx
.gate:
    mov eax, esi
    call set_gate
    add esi, STUB_SIZE
    inc ecx
    cmp ecx, 256
    jb .gate
    ; ...except the ones this kernel expects.
    mov ecx, VEC_APIC_TIMER
    mov eax, apic_timer_isr
    call set_gate
    mov ecx, VEC_PIT
    mov eax, pit_isr
    call set_gate
    mov ecx, VEC_SPURIOUS
    mov eax, spurious_isr
    call set_gate
    mov ecx, VEC_PIC_MASTER + 7
    mov eax, spurious_isr
    call set_gate
    mov ecx, VEC_PIC_SLAVE + 7
    mov eax, spurious_isr
    call set_gate
    lidt [idt_desc]

    ; The 8259s: moved to 0x20/0x28 (away from the exceptions), all masked.
    mov al, 0x11                    ; ICW1: edge, cascade, ICW4
    out 0x20, al
    out 0xA0, al
    mov al, VEC_PIC_MASTER          ; ICW2
    out 0x21, al
    mov al, VEC_PIC_SLAVE
    out 0xA1, al
    mov al, 0x04                    ; ICW3: slave on IR2
    out 0x21, al
    mov al, 0x02
    out 0xA1, al
    mov al, 0x01                    ; ICW4: 8086 mode
    out 0x21, al
    out 0xA1, al
    mov al, 0xFF                    ; OCW1: mask everything
    out 0x21, al
    out 0xA1, al

    ; The local APIC: software-enabled, spurious vector 0xFF, TPR 0.
    mov ebx, [lapic]
    mov eax, [ebx + LAPIC_SVR]
    and eax, ~0xFF
    or eax, 0x100 | VEC_SPURIOUS
    mov [ebx + LAPIC_SVR], eax
    mov dword [ebx + LAPIC_TPR], 0
    mov dword [ebx + LAPIC_LVT_TIMER], LVT_MASKED | VEC_APIC_TIMER
    ret

; set_gate: IDT entry ECX = a 32-bit interrupt gate (DPL 0) to EAX.
set_gate:
    push eax
    mov [idt + ecx * 8], ax
    mov word [idt + ecx * 8 + 2], 0x08
    mov word [idt + ecx * 8 + 4], 0x8E00
    shr eax, 16
    mov [idt + ecx * 8 + 6], ax
    pop eax
    ret

; The handlers. Each counts its interrupts and records the PM timer at each
; of the first MAX_STAMPS of them.
apic_timer_isr:
    push eax
    push ecx
    mov ecx, [apic_count]
    inc dword [apic_count]
    cmp ecx, MAX_STAMPS
    jae .eoi
    call pm_read
    mov [apic_stamps + ecx * 4], eax
.eoi:
    mov eax, [lapic]
    mov dword [eax + LAPIC_EOI], 0
    pop ecx
    pop eax
    iretd

pit_isr:
    push eax
    push ecx
    mov ecx, [pit_count]
    inc dword [pit_count]
    cmp ecx, MAX_STAMPS
    jae .eoi
    call pm_read
    mov [pit_stamps + ecx * 4], eax
.eoi:
    mov eax, [lapic]
    mov dword [eax + LAPIC_EOI], 0
    pop ecx
    pop eax
    iretd

; The APIC's spurious vector and the 8259s' IR7: no EOI, just noted.
spurious_isr:
    inc dword [spurious_count]
    iretd

; Anything else: vector, then what the CPU pushed.
unexpected:
    cli
    cmp byte [mid_line], 0
    je .line_start
    mov al, 10
    call putc
.line_start:
    PRINT "FAIL: unexpected interrupt or exception, vector "
    pop eax
    call put_hex
    PRINT ", stack "
    pop eax
    call put_hex
    PRINT " "
    pop eax
    call put_hex
    PRINT " "
    pop eax
    call put_hex
    PRINT `\n`
    mov al, E_UNEXPECTED
    out EXIT_PORT, al
    jmp halt

; ---------------------------------------------------------------------------
; 3. The local APIC timer
; ---------------------------------------------------------------------------

test_apic_timer:
    mov ebx, [lapic]
    ; Calibration: a masked one-shot count from 0xFFFFFFFF over ~10 ms.
    ; The PM timer is read on both sides of the start and of the end; if
    ; either pair is far apart (the CPU was held up there: an SMI, or the
    ; host of a virtual machine), the window is unreliable: try again.
    mov dword [ebx + LAPIC_TMR_DIV], TMR_DIV_16
    mov dword [ebx + LAPIC_LVT_TIMER], LVT_MASKED | VEC_APIC_TIMER
    mov dword [cal_tries], 0
.attempt:
    inc dword [cal_tries]
    call pm_read                    ; start on a PM timer edge
    mov esi, eax
.edge:
    call pm_read
    cmp eax, esi
    je .edge
    mov [cal_a], eax
    mov dword [ebx + LAPIC_TMR_INIT], 0xFFFFFFFF
    call pm_read
    mov [cal_b], eax
.calibrate:
    mov eax, [cal_b]
    call pm_since
    cmp eax, PM_10MS
    jb .calibrate
    call pm_read
    mov [cal_c], eax
    mov ecx, [ebx + LAPIC_TMR_CUR]
    call pm_read
    mov [cal_d], eax
    mov dword [ebx + LAPIC_TMR_INIT], 0          ; stop it
    ; The APIC counted for at least c - b and at most d - a PM ticks.
    mov eax, [cal_c]
    sub eax, [cal_b]
    and eax, [pm_mask]
    mov edx, [cal_d]
    sub edx, [cal_a]
    and edx, [pm_mask]
    mov esi, edx
    sub esi, eax
    cmp esi, PM_10MS / 50           ; within 2%: good to 1%
    jbe .steady
    cmp dword [cal_tries], 5
    jb .attempt
    FAIL_IF ae, E_CALIBRATE, "APIC timer calibration: held up 5 times in a row"
.steady:
    add eax, edx
    shr eax, 1
    mov [pm_delta], eax
    test ecx, ecx
    FAIL_IF z, E_CALIBRATE, "the APIC timer ran out during calibration"
    not ecx                         ; ticks = 0xFFFFFFFF - current
    test ecx, ecx
    FAIL_IF z, E_CALIBRATE, "the APIC timer does not count"
    ; The timer's frequency (after the divider): ticks * PM_HZ / PM ticks.
    mov eax, ecx
    mov ecx, PM_HZ
    mul ecx
    cmp edx, [pm_delta]
    FAIL_IF ae, E_CALIBRATE, "the APIC timer counts implausibly fast"
    div dword [pm_delta]
    mov [apic_hz], eax
    xor edx, edx
    mov ecx, 1000
    div ecx
    mov [apic_per_ms], eax
    PRINT "APIC timer: "
    mov eax, [apic_hz]
    call put_dec
    PRINT " Hz after the divide by 16, "
    mov eax, [apic_per_ms]
    call put_dec
    PRINT " ticks per ms"
    cmp dword [cal_tries], 1
    je .one_try
    PRINT " ("
    mov eax, [cal_tries]
    call put_dec
    PRINT " tries)"
.one_try:
    PRINT `\n`
    cmp dword [apic_per_ms], 10
    FAIL_IF b, E_CALIBRATE, "the APIC timer is too slow (under 10 kHz)"

    ; Periodic at ~1 kHz, vector 0x40: 20 interrupts taken with HLT.
    mov dword [apic_count], 0
    mov dword [ebx + LAPIC_LVT_TIMER], LVT_PERIODIC | VEC_APIC_TIMER
    call pm_read
    mov [pm_t0], eax
    mov eax, [apic_per_ms]
    mov [ebx + LAPIC_TMR_INIT], eax
    sti
.first:                             ; the first one, with a timeout
    cmp dword [apic_count], 0
    jne .hlt_loop
    mov eax, [pm_t0]
    call pm_since
    cmp eax, PM_100MS
    jb .first
    FAIL_IF ae, E_NO_TIMER_IRQ, "no APIC timer interrupt within 100 ms"
.hlt_loop:
    cli
    cmp dword [apic_count], APIC_TIMER_IRQS
    jae .done
    mov eax, [pm_t0]
    call pm_since
    cmp eax, PM_1S
    FAIL_IF ae, E_TIMEOUT, "fewer than 20 APIC timer interrupts in 1 s"
    sti
    hlt
    jmp .hlt_loop
.done:
    mov dword [ebx + LAPIC_LVT_TIMER], LVT_MASKED | VEC_APIC_TIMER
    mov dword [ebx + LAPIC_TMR_INIT], 0
    mov eax, [apic_stamps + (APIC_TIMER_IRQS - 1) * 4]
    sub eax, [pm_t0]
    and eax, [pm_mask]
    mov [pm_delta], eax
    PRINT "APIC timer: "
    mov eax, APIC_TIMER_IRQS
    call put_dec
    PRINT " periodic interrupts at vector "
    mov eax, VEC_APIC_TIMER
    call put_hex
    PRINT " in "
    mov eax, [pm_delta]
    call pm_us
    call put_dec
    PRINT ` us (20000 us expected)\n`
    ; 20 ms = 71591 PM ticks; +-30%.
    mov eax, [pm_delta]
    cmp eax, 71591 * 7 / 10
    jb .bad_rate
    cmp eax, 71591 * 13 / 10
    ja .bad_rate
    ret
.bad_rate:
    mov esi, apic_stamps
    mov ecx, APIC_TIMER_IRQS
    mov eax, [pm_t0]
    call print_intervals
    mov eax, [pm_delta]
    cmp eax, 71591 * 7 / 10
    FAIL_IF b, E_TIMER_RATE, "the APIC timer interrupts came too fast"
    FAIL_IF ae, E_TIMER_RATE, "the APIC timer interrupts came too slowly"

; print_intervals: the ECX PM stamps at ESI as microseconds from the one
; before (the first from EAX), on one line: the detail behind a rate failure.
print_intervals:
    pushad
    PRINT "intervals (us):"
.next:
    mov edx, [esi]
    push edx
    sub edx, eax
    and edx, [pm_mask]
    mov al, ' '
    call putc
    mov eax, edx
    call pm_us
    call put_dec
    pop eax
    add esi, 4
    dec ecx
    jnz .next
    PRINT `\n`
    popad
    ret

; ---------------------------------------------------------------------------
; 4. The I/O APIC with the PIT
; ---------------------------------------------------------------------------

; ioapic_write: I/O APIC register ECX = EAX.
ioapic_write:
    push ebx
    mov ebx, [ioapic]
    mov [ebx + IOAPIC_REGSEL], ecx
    mov [ebx + IOAPIC_WIN], eax
    pop ebx
    ret

test_ioapic_pit:
    ; The PIT: channel 0, lobyte/hibyte, mode 2 (rate generator), ~1 kHz.
    mov al, 0x34
    out 0x43, al
    mov al, PIT_COUNT & 0xFF
    out 0x40, al
    mov al, PIT_COUNT >> 8
    out 0x40, al
    ; The PIT's redirection entry: destination this CPU (physical), then
    ; the low half: vector 0x50, fixed, physical, active high, edge, unmasked.
    mov dword [pit_count], 0
    mov ecx, [pit_pin]
    lea ecx, [IOAPIC_REDTBL + ecx * 2 + 1]
    mov eax, [apic_id]
    shl eax, 24
    call ioapic_write
    dec ecx
    mov eax, VEC_PIT
    call ioapic_write
    call pm_read
    mov [pm_t0], eax
    sti
.first:
    cmp dword [pit_count], 0
    jne .hlt_loop
    mov eax, [pm_t0]
    call pm_since
    cmp eax, PM_100MS
    jb .first
    FAIL_IF ae, E_NO_PIT_IRQ, "no PIT interrupt through the I/O APIC within 100 ms"
.hlt_loop:
    cli
    cmp dword [pit_count], PIT_IRQS
    jae .done
    mov eax, [pm_t0]
    call pm_since
    cmp eax, PM_1S
    FAIL_IF ae, E_TIMEOUT, "fewer than 10 PIT interrupts in 1 s"
    sti
    hlt
    jmp .hlt_loop
.done:
    ; Mask the pin (interrupts still off), then watch for 5 ms.
    mov ecx, [pit_pin]
    lea ecx, [IOAPIC_REDTBL + ecx * 2]
    mov eax, REDIR_MASKED | VEC_PIT
    call ioapic_write
    mov eax, [pit_count]
    mov [pit_count_masked], eax
    ; 9 periods from the first to the tenth.
    mov eax, [pit_stamps + (PIT_IRQS - 1) * 4]
    sub eax, [pit_stamps]
    and eax, [pm_mask]
    mov [pm_delta], eax
    PRINT "IOAPIC: "
    mov eax, [pit_count_masked]
    call put_dec
    PRINT " PIT interrupts on pin "
    mov eax, [pit_pin]
    call put_dec
    PRINT " at vector "
    mov eax, VEC_PIT
    call put_hex
    PRINT ", 9 periods in "
    mov eax, [pm_delta]
    call pm_us
    call put_dec
    PRINT ` us (8999 us expected)\n`
    mov eax, [pm_delta]
    cmp eax, PIT_PERIOD_PM * 9 * 7 / 10
    jb .bad_rate
    cmp eax, PIT_PERIOD_PM * 9 * 13 / 10
    jna .rate_ok
.bad_rate:
    mov esi, pit_stamps + 4
    mov ecx, PIT_IRQS - 1
    mov eax, [pit_stamps]
    call print_intervals
    mov eax, [pm_delta]
    cmp eax, PIT_PERIOD_PM * 9 * 7 / 10
    FAIL_IF b, E_PIT_RATE, "the PIT interrupts came too fast"
    FAIL_IF ae, E_PIT_RATE, "the PIT interrupts came too slowly"
.rate_ok:

    call pm_read
    mov [pm_t0], eax
    sti
.watch:
    mov eax, [pm_t0]
    call pm_since
    cmp eax, PM_5MS
    jb .watch
    cli
    mov eax, [pit_count]
    sub eax, [pit_count_masked]
    mov [pit_after_mask], eax
    PRINT "IOAPIC: pin masked, "
    call put_dec
    PRINT ` interrupts in the next 5 ms\n`
    ; One may have been on its way when the mask went on; not more.
    cmp dword [pit_after_mask], 1
    FAIL_IF a, E_MASK, "PIT interrupts kept coming with the I/O APIC pin masked"
    cmp dword [spurious_count], 0
    je .no_spurious
    PRINT "note: "
    mov eax, [spurious_count]
    call put_dec
    PRINT ` spurious interrupts\n`
.no_spurious:
    ret

; ---------------------------------------------------------------------------
; COM1 output
; ---------------------------------------------------------------------------

; putc: AL to COM1, waiting for the transmitter holding register to empty;
; notes whether a line is left open.
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
    cmp al, 10
    setne byte [mid_line]
    pop edx
    ret

; puts: the zero-terminated string at EDI.
puts:
    push eax
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
    pop eax
    ret

; put_hex: EAX as 0x followed by its hex digits, no leading zeros.
put_hex:
    pushad
    mov ebx, eax
    mov al, '0'
    call putc
    mov al, 'x'
    call putc
    mov ecx, 8
    xor esi, esi                    ; a digit has been printed
.digit:
    rol ebx, 4
    mov eax, ebx
    and eax, 0x0F
    jnz .print
    test esi, esi
    jnz .print
    cmp ecx, 1                      ; the last digit always
    jne .skip
.print:
    mov esi, 1
    mov al, [hex_digits + eax]
    call putc
.skip:
    loop .digit
    popad
    ret

; put_dec: EAX in decimal.
put_dec:
    pushad
    mov ecx, 10
    xor ebx, ebx
.divide:
    xor edx, edx
    div ecx
    push edx
    inc ebx
    test eax, eax
    jnz .divide
.print:
    pop eax
    add al, '0'
    call putc
    dec ebx
    jnz .print
    popad
    ret

; ---------------------------------------------------------------------------
; Data
; ---------------------------------------------------------------------------

s_fail:     db "FAIL: ", 0
hex_digits: db "0123456789abcdef"

align 8
gdt:
    dq 0
    dq 0x00CF9A000000FFFF           ; 0x08: code, flat 4 GiB
    dq 0x00CF92000000FFFF           ; 0x10: data, flat 4 GiB
gdt_end:
gdt_desc:
    dw gdt_end - gdt - 1
    dd gdt
idt_desc:
    dw 256 * 8 - 1
    dd idt

; One stub per vector, all the same size: push the vector, go to unexpected.
STUB_SIZE equ 10
align 16
stubs:
%assign vector 0
%rep 256
    push strict dword vector
    jmp strict near unexpected
%assign vector vector + 1
%endrep
stubs_end:
    ; Assemble-time check: each stub is exactly STUB_SIZE bytes.
    times (stubs_end - stubs) - 256 * STUB_SIZE db 0
    times 256 * STUB_SIZE - (stubs_end - stubs) db 0

load_end:

section .bss align=16
idt:                resq 256
rsdp:               resd 1
rsdt:               resd 1
fadt:               resd 1
madt:               resd 1
bad_rsdp:           resd 1
pm_port:            resd 1
pm_mask:            resd 1
sci_irq:            resd 1
lapic:              resd 1
cpus:               resd 1
ioapic:             resd 1
ioapic_id:          resd 1
ioapic_gsi_base:    resd 1
ioapic_hw_id:       resd 1
ioapic_version:     resd 1
ioapic_pins:        resd 1
irq0_gsi:           resd 1
pit_pin:            resd 1
apic_base_msr:      resd 1
apic_id:            resd 1
apic_hz:            resd 1
apic_per_ms:        resd 1
pm_t0:              resd 1
pm_delta:           resd 1
cal_a:              resd 1
cal_b:              resd 1
cal_c:              resd 1
cal_d:              resd 1
cal_tries:          resd 1
apic_count:         resd 1
pit_count:          resd 1
pit_count_masked:   resd 1
pit_after_mask:     resd 1
spurious_count:     resd 1
mid_line:           resd 1
apic_stamps:        resd MAX_STAMPS
pit_stamps:         resd MAX_STAMPS
alignb 16
                    resb 8192
stack_top:
bss_end:
