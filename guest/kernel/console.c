/* Kernel output and hypercalls to the VMM. */
#include "kernel.h"

int64_t hypercall(uint64_t nr, uint64_t a0, uint64_t a1, uint64_t a2, uint64_t a3)
{
    return symhv_port_hypercall((long)nr, (long)a0, (long)a1, (long)a2, (long)a3);
}

void kprintf(const char *fmt, ...)
{
    char buf[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vformat(buf, sizeof buf, fmt, ap);
    va_end(ap);
    hypercall(SYMHV_HC_WRITE, (uint64_t)buf, (uint64_t)n, 0, 0);
}

void panic(const char *fmt, ...)
{
    char buf[512];
    va_list ap;
    va_start(ap, fmt);
    vformat(buf, sizeof buf, fmt, ap);
    va_end(ap);
    hypercall(SYMHV_HC_PANIC, (uint64_t)buf, 0, 0, 0);
    for (;;)
        __asm__ volatile("cli; hlt");
}
