/* A hostile ring-3 program (the CI half of issue 9's hostile-guest run): several threads
 * issue agent hypercalls at once with wild arguments drawn from a fixed seed (seed=N) —
 * pointers at 0, into the kernel, at and past the end of RAM, non-canonical, random;
 * lengths 0, 1, huge, negative; names unterminated or unreadable; numbers the VMM does not
 * know, and core numbers smuggled past 32 bits. The VMM must answer each with a code and
 * stay up; the program checks the answers it can predict and says "survived" at the end.
 * Writes (get_example's destination) go only to this program's own scratch page or to
 * addresses that must be refused, so a correct VMM cannot corrupt the program itself. */
#include "guest.h"
#include "symhv/agent.h"

#define RAM_BYTES (256ull << 20) /* run with --mem 256M */
#define KERNEL_ADDR 0x202000ull  /* inside symhv's test kernel (loaded at 2 MiB) */
#define THREADS 3

static uint8_t scratch[THREADS][3 * 4096] __attribute__((aligned(4096)));
static char unterminated[8192] __attribute__((aligned(4096)));
static long calls[THREADS], refused[THREADS];
static int failures;

static uint64_t next_random(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

/* Addresses a ring-3 caller may never write through: the VMM must refuse them (the
 * kernel keeps [0, 4 MiB) and the initrd at the top of RAM to itself). */
static const uint64_t refused_ptrs[] = {
    KERNEL_ADDR, 0x200000, 0x3fffff, RAM_BYTES, RAM_BYTES + 4096, 0xfffff000ull,
    0x100000000ull, 0x00007ffffffff000ull, 0x0000800000000000ull, 0x8000000000000000ull,
    0xdead00000000ull, 0xfffffffffffff000ull, 0xffffffffffffffffull,
};
#define NREFUSED (sizeof refused_ptrs / sizeof refused_ptrs[0])

static const uint64_t wild_lens[] = {
    0, 1, 2, 4095, 4096, 4097, 65536, 65537, 1u << 20, (1u << 20) + 1, 1ull << 32,
    1ull << 40, (uint64_t)-1, (uint64_t)-4096, 0x7fffffffffffffffull,
};
#define NLENS (sizeof wild_lens / sizeof wild_lens[0])

/* Any address, for reads: the VMM may accept it or refuse it, never crash. */
static uint64_t any_ptr(uint64_t *s, uint8_t *mine)
{
    switch (next_random(s) % 5) {
    case 0: return refused_ptrs[next_random(s) % NREFUSED];
    case 1: return next_random(s);
    case 2: return next_random(s) % RAM_BYTES;
    case 3: return RAM_BYTES - 1 - next_random(s) % 64;
    default: return (uint64_t)(uintptr_t)(mine + next_random(s) % (3 * 4096));
    }
}

static uint64_t any_len(uint64_t *s)
{
    return next_random(s) % 3 ? wild_lens[next_random(s) % NLENS] : next_random(s) % 9000;
}

static long hc(int t, long nr, uint64_t a0, uint64_t a1, uint64_t a2, uint64_t a3)
{
    long r = symhv_hypercall(nr, (long)a0, (long)a1, (long)a2, (long)a3);
    calls[t]++;
    refused[t] += r < 0;
    return r;
}

static void expect(const char *what, long got, long want)
{
    if (got != want) {
        printf("hostile: %s -> %ld, expected %ld\n", what, got, want);
        __atomic_add_fetch(&failures, 1, __ATOMIC_RELAXED);
    }
}

static long wild_calls(void *arg)
{
    int t = (int)(uintptr_t)arg;
    uint8_t *mine = scratch[t];
    uint64_t s = (uint64_t)guest_arg("seed", 1) * 0x9e3779b97f4a7c15ull + (uint64_t)t + 1;
    long rounds = guest_arg("rounds", 3000);
    for (long i = 0; i < rounds; i++) {
        uint64_t len = any_len(&s);
        switch (next_random(&s) % 9) {
        case 0: { /* make_symbolic: own scratch page or a refused address; any name */
            uint64_t p = next_random(&s) % 2 ? refused_ptrs[next_random(&s) % NREFUSED]
                                              : (uint64_t)(uintptr_t)(mine + next_random(&s) % 4096);
            static const char *const names[] = { "in", "\xff\x1b[31m../red", "a/b", "" };
            uint64_t name = next_random(&s) % 3 ? (uint64_t)(uintptr_t)names[next_random(&s) % 4]
                                                 : next_random(&s) % 2 ? (uint64_t)(uintptr_t)unterminated
                                                                      : any_ptr(&s, mine);
            hc(t, SYMHV_HC_MAKE_SYMBOLIC, p, len % 5000, name, 0);
            break;
        }
        case 1: { /* get_example: read anywhere, write to scratch or a refused address */
            uint64_t off = next_random(&s) % 4096;
            bool own = next_random(&s) % 2;
            uint64_t dst = own ? (uint64_t)(uintptr_t)(mine + off)
                               : refused_ptrs[next_random(&s) % NREFUSED];
            uint64_t n = own ? len % (3 * 4096 - off) : len;
            long r = hc(t, SYMHV_HC_GET_EXAMPLE, dst, any_ptr(&s, mine), n, 0);
            if (!own && r >= 0)
                expect("get_example into a refused address", r, -SYMHV_EFAULT);
            break;
        }
        case 2: hc(t, SYMHV_HC_REPORT_BUG, any_ptr(&s, mine), 0, 0, 0); break;
        case 3: hc(t, SYMHV_HC_PRINT_EXPR, any_ptr(&s, mine), next_random(&s), 0, 0); break;
        case 4: /* kill with an unreadable message must be refused, not end the run */
            expect("kill with a refused message",
                   hc(t, SYMHV_HC_KILL, 3, refused_ptrs[3 + next_random(&s) % (NREFUSED - 3)], 0, 0),
                   -SYMHV_EFAULT);
            break;
        case 5: /* fuzz_start outside `symhv fuzz` */
            hc(t, SYMHV_HC_FUZZ_START, any_ptr(&s, mine), len, any_ptr(&s, mine), any_len(&s));
            break;
        case 6: hc(t, SYMHV_HC_ASSUME, 1 + next_random(&s) % 1000, 0, 0, 0); break;
        case 7: { /* numbers nobody registered */
            static const long unknown[] = { 24, 25, 31, 32, 100, 255, 256, 0x7fffffff };
            long nr = unknown[next_random(&s) % 8];
            hc(t, nr, next_random(&s), next_random(&s), 0, 0);
            break;
        }
        default: /* a core number (exit) or kill, smuggled in past 32 bits: the kernel
                  * forwards it (it looks like an agent number), the VMM must refuse it */
            expect("exit past 32 bits", hc(t, 0x100000000l | SYMHV_HC_EXIT, 7, 0, 0, 0) < 0, 1);
            /* through the hypercall page the VMM sees ring 3 itself: core numbers refused */
            expect("exit from ring 3", hc(t, SYMHV_HC_EXIT, 7, 0, 0, 0) < 0, 1);
            expect("panic from ring 3",
                   hc(t, SYMHV_HC_PANIC, (uint64_t)(uintptr_t)"boom", 0, 0, 0) < 0, 1);
            expect("kill past 32 bits",
                   hc(t, 0x100000000l | SYMHV_HC_KILL, 7, (uint64_t)(uintptr_t)"x", 0, 0) < 0, 1);
            break;
        }
    }
    return 0;
}

int main(void)
{
    for (unsigned i = 0; i < sizeof unterminated; i++)
        unterminated[i] = 'A';
    /* Fixed cases with known answers (D8, D9, names). */
    expect("report_bug(non-canonical)",
           symhv_report_bug((const char *)0x8000000000000000ull), -SYMHV_EFAULT);
    expect("report_bug(first non-canonical)",
           symhv_report_bug((const char *)0x0000800000000000ull), -SYMHV_EFAULT);
    expect("get_example into the kernel",
           symhv_get_example((void *)KERNEL_ADDR, scratch[0], 64), -SYMHV_EFAULT);
    expect("make_symbolic on the kernel",
           symhv_make_symbolic((void *)KERNEL_ADDR, 64, "kernel"), -SYMHV_EFAULT);
    expect("make_symbolic with an unterminated name",
           symhv_make_symbolic(scratch[0], 4, unterminated) < 0, 1);

    int tids[THREADS - 1];
    for (int t = 1; t < THREADS; t++)
        tids[t - 1] = thread_spawn(wild_calls, (void *)(uintptr_t)t);
    wild_calls((void *)0);
    for (int t = 1; t < THREADS; t++)
        thread_join(tids[t - 1]);

    long total = 0, no = 0;
    for (int t = 0; t < THREADS; t++) {
        total += calls[t];
        no += refused[t];
    }
    printf("hostile: %ld wild calls, %ld refused, %d wrong answers\n", total, no, failures);
    if (failures)
        return 1;
    printf("hostile: survived\n");
    return 0;
}
