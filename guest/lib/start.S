/* Entry of every ring-3 program: the kernel jumps here with a fresh stack. */
    .section .text.start, "ax"
    .global _start
_start:
    xor %ebp, %ebp
    and $-16, %rsp
    call guest_start
    ud2
