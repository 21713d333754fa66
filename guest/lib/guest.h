/* The runtime for ring-3 programs on symhv's test kernel: start-up, console output,
 * threads, futex-based mutexes, a clock, and a bump allocator. No libc underneath. */
#ifndef GUEST_H
#define GUEST_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kernel_abi.h"
#include "symhv/abi.h"

/* The program's entry point, called by the runtime; its result is the exit status. */
int main(void);

/* ---- process ---- */
__attribute__((noreturn)) void exit(int status);
const struct guest_info *guest_info(void);
/* Value of "key=NUMBER" on the kernel command line (symhv --cmdline), else `fallback`. */
long guest_arg(const char *key, long fallback);

/* ---- output ---- */
long write(const void *buf, size_t len);
int printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
int snprintf(char *buf, size_t size, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
int vformat(char *buf, size_t size, const char *fmt, va_list ap);

/* ---- time and place ---- */
uint64_t clock_ns(void);
int getcpu(void);

/* ---- threads ---- */
typedef long (*thread_fn)(void *arg);
/* Start fn(arg) on a new thread with a 64 KiB stack; returns its id (> 0) or -errno. */
int thread_spawn(thread_fn fn, void *arg);
long thread_join(int tid);
__attribute__((noreturn)) void thread_exit(long value);
void yield(void);

/* ---- synchronisation ---- */
long futex_wait(uint32_t *addr, uint32_t expected);
long futex_wake(uint32_t *addr, int count);
struct mutex { uint32_t state; }; /* 0 free, 1 locked, 2 locked with waiters */
#define MUTEX_INIT { 0 }
void mutex_lock(struct mutex *m);
void mutex_unlock(struct mutex *m);

/* ---- memory (never freed: programs here are short-lived) ---- */
void *malloc(size_t size);
void *calloc(size_t n, size_t size);
void *memcpy(void *dst, const void *src, size_t n);
void *memmove(void *dst, const void *src, size_t n);
void *memset(void *dst, int c, size_t n);
int memcmp(const void *a, const void *b, size_t n);
size_t strlen(const char *s);
int strcmp(const char *a, const char *b);
int strncmp(const char *a, const char *b, size_t n);

/* ---- raw system call ---- */
static inline long syscall4(long nr, long a0, long a1, long a2, long a3)
{
    register long r10 __asm__("r10") = a3;
    __asm__ volatile("int $0x80"
                     : "+a"(nr)
                     : "D"(a0), "S"(a1), "d"(a2), "r"(r10)
                     : "memory");
    return nr;
}

#endif
