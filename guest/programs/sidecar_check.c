/* Test program for the sidecar (symhv --cmdline "mode=N"):
 *  mode=1  two threads, each with its own symbolic input, interpret a long loop at the
 *          same time: the sidecar serves both vCPUs in parallel;
 *  mode=2  symhv_assume and symhv_print_expr on symbolic values;
 *  mode=3  one long interpreted loop timed with the guest clock (--clock-slow-down), and
 *          checked against the same loop run natively on a concrete copy (a sidecar that
 *          dies mid-loop must not change the result). */
#include "guest.h"
#include "symhv/agent.h"

#define LOOP_ITERATIONS 60000

static uint8_t inputs[2][4096] __attribute__((aligned(4096))); /* a page each */
static uint32_t ready;
static uint64_t loop_start[2], loop_end[2]; /* guest clock, per worker */

/* Every iteration computes on the (symbolic) input, and `keep` holds a symbolic byte in
 * a register for the whole loop, so the vCPU stays in the sidecar from the first load
 * to the end of the loop (one handoff); no expression grows deeper than one iteration. */
__attribute__((noinline)) static uint64_t long_loop(const uint8_t *in)
{
    uint64_t acc = 0, keep = in[0];
    for (uint32_t i = 0; i < LOOP_ITERATIONS; i++) {
        uint64_t v = in[i & 15];
        v = v * 3 + i;
        __asm__ volatile("" : "+r"(v), "+r"(keep));
        acc = v;
    }
    return acc;
}

/* A call on the guarded side keeps the test a real branch (see magic.c). */
__attribute__((noinline)) static int accept(int level)
{
    __asm__ volatile("" ::: "memory");
    return level;
}

static long parallel_worker(void *arg)
{
    long which = (long)arg;
    uint8_t *in = inputs[which];
    memcpy(in, which ? "second input...." : "first input.....", 16);
    int id = symhv_make_symbolic(in, 16, which ? "second" : "first");
    if (id < 0)
        printf("sidecar_check: worker %ld: make_symbolic failed (%d)\n", which, id);
    __atomic_add_fetch(&ready, 1, __ATOMIC_SEQ_CST);
    while (__atomic_load_n(&ready, __ATOMIC_SEQ_CST) < 2)
        ; /* start the two loops together */
    loop_start[which] = clock_ns();
    uint64_t acc = long_loop(in);
    long r = acc == LOOP_ITERATIONS - 1 + 3 * 'Z' ? accept(1) : 0; /* last byte 'Z' */
    loop_end[which] = clock_ns(); /* after the branch: the clock's syscall concretises */
    return r;
}

static int mode_parallel(void)
{
    int a = thread_spawn(parallel_worker, (void *)0);
    int b = thread_spawn(parallel_worker, (void *)1);
    long ra = thread_join(a), rb = thread_join(b);
    /* from the first loop's start to the last one's end: the loops only, as in mode 3 */
    uint64_t t0 = loop_start[0] < loop_start[1] ? loop_start[0] : loop_start[1];
    uint64_t t1 = loop_end[0] > loop_end[1] ? loop_end[0] : loop_end[1];
    printf("sidecar_check: parallel loops done (%ld %ld)\n", ra, rb);
    printf("sidecar_check: guest time for both loops: %lu us\n", (unsigned long)((t1 - t0) / 1000));
    return 0;
}

static int mode_agent(void)
{
    uint8_t *in = inputs[0];
    memcpy(in, "xyzw", 4);
    symhv_make_symbolic(in, 4, "in");
    symhv_assume(in[0] == 'A');      /* false on this input: new inputs satisfy it */
    symhv_print_expr("first_plus_one", (uint64_t)in[0] + 1);
    symhv_print_expr("constant", 42);
    int r = in[1] == 'B' ? accept(1) : 0;
    printf("sidecar_check: agent calls done (%d)\n", r);
    return 0;
}

static int mode_clock(void)
{
    static uint8_t copy[16];
    uint8_t *in = inputs[0];
    memcpy(in, "clock input 0123", 16);
    memcpy(copy, in, 16);
    symhv_make_symbolic(in, 16, "in");
    uint64_t t0 = clock_ns();
    uint64_t acc = long_loop(in);
    uint64_t t1 = clock_ns();
    uint64_t native = long_loop(copy);
    printf("sidecar_check: guest time for the interpreted loop: %lu us\n",
           (unsigned long)((t1 - t0) / 1000));
    printf("sidecar_check: result %s\n", acc == native ? "consistent" : "WRONG");
    return acc == native ? 0 : 1;
}

int main(void)
{
    switch (guest_arg("mode", 0)) {
    case 1: return mode_parallel();
    case 2: return mode_agent();
    case 3: return mode_clock();
    default:
        printf("sidecar_check: give --cmdline mode=1|2|3\n");
        return 2;
    }
}
