/* Kernel output and hypercalls to the VMM. */
#include "kernel.h"
#include "console.h"
#include "base.h"

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

int format(char *buf, size_t size, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vformat(buf, size, fmt, ap);
    va_end(ap);
    return n;
}

/* A line for symhv's stderr ("symhv: guest kernel: ..."), apart from the program's own
 * output. */
void knote(const char *fmt, ...)
{
    char buf[512];
    va_list ap;
    va_start(ap, fmt);
    vformat(buf, sizeof buf, fmt, ap);
    va_end(ap);
    hypercall(SYMHV_HC_LOG, (uint64_t)buf, 0, 0, 0);
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
