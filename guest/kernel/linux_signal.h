/* linux_signal.c: handlers, frames, faults */
#ifndef KERNEL_LINUX_SIGNAL_H
#define KERNEL_LINUX_SIGNAL_H

#include "kernel.h"
#include "sched.h"

void signal_init(void);
int64_t signal_syscall(struct cpu *c, struct trapframe *f, uint64_t nr, bool *handled);
/* A fault in ring 3 (vector < 32): handled by the program's handler, or fatal. */
void signal_fault(struct cpu *c, struct trapframe *f, uint64_t fault_addr);
/* Before returning to ring 3: deliver what is pending and not blocked. */
void signal_deliver_pending(struct cpu *c, struct trapframe *f);
int signal_send(int tid, int sig, int code); /* tid 0: the process */
__attribute__((noreturn)) void signal_fatal(struct trapframe *f, int sig, uint64_t addr);

#endif
