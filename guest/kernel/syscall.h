/* syscall.c: symhv's own ABI (int $0x80) */
#ifndef KERNEL_SYSCALL_H
#define KERNEL_SYSCALL_H

#include "kernel.h"
#include "sched.h"

void syscall_dispatch(struct cpu *c, struct trapframe *f);

#endif
