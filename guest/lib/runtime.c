#include "guest.h"

extern char __bss_start[], __bss_end[];

/* Filled once by guest_start() before any other thread exists; read-only afterwards. */
static struct guest_info info;

/* Bump allocator state, guarded by heap_lock. */
static struct mutex heap_lock = MUTEX_INIT;
static uint64_t heap_next, heap_end;

__attribute__((noreturn)) void guest_start(void)
{
    memset(__bss_start, 0, (size_t)(__bss_end - __bss_start));
    syscall4(SYS_INFO, (long)&info, 0, 0, 0);
    heap_next = info.heap_start;
    heap_end = info.heap_end;
    exit(main());
}

void exit(int status)
{
    syscall4(SYS_EXIT, status, 0, 0, 0);
    __builtin_unreachable();
}

const struct guest_info *guest_info(void) { return &info; }

long guest_arg(const char *key, long fallback)
{
    size_t klen = strlen(key);
    const char *p = info.cmdline;
    while (*p) {
        while (*p == ' ')
            p++;
        if (strncmp(p, key, klen) == 0 && p[klen] == '=') {
            long v = 0;
            int any = 0;
            for (p += klen + 1; *p >= '0' && *p <= '9'; p++, any = 1)
                v = v * 10 + (*p - '0');
            return any ? v : fallback;
        }
        while (*p && *p != ' ')
            p++;
    }
    return fallback;
}

long write(const void *buf, size_t len) { return syscall4(SYS_WRITE, 1, (long)buf, (long)len, 0); }

int snprintf(char *buf, size_t size, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vformat(buf, size, fmt, ap);
    va_end(ap);
    return n;
}

int printf(const char *fmt, ...)
{
    char buf[1024];
    va_list ap;
    va_start(ap, fmt);
    int n = vformat(buf, sizeof buf, fmt, ap);
    va_end(ap);
    write(buf, (size_t)n);
    return n;
}

uint64_t clock_ns(void) { return (uint64_t)syscall4(SYS_CLOCK, 0, 0, 0, 0); }
int getcpu(void) { return (int)syscall4(SYS_GETCPU, 0, 0, 0, 0); }
void yield(void) { syscall4(SYS_YIELD, 0, 0, 0, 0); }

long futex_wait(uint32_t *addr, uint32_t expected)
{
    return syscall4(SYS_FUTEX_WAIT, (long)addr, expected, 0, 0);
}

long futex_wake(uint32_t *addr, int count)
{
    return syscall4(SYS_FUTEX_WAKE, (long)addr, count, 0, 0);
}

/* Ulrich Drepper's three-state mutex ("Futexes Are Tricky", mutex #2), with a short
 * spin first: a futex call costs a trip through the (slow) guest kernel. */
void mutex_lock(struct mutex *m)
{
    for (int spin = 0; spin < 200; spin++) {
        uint32_t expected = 0;
        if (__atomic_compare_exchange_n(&m->state, &expected, 1, false, __ATOMIC_ACQUIRE,
                                        __ATOMIC_RELAXED))
            return;
        __asm__ volatile("pause");
    }
    uint32_t c = __atomic_exchange_n(&m->state, 2, __ATOMIC_ACQUIRE);
    while (c != 0) {
        futex_wait(&m->state, 2);
        c = __atomic_exchange_n(&m->state, 2, __ATOMIC_ACQUIRE);
    }
}

void mutex_unlock(struct mutex *m)
{
    if (__atomic_exchange_n(&m->state, 0, __ATOMIC_RELEASE) == 2)
        futex_wake(&m->state, 1);
}

void *malloc(size_t size)
{
    size = (size + 15) & ~(size_t)15;
    void *p = NULL;
    mutex_lock(&heap_lock);
    if (size <= heap_end - heap_next) {
        p = (void *)heap_next;
        heap_next += size;
    }
    mutex_unlock(&heap_lock);
    return p;
}

void *calloc(size_t n, size_t size)
{
    if (size && n > SIZE_MAX / size)
        return NULL;
    void *p = malloc(n * size);
    if (p)
        memset(p, 0, n * size); /* heap pages may hold data from an earlier snapshot run */
    return p;
}

#define THREAD_STACK_SIZE (64 * 1024)

static __attribute__((noreturn)) void thread_trampoline(thread_fn fn, void *arg)
{
    thread_exit(fn(arg));
}

int thread_spawn(thread_fn fn, void *arg)
{
    uint8_t *stack = malloc(THREAD_STACK_SIZE);
    if (!stack)
        return -GUEST_ENOMEM;
    /* As if called: rsp + 8 is 16-byte aligned at the trampoline's first instruction. */
    uint64_t top = (uint64_t)(stack + THREAD_STACK_SIZE) - 8;
    *(uint64_t *)top = 0;
    return (int)syscall4(SYS_THREAD_CREATE, (long)thread_trampoline, (long)top, (long)fn,
                         (long)arg);
}

long thread_join(int tid) { return syscall4(SYS_THREAD_JOIN, tid, 0, 0, 0); }

void thread_exit(long value)
{
    syscall4(SYS_THREAD_EXIT, value, 0, 0, 0);
    __builtin_unreachable();
}
