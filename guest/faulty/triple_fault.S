/* A "kernel" that triple-faults at once: with an empty IDT, ud2 raises #UD, whose
 * delivery fails (#GP, then #DF), and the vCPU shuts down. symhv must report it. */
    .section .text.entry, "ax"
    .global _start
_start:
    lidt empty_idt(%rip)
    ud2

    .data
empty_idt:
    .word 0
    .quad 0
