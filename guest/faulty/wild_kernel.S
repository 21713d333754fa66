/* A "kernel" that writes to guest-physical 0xc0000000: identity-mapped by the boot page
 * tables but beyond RAM and no device. symhv must report the address. */
    .section .text.entry, "ax"
    .global _start
_start:
    movabs $0xc0000000, %rax
    movq $0x5a5a, (%rax)
1:  hlt
    jmp 1b
