/* process.c: the process as a whole */
#ifndef KERNEL_PROCESS_H
#define KERNEL_PROCESS_H

#include "kernel.h"
#include "base.h"

/* The process ends (exit_group, the last thread, a fatal signal): status to the VMM. */
__attribute__((noreturn)) void linux_exit_process(int status);
void linux_report_unknown(void);


/* A system call the kernel lacks (it returned ENOSYS): listed when the process ends. */
void process_note_unknown(uint64_t nr);

#endif
