/* linux.c: the Linux ABI's dispatch, threads, futex, time */
#ifndef KERNEL_LINUX_H
#define KERNEL_LINUX_H

#include "kernel.h"
#include "linux_abi.h"

void linux_syscall(struct cpu *c, struct trapframe *f);

#endif
