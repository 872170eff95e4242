; triple_fault: an empty IDT (limit 0) and INT3: the #GP for the missing
; gate cannot be delivered either, nor the #DF after it: a triple fault,
; i.e. shutdown. Under QEMU -no-reboot that ends QEMU with exit code 0; on
; our core the run ends with EXIT_SHUTDOWN. Reaching the end is a failure.
%define TEST_NAME "triple_fault"
%include "lib.inc"

main:
        lidt    [empty_idt]
        PRINTLN "TRIPLE"
        int3
        FAIL    "INT3 with an empty IDT did not shut the machine down"

empty_idt:
        dw      0
        dd      0

ROM_END
