/* console.c: hypercalls and the console, the kernel's bottom */
#ifndef KERNEL_CONSOLE_H
#define KERNEL_CONSOLE_H

#include "kernel.h"

int64_t hypercall(uint64_t nr, uint64_t a0, uint64_t a1, uint64_t a2, uint64_t a3);
void kprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void knote(const char *fmt, ...) __attribute__((format(printf, 1, 2))); /* symhv's stderr */
__attribute__((noreturn, format(printf, 1, 2))) void panic(const char *fmt, ...);

#endif
