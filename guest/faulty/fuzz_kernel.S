/* A fuzz target that is a kernel (kernel fuzzing: the crash is the machine's own): on
 * vCPU 0 it calls symhv_fuzz_start in ring 0 for up to 64 bytes; an input starting
 * with 'T' loads an empty IDT and raises #UD, which triple-faults the vCPU; any other
 * input ends the execution with symhv_fuzz_end(0). A campaign must save the 'T' input
 * in crashes/, restore the snapshot and go on. Other vCPUs halt. */
#define HYPERCALL_PORT 0x510
#define HC_FUZZ_START 22
#define HC_FUZZ_END 23
    .section .text.entry, "ax"
    .global _start
_start:
    test %rsi, %rsi
    jnz park
    mov $HC_FUZZ_START, %edi
    lea input(%rip), %rsi
    mov $64, %ecx
    xor %r8d, %r8d
    xor %r9d, %r9d
    mov $HYPERCALL_PORT, %dx
    in (%dx), %eax
    test %eax, %eax
    jle done
    cmpb $'T', input(%rip)
    jne done
    lidt empty_idt(%rip)
    ud2
done:
    mov $HC_FUZZ_END, %edi
    xor %esi, %esi
    mov $HYPERCALL_PORT, %dx
    in (%dx), %eax
    jmp done
park:
    cli
    hlt
    jmp park

    .data
empty_idt:
    .word 0
    .quad 0
    .balign 64
input:
    .fill 64, 1, 0
