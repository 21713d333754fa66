/* Benchmark (not a test): instructions per second of the concolic interpreter, with
 * concrete and with symbolic input, against native execution of the same machine code.
 * Run through scripts/bench-interp, which builds it without sanitizers. */
#include <limits.h>
#include <malloc.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "interp.h"

uint32_t interp_workload(const uint8_t *buf, size_t n);

#define RETURN_MAGIC 0x5eed0000dead0000ull

/* Direct access: the workload touches only valid memory, and the benchmark measures the
 * interpreter, not a safe memory interface (symex/self_mem.c costs a syscall per access). */
static int direct_read(void *o, uint64_t addr, void *buf, size_t len)
{
    (void)o;
    memcpy(buf, (const void *)addr, len);
    return 0;
}
static int direct_write(void *o, uint64_t addr, const void *buf, size_t len)
{
    (void)o;
    memcpy((void *)addr, buf, len);
    return 0;
}
static int direct_cmpxchg(void *o, uint64_t addr, size_t len, uint64_t expected,
                          uint64_t desired, uint64_t *old)
{
    (void)o;
    uint64_t cur = 0;
    memcpy(&cur, (void *)addr, len);
    *old = cur;
    if (cur == expected)
        memcpy((void *)addr, &desired, len);
    return 0;
}
static const struct sx_mem_ops direct_mem = { direct_read, direct_write, direct_cmpxchg, NULL };

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static uint8_t stack_areas[2][1 << 16] __attribute__((aligned(64)));

/* Interpret interp_workload(buf, n) on `stack` in the given context, shadow and path
 * (shared by threads as the sidecar shares them between vCPUs); returns instructions
 * executed, adds the time. */
static uint64_t interpret_in(struct sx_ctx *ctx, struct sx_shadow *sh, struct sx_path *pathp,
                             uint8_t *stack, uint8_t *buf, size_t n, int symbolic,
                             struct sx_decode_cache *dcache, double *seconds, uint32_t *result)
{
    struct sx_state st;
    sx_state_init(&st, ctx, &direct_mem, NULL, sh, pathp);
    st.dcache = dcache;
    if (symbolic)
        sx_make_symbolic(&st, (uint64_t)buf, (uint32_t)n, sx_input_declare(ctx, "buf", (uint32_t)n));
    uint64_t sp = (uint64_t)(stack + sizeof stack_areas[0] - 64) - 8;
    memcpy((void *)sp, &(uint64_t){ RETURN_MAGIC }, 8);
    st.gpr[SX_RSP] = sx_v(64, sp);
    st.gpr[SX_RDI] = sx_v(64, (uint64_t)buf);
    st.gpr[SX_RSI] = sx_v(64, n);
    st.rip = (uint64_t)interp_workload;
    double t0 = now();
    while (st.rip != RETURN_MAGIC) {
        if (sx_step(&st) != SX_OK) {
            fprintf(stderr, "bench-interp: interpreter stopped at %s\n", st.last_mnemonic);
            exit(1);
        }
    }
    *seconds += now() - t0;
    *result = (uint32_t)st.gpr[SX_RAX].c;
    return st.instructions;
}

static uint64_t interpret(uint8_t *buf, size_t n, int symbolic, struct sx_decode_cache *dcache,
                          double *seconds, uint32_t *result, size_t *branches)
{
    struct sx_ctx *ctx = sx_ctx_new();
    struct sx_shadow *sh = sx_shadow_new();
    struct sx_path path;
    sx_path_init(&path);
    uint64_t count = interpret_in(ctx, sh, &path, stack_areas[0], buf, n, symbolic, dcache,
                                  seconds, result);
    *branches = path.nbranches;
    sx_path_release(&path);
    sx_shadow_free(sh);
    sx_ctx_free(ctx);
    return count;
}

/* Two threads interpreting at once in one context, shadow and path, as two vCPUs in the
 * sidecar do: the wall time of both against one alone. */
struct worker {
    struct sx_ctx *ctx;
    struct sx_shadow *sh;
    struct sx_path *path;
    uint8_t *stack, *buf;
    size_t n;
    int reps;
    uint64_t insns;
    double seconds;
};

static void *work(void *arg)
{
    struct worker *w = arg;
    struct sx_decode_cache *dc = sx_decode_cache_new();
    uint32_t r;
    for (int i = 0; i < w->reps; i++)
        w->insns += interpret_in(w->ctx, w->sh, w->path, w->stack, w->buf, w->n, 1, dc,
                                 &w->seconds, &r);
    sx_decode_cache_free(dc);
    return NULL;
}

static double run_workers(unsigned nthreads, const uint8_t *pattern, size_t n, int reps)
{
    struct sx_ctx *ctx = sx_ctx_new();
    struct sx_shadow *sh = sx_shadow_new();
    struct sx_path path;
    sx_path_init(&path);
    struct worker w[2];
    pthread_t t[2];
    double t0 = now();
    for (unsigned i = 0; i < nthreads; i++) {
        w[i] = (struct worker){ ctx, sh, &path, stack_areas[i], malloc(n), n, reps, 0, 0 };
        memcpy(w[i].buf, pattern, n);
        pthread_create(&t[i], NULL, work, &w[i]);
    }
    for (unsigned i = 0; i < nthreads; i++) {
        pthread_join(t[i], NULL);
        free(w[i].buf);
    }
    double wall = now() - t0;
    sx_path_release(&path);
    sx_shadow_free(sh);
    sx_ctx_free(ctx);
    return wall;
}

int main(int argc, char **argv)
{
    size_t n = 4096;
    int reps = 20;
    const char *profile = NULL;
    int parallel = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--size") && i + 1 < argc)
            n = strtoul(argv[++i], NULL, 10);
        else if (!strcmp(argv[i], "--reps") && i + 1 < argc)
            reps = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--profile") && i + 1 < argc)
            profile = argv[++i];
        else if (!strcmp(argv[i], "--parallel"))
            parallel = 1;
        else {
            fprintf(stderr, "usage: bench_interp [--size BYTES] [--reps N] "
                            "[--profile concrete|symbolic] [--parallel]\n"
                            "  --profile: only that configuration (with the decode cache), "
                            "N times, for a profiler\n"
                            "  --parallel: symbolic input, one thread and two at once in "
                            "one context (as two vCPUs in the sidecar)\n");
            return 2;
        }
    }
    uint8_t *buf = malloc(n);
    for (size_t i = 0; i < n; i++)
        buf[i] = (uint8_t)("symhv-x"[i % 7]);

    if (parallel) {
        /* as the sidecar sets malloc (symex/sidecar/main.c: keep_freed_memory) */
        mallopt(M_MMAP_THRESHOLD, 32 << 20);
        mallopt(M_TRIM_THRESHOLD, INT_MAX);
        mallopt(M_TOP_PAD, 16 << 20);
        double one = run_workers(1, buf, n, reps), two = run_workers(2, buf, n, reps);
        printf("one thread  : %8.1f ms for %d calls\n", one * 1e3, reps);
        printf("two threads : %8.1f ms for %d calls each\n", two * 1e3, reps);
        printf("parallel speedup : %.2f  (2.0 = no contention)\n", 2 * one / two);
        free(buf);
        return 0;
    }
    if (profile) {
        struct sx_decode_cache *dc = sx_decode_cache_new();
        double s = 0;
        uint32_t r = 0;
        size_t br = 0;
        uint64_t insns = 0;
        for (int i = 0; i < reps; i++)
            insns += interpret(buf, n, strcmp(profile, "symbolic") == 0, dc, &s, &r, &br);
        printf("%s: %.2f M instructions/s\n", profile, insns / s / 1e6);
        sx_decode_cache_free(dc);
        free(buf);
        return 0;
    }
    /* Native: many calls, to get above the clock's resolution. */
    volatile uint32_t sink = 0;
    int native_calls = reps * 200;
    double t0 = now();
    for (int i = 0; i < native_calls; i++)
        sink += interp_workload(buf, n);
    double native_s = (now() - t0) / native_calls;

    /* Each configuration with and without the decode cache (kept across calls, as the
     * sidecar keeps one per thread across handoffs), side by side. */
    struct sx_decode_cache *dc = sx_decode_cache_new();
    double conc_s = 0, sym_s = 0, conc_c = 0, sym_c = 0;
    uint64_t insns = 0;
    uint32_t r_conc = 0, r_sym = 0, r_cc = 0, r_sc = 0;
    size_t branches = 0, branches_sym = 0;
    for (int i = 0; i < reps; i++) {
        insns = interpret(buf, n, 0, NULL, &conc_s, &r_conc, &branches);
        interpret(buf, n, 0, dc, &conc_c, &r_cc, &branches);
    }
    int sym_reps = reps / 4 ? reps / 4 : 1;
    for (int i = 0; i < sym_reps; i++) {
        interpret(buf, n, 1, NULL, &sym_s, &r_sym, &branches_sym);
        interpret(buf, n, 1, dc, &sym_c, &r_sc, &branches_sym);
    }
    conc_s /= reps;
    conc_c /= reps;
    sym_s /= sym_reps;
    sym_c /= sym_reps;
    if (r_conc != interp_workload(buf, n) || r_sym != r_conc || r_cc != r_conc || r_sc != r_conc) {
        fprintf(stderr, "bench-interp: interpreter result differs from native\n");
        return 1;
    }
    uint64_t hits, misses;
    sx_decode_cache_stats(dc, &hits, &misses);
    double native_ips = (double)insns / native_s;
    printf("workload: %zu-byte hash loop, %llu instructions per call, %zu symbolic branches\n",
           n, (unsigned long long)insns, branches_sym);
    printf("native                  : %10.1f M instructions/s\n", native_ips / 1e6);
    printf("interpreted, concrete   : %10.2f M instructions/s   native/interp = %6.0fx\n",
           insns / conc_s / 1e6, native_s > 0 ? conc_s / native_s : 0);
    printf("  with the decode cache : %10.2f M instructions/s   native/interp = %6.0fx  (%.2fx)\n",
           insns / conc_c / 1e6, conc_c / native_s, conc_s / conc_c);
    printf("interpreted, symbolic   : %10.2f M instructions/s   native/interp = %6.0fx\n",
           insns / sym_s / 1e6, sym_s / native_s);
    printf("  with the decode cache : %10.2f M instructions/s   native/interp = %6.0fx  (%.2fx)\n",
           insns / sym_c / 1e6, sym_c / native_s, sym_s / sym_c);
    printf("symbolic / concrete interpretation time : %.2fx (with the cache %.2fx)\n",
           sym_s / conc_s, sym_c / conc_c);
    printf("decode cache: %llu hits, %llu misses\n", (unsigned long long)hits,
           (unsigned long long)misses);
    sx_decode_cache_free(dc);
    (void)sink;
    (void)branches;
    free(buf);
    return 0;
}
