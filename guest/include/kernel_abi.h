/* System calls of symhv's test kernel (guest/kernel), as seen by ring-3 programs.
 *
 *   int $0x80 with rax = number, rdi, rsi, rdx, r10 = arguments; result in rax,
 *   negative values are -errno. Only rax changes.
 *   On hardware VMX/SVM the DPL-3 gate 0x80 delivers it. On PVM hosts a ring-3
 *   `int n` arrives as #UD at the instruction instead (and `syscall` is not usable),
 *   so the kernel treats #UD at bytes cd 80 as the same call.
 */
#ifndef GUEST_KERNEL_ABI_H
#define GUEST_KERNEL_ABI_H

#include <stdint.h>

enum guest_syscall {
    SYS_WRITE = 1,         /* (fd, buf, len) -> len; fd is ignored: all output is console */
    SYS_EXIT = 2,          /* (status): ends the whole program and the VM */
    SYS_THREAD_CREATE = 3, /* (entry, stack_top, arg0, arg1) -> tid; entry gets rdi=arg0, rsi=arg1 */
    SYS_THREAD_EXIT = 4,   /* (value) */
    SYS_THREAD_JOIN = 5,   /* (tid) -> value the thread exited with */
    SYS_YIELD = 6,
    SYS_FUTEX_WAIT = 7,    /* (addr, expected) -> 0 when woken, -EAGAIN if *addr != expected */
    SYS_FUTEX_WAKE = 8,    /* (addr, count) -> number woken */
    SYS_CLOCK = 9,         /* () -> monotonic nanoseconds since boot */
    SYS_GETCPU = 10,       /* () -> index of the vCPU running the caller */
    SYS_INFO = 11,         /* (struct guest_info *) -> 0 */
    /* 12: reserved (was the agent's hypercall path; the agent now issues its own
     * `in` instruction, forwarded from the #GP handler: see trap.c) */
};

enum { GUEST_EINVAL = 22, GUEST_EAGAIN = 11, GUEST_EFAULT = 14, GUEST_ENOSYS = 38,
       GUEST_ENOMEM = 12, GUEST_ESRCH = 3, GUEST_EDEADLK = 35 };

#define GUEST_USER_BASE 0x1000000ull /* ring-3 programs link here (16 MiB) */
#define GUEST_MAX_THREADS 256

struct guest_info {
    uint32_t ncpus;
    uint32_t reserved;
    uint64_t mem_bytes;
    uint64_t heap_start;  /* free user memory for the program: [heap_start, heap_end) */
    uint64_t heap_end;
    uint64_t tsc_khz;
    char cmdline[256];
};

#endif
