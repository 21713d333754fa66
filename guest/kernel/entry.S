/* Entry points: the boot entry every vCPU starts at, and the trap stubs. */
#include "kernel_asm.h"

    .section .text.entry, "ax"
    .global _start
_start:
    /* rdi = boot info, rsi = vCPU index, rsp = this vCPU's stack (set by the VMM) */
    xor %ebp, %ebp
    call kmain
1:  hlt
    jmp 1b

    .text
/* Stubs push (error code, vector) so every trap leaves the same frame. */
.macro TRAP_NOERR vec
    .align 16
trap_\vec:
    push $0
    push $\vec
    jmp trap_common
.endm
.macro TRAP_ERR vec
    .align 16
trap_\vec:
    push $\vec
    jmp trap_common
.endm

TRAP_NOERR 0
TRAP_NOERR 1
TRAP_NOERR 2
TRAP_NOERR 3
TRAP_NOERR 4
TRAP_NOERR 5
TRAP_NOERR 6
TRAP_NOERR 7
TRAP_ERR   8
TRAP_NOERR 9
TRAP_ERR   10
TRAP_ERR   11
TRAP_ERR   12
TRAP_ERR   13
TRAP_ERR   14
TRAP_NOERR 15
TRAP_NOERR 16
TRAP_ERR   17
TRAP_NOERR 18
TRAP_NOERR 19
TRAP_NOERR 20
TRAP_ERR   21
TRAP_NOERR 22
TRAP_NOERR 23
TRAP_NOERR 24
TRAP_NOERR 25
TRAP_NOERR 26
TRAP_NOERR 27
TRAP_NOERR 28
TRAP_ERR   29
TRAP_ERR   30
TRAP_NOERR 31
TRAP_NOERR 32   /* VEC_TIMER */
TRAP_NOERR 33   /* VEC_WAKEUP */
TRAP_NOERR 128  /* VEC_SYSCALL */
TRAP_NOERR 255  /* VEC_SPURIOUS */

trap_common:
    push %rax
    push %rbx
    push %rcx
    push %rdx
    push %rsi
    push %rdi
    push %rbp
    push %r8
    push %r9
    push %r10
    push %r11
    push %r12
    push %r13
    push %r14
    push %r15
    cld
    mov %rsp, %rdi
    call trap
    .global trap_return
trap_return:
    pop %r15
    pop %r14
    pop %r13
    pop %r12
    pop %r11
    pop %r10
    pop %r9
    pop %r8
    pop %rbp
    pop %rdi
    pop %rsi
    pop %rdx
    pop %rcx
    pop %rbx
    pop %rax
    add $16, %rsp   /* vector, error code */
    iretq

/* `syscall` from ring 3 on VMX/SVM hosts (LSTAR): interrupts are off (FMASK), rsp is
 * still the program's. Build the same frame a trap leaves, with vector
 * VEC_LINUX_SYSCALL, rip = rcx and rflags = r11, and leave through trap_return (iretq).
 * On PVM hosts the CPU stays in ring 3 and the fetch here faults instead: trap.c
 * treats that #PF as the same call. GS is swapped only for the few instructions that
 * need the per-vCPU stack; the rest of the kernel never uses GS. */
    .global lx_syscall_entry
    .align 16
lx_syscall_entry:
    swapgs
    mov %rsp, %gs:8          /* percpu.user_rsp */
    mov %gs:0, %rsp          /* percpu.kernel_rsp */
    push $0x1b               /* USER_DS */
    push %gs:8
    push %r11
    push $0x23               /* USER_CS */
    push %rcx
    swapgs
    push $0                  /* error code */
    push $0x100              /* VEC_LINUX_SYSCALL */
    jmp trap_common

/* First entry of a vCPU into ring 3: build an empty frame, let the scheduler fill
 * it with a thread, and leave through the normal trap return. */
    .global enter_scheduler
enter_scheduler:
    sub $TRAPFRAME_SIZE, %rsp
    mov %rsp, %rdi
    call sched_start_cpu
    jmp trap_return

/* Stub addresses by vector, for building the IDT. */
    .section .rodata
    .global trap_stubs
trap_stubs:
.irp v, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31
    .quad trap_\v
.endr
    .global trap_stub_timer, trap_stub_wakeup, trap_stub_syscall, trap_stub_spurious
trap_stub_timer:    .quad trap_32
trap_stub_wakeup:   .quad trap_33
trap_stub_syscall:  .quad trap_128
trap_stub_spurious: .quad trap_255
