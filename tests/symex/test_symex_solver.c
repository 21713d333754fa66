/* The solver drives real code down the other branch: target functions (compiled
 * natively) are interpreted with a symbolic input; each new input the solver produces
 * is checked by calling the native function with it. */
#include <check.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../check_main.h"
#include "branch_map.h"
#include "interp.h"
#include "self_mem.h"
#include "smtlib.h"
#include "solver.h"
#include "targets.h"

#define RETURN_MAGIC 0x5eed0000dead0000ull
#define STACK_BYTES (64 * 1024)

struct concolic_run {
    struct sx_ctx *ctx;
    struct sx_shadow *shadow;
    struct sx_path path;
    struct sx_state st;
    uint32_t input;
    int result;
};

static uint8_t stack_area[STACK_BYTES] __attribute__((aligned(64)));
static int reports;
static void count_report(void *o, const char *msg) { (void)o; (void)msg; reports++; }

/* Interpret fn(buf) with buf[0..len) symbolic (input "buf"), from the native code; with
 * `prune`, hot branches as the sidecar prunes them (SX_PRUNE_EXACT); with `context`,
 * branches keyed by their callers as the sidecar keys them. */
static void run_concolic_with(struct concolic_run *r, int (*fn)(const uint8_t *), uint8_t *buf,
                              uint32_t len, struct sx_ctx *ctx, bool prune, bool context)
{
    r->ctx = ctx;
    r->shadow = sx_shadow_new();
    sx_path_init(&r->path);
    r->path.no_pruning = !prune;
    r->path.no_context = !context;
    sx_state_init(&r->st, ctx, &sx_self_mem, NULL, r->shadow, &r->path);
    r->st.report = count_report;
    r->input = sx_input_count(ctx) ? 0 : sx_input_declare(ctx, "buf", len);
    sx_make_symbolic(&r->st, (uint64_t)buf, len, r->input);
    uint64_t sp = (uint64_t)(stack_area + STACK_BYTES - 64);
    sp -= 8;
    memcpy((void *)sp, &(uint64_t){ RETURN_MAGIC }, 8);
    r->st.gpr[SX_RSP] = sx_v(64, sp);
    r->st.gpr[SX_RDI] = sx_v(64, (uint64_t)buf);
    r->st.rip = (uint64_t)fn;
    for (long steps = 0; r->st.rip != RETURN_MAGIC; steps++) {
        enum sx_status st = sx_step(&r->st);
        ck_assert_msg(st == SX_OK, "interpretation stopped (status %d) at %s, rip %p", st,
                      r->st.last_mnemonic, (void *)r->st.rip);
        ck_assert_msg(steps < 1000000, "runaway interpretation");
    }
    r->result = (int)(int32_t)r->st.gpr[SX_RAX].c;
}

static void run_concolic(struct concolic_run *r, int (*fn)(const uint8_t *), uint8_t *buf,
                         uint32_t len, struct sx_ctx *ctx)
{
    run_concolic_with(r, fn, buf, len, ctx, true, true);
}

static void release(struct concolic_run *r)
{
    sx_path_release(&r->path);
    sx_shadow_free(r->shadow);
}

static struct sx_model *model_of(struct sx_ctx *ctx, const uint8_t *buf, uint32_t len)
{
    struct sx_model *m = sx_model_new(ctx, NULL);
    memcpy(m->bytes[0], buf, len);
    return m;
}

/* One symbolic branch guards the target: flipping it must reach the other side. */
static void flip_single_branch_with(const char *backend, int (*fn)(const uint8_t *),
                                    uint32_t len, int expected)
{
    uint8_t buf[64] = { 0 };
    ck_assert_int_eq(fn(buf), 0);
    struct sx_ctx *ctx = sx_ctx_new();
    struct sx_solver *solver = sx_solver_new(ctx, backend, 20000);
    ck_assert_ptr_nonnull(solver);
    struct concolic_run r;
    run_concolic(&r, fn, buf, len, ctx);
    ck_assert_int_eq(r.result, 0); /* the interpreter agrees with the CPU */
    ck_assert_msg(r.path.nbranches >= 1, "no symbolic branch was recorded");
    size_t last = r.path.nbranches - 1;
    struct sx_model *m = model_of(ctx, buf, len);
    ck_assert_int_eq(sx_path_flip(&r.path, ctx, solver, last, m), SX_SAT);
    uint8_t fresh[64] = { 0 };
    memcpy(fresh, m->bytes[0], len);
    ck_assert_int_eq(fn(fresh), expected); /* the CPU takes the other branch */

    /* The same flip again is answered from the cache. */
    uint64_t hits = sx_solver_stats(solver)->cache_hits;
    ck_assert_int_eq(sx_path_flip(&r.path, ctx, solver, last, m), SX_SAT);
    ck_assert_uint_eq(sx_solver_stats(solver)->cache_hits, hits + 1);

    /* Replaying the new input in the interpreter follows the new path too. */
    struct concolic_run again;
    memcpy(buf, fresh, len);
    run_concolic(&again, fn, buf, len, ctx);
    ck_assert_int_eq(again.result, expected);
    release(&again);
    sx_model_free(m);
    release(&r);
    sx_solver_free(solver);
    sx_ctx_free(ctx);
}

static void flip_single_branch(int (*fn)(const uint8_t *), uint32_t len, int expected)
{
    flip_single_branch_with(NULL, fn, len, expected);
}

START_TEST(solver_flips_linear_equation) { flip_single_branch(target_linear, 4, 1001); }
END_TEST
START_TEST(solver_flips_64bit_magic) { flip_single_branch(target_magic64, 8, 1003); }
END_TEST
START_TEST(solver_flips_checksum_loop) { flip_single_branch(target_checksum, 8, 1004); }
END_TEST
START_TEST(solver_flips_sse_compare) { flip_single_branch(target_sse, 16, 1005); }
END_TEST
/* QSYM's pruning: a branch per byte over a 4 KiB input counts 64 times, then at the
 * powers of two only (6 more: 128 ... 4096); the rest run as if concrete. The flip of
 * the check behind the loop still drives the CPU to the other side. Without pruning
 * every occurrence is a branch point. */
START_TEST(hot_branches_are_pruned_and_the_check_behind_them_flips)
{
    static uint8_t buf[TARGET_HOT_BYTES], fresh[TARGET_HOT_BYTES];
    memset(buf, 0, sizeof buf);
    ck_assert_int_eq(target_hot_loop(buf), 0);
    struct sx_ctx *ctx = sx_ctx_new();
    struct sx_solver *solver = sx_solver_new(ctx, NULL, 20000);
    ck_assert_ptr_nonnull(solver);
    struct concolic_run r;
    run_concolic(&r, target_hot_loop, buf, TARGET_HOT_BYTES, ctx);
    ck_assert_int_eq(r.result, 0);
    ck_assert_uint_eq(r.path.nbranches, SX_PRUNE_EXACT + 6 + 1);
    ck_assert_uint_eq(r.path.pruned, TARGET_HOT_BYTES - SX_PRUNE_EXACT - 6);
    size_t last = r.path.nbranches - 1;
    struct sx_model *m = model_of(ctx, buf, TARGET_HOT_BYTES);
    ck_assert_int_eq(sx_path_flip(&r.path, ctx, solver, last, m), SX_SAT);
    memcpy(fresh, m->bytes[0], TARGET_HOT_BYTES);
    ck_assert_int_eq(target_hot_loop(fresh), 1009);
    sx_model_free(m);
    release(&r);

    struct concolic_run all;
    run_concolic_with(&all, target_hot_loop, buf, TARGET_HOT_BYTES, ctx, false, true);
    ck_assert_uint_eq(all.path.nbranches, TARGET_HOT_BYTES + 1);
    ck_assert_uint_eq(all.path.pruned, 0);
    release(&all);
    sx_solver_free(solver);
    sx_ctx_free(ctx);
}
END_TEST

/* A generational search as the sidecar runs it (sx_branch_map: a flip only to a side
 * neither seen nor reached before), from zeros, over target_two_callers; returns a bit
 * per guarded branch reached (1 << (result - 1011)). */
static unsigned search_two_callers(bool context)
{
    enum { LEN = 4, MAX_INPUTS = 32 };
    static struct sx_branch_map map;
    memset(&map, 0, sizeof map);
    uint8_t queue[MAX_INPUTS][64] = { { 0 } };
    unsigned n = 1, reached = 0;
    struct sx_ctx *ctx = sx_ctx_new();
    struct sx_solver *solver = sx_solver_new(ctx, NULL, 20000);
    for (unsigned at = 0; at < n; at++) {
        struct concolic_run r;
        run_concolic_with(&r, target_two_callers, queue[at], LEN, ctx, true, context);
        if (r.result >= 1011)
            reached |= 1u << (r.result - 1011);
        size_t nb = r.path.nbranches;
        uint32_t other[16];
        uint64_t scratch[64];
        ck_assert_uint_le(nb, 16);
        sx_branch_map_visit(&map, r.path.branches, nb, other, scratch);
        for (size_t b = 0; b < nb && n < MAX_INPUTS; b++) {
            if (!sx_branch_map_wanted(&map, other[b]))
                continue;
            struct sx_model *m = model_of(ctx, queue[at], LEN);
            if (sx_path_flip(&r.path, ctx, solver, b, m) == SX_SAT) {
                sx_branch_map_reached(&map, other[b]);
                memcpy(queue[n++], m->bytes[0], LEN);
            }
            sx_model_free(m);
        }
        release(&r);
    }
    sx_solver_free(solver);
    sx_ctx_free(ctx);
    return reached;
}

/* A helper's branch met from two callers: keyed by pc and count alone, the flip tried
 * from the first caller hides the same flip from the second (QSYM's context-sensitive
 * sides are the answer). With the callers in the key both guarded branches are found;
 * without, the second caller's is not. */
START_TEST(branch_sides_are_told_apart_by_their_callers)
{
    ck_assert_uint_eq(search_two_callers(true), 3);
    ck_assert_uint_eq(search_two_callers(false), 2);
}
END_TEST

/* One jump at one pc, met once on each path from the same callers, whose condition reads
 * another input byte on each (glibc's vector strcmp tests the byte where the strings
 * first differ): each byte's sides are new, and a flip reached from one byte's does not
 * hide the other's. */
START_TEST(a_jump_reading_another_byte_is_another_side)
{
    struct sx_ctx *ctx = sx_ctx_new();
    static struct sx_branch_map map;
    memset(&map, 0, sizeof map);
    uint32_t other[1];
    uint64_t scratch[4];
    struct sx_branch br = { .pc = 0x401234, .context = 7, .jumped = false, .kind = SX_FLIP_JUMP };
    const struct sx_expr *zero = sx_const(ctx, 8, 0);
    br.taken = sx_lnot(ctx, sx_binop(ctx, SX_EQ, sx_input_byte(ctx, 0, 5), zero));
    ck_assert_uint_eq(sx_branch_map_visit(&map, &br, 1, other, scratch), 1);
    ck_assert(sx_branch_map_wanted(&map, other[0]));
    sx_branch_map_reached(&map, other[0]);
    ck_assert_uint_eq(sx_branch_map_visit(&map, &br, 1, other, scratch), 0);
    ck_assert(!sx_branch_map_wanted(&map, other[0]));
    br.taken = sx_lnot(ctx, sx_binop(ctx, SX_EQ, sx_input_byte(ctx, 0, 12), zero));
    ck_assert_uint_eq(sx_branch_map_visit(&map, &br, 1, other, scratch), 1);
    ck_assert(sx_branch_map_wanted(&map, other[0]));
    sx_ctx_free(ctx);
}
END_TEST

/* Pruning counts a branch's occurrences per callers: a helper hot from one caller still
 * counts, and flips, the first time another caller meets it. */
/* A flip at the end of a long path (6,000 constraints, as a kilobyte input's parse
 * makes) beats its progress hook while it slices the path and while the solver
 * translates it: the sidecar's heartbeat goes on through one long query. */
static void count_beat(void *arg) { ++*(unsigned *)arg; }

START_TEST(a_long_query_beats_while_it_is_prepared)
{
    enum { N = 6000 };
    struct sx_ctx *ctx = sx_ctx_new();
    uint32_t in = sx_input_declare(ctx, "input", N);
    struct sx_path path;
    sx_path_init(&path);
    for (uint32_t i = 1; i < N; i++)
        sx_path_assume(&path, sx_binop(ctx, SX_EQ, sx_input_byte(ctx, in, i),
                                       sx_const(ctx, 8, i & 0xff)));
    const struct sx_expr *b0 = sx_input_byte(ctx, in, 0);
    sx_path_branch(&path, 0x401000, 0, sx_binop(ctx, SX_ULT, b0, sx_const(ctx, 8, 5)), true);
    unsigned beats = 0;
    struct sx_progress progress = { count_beat, &beats };
    path.progress = progress;
    for (int sliced = 1; sliced >= 0; sliced--) {
        path.no_slicing = !sliced;
        struct sx_solver *solver = sx_solver_new(ctx, NULL, 60000);
        ck_assert_ptr_nonnull(solver);
        sx_solver_set_progress(solver, &progress);
        struct sx_model *m = sx_model_new(ctx, NULL);
        for (uint32_t i = 1; i < N; i++)
            m->bytes[in][i] = (uint8_t)i;
        beats = 0;
        ck_assert_int_eq(sx_path_flip(&path, ctx, solver, path.nbranches - 1, m), SX_SAT);
        ck_assert_uint_ge(m->bytes[in][0], 5); /* the other side */
        ck_assert_msg(beats >= N / SX_PROGRESS_EVERY, "%s: %u beats over %d constraints",
                      sliced ? "slicing" : "the solver", beats, N);
        sx_model_free(m);
        sx_solver_free(solver);
    }
    sx_path_release(&path);
    sx_ctx_free(ctx);
}
END_TEST

START_TEST(pruning_counts_each_caller_of_a_helper_apart)
{
    uint8_t buf[64] = { 0 };
    struct sx_ctx *ctx = sx_ctx_new();
    struct sx_solver *solver = sx_solver_new(ctx, NULL, 20000);
    struct concolic_run r;
    run_concolic(&r, target_hot_helper, buf, 16, ctx);
    ck_assert_int_eq(r.result, 0);
    ck_assert_uint_gt(r.path.pruned, 0); /* the loop's calls past 64 */
    size_t last = r.path.nbranches - 1;
    struct sx_model *m = model_of(ctx, buf, 16);
    ck_assert_int_eq(sx_path_flip(&r.path, ctx, solver, last, m), SX_SAT);
    uint8_t fresh[64] = { 0 };
    memcpy(fresh, m->bytes[0], 16);
    ck_assert_int_eq(target_hot_helper(fresh), 1013);
    sx_model_free(m);
    release(&r);
    sx_solver_free(solver);
    sx_ctx_free(ctx);
}
END_TEST

/* Every backend drives the same targets to their other branch (the default's tests are
 * above): z3, z3-fresh, cvc5 and Bitwuzla where built, Z3 with Bitwuzla, and the
 * portfolio. */
START_TEST(every_backend_flips_branches)
{
    static const char *const names[] = { "z3", "z3-fresh",
#ifdef SYMHV_HAVE_CVC5
                                         "cvc5",
#endif
#ifdef SYMHV_HAVE_BITWUZLA
                                         "bitwuzla", "z3+bitwuzla",
#endif
                                         "portfolio" };
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        flip_single_branch_with(names[i], target_checksum, 8, 1004);
        flip_single_branch_with(names[i], target_linear, 4, 1001);
        flip_single_branch_with(names[i], target_magic64, 8, 1003);
        flip_single_branch_with(names[i], target_sse, 16, 1005);
    }
    struct sx_ctx *ctx = sx_ctx_new();
    ck_assert_ptr_null(sx_solver_new(ctx, "boolector", 0)); /* not built in */
    sx_ctx_free(ctx);
}
END_TEST

/* Each backend by its users' name (the pairs aside), as this build has them. */
static const char *const single_backends[] = { "z3", "z3-fresh",
#ifdef SYMHV_HAVE_CVC5
                                               "cvc5",
#endif
#ifdef SYMHV_HAVE_BITWUZLA
                                               "bitwuzla",
#endif
                                               "portfolio" };

/* Optimistic solving keeps the path's decisions and leaves out its pins: a length the
 * path made concrete (len / 8 == 2, as for musl's rep movsq) leaves `len > 40` unsat
 * with the whole path; the branch alone could be any byte over 40, past the program's
 * earlier `len <= 48` (lx_pinned.c). Every backend answers within both. */
START_TEST(optimistic_solving_keeps_the_decisions_and_drops_the_pins)
{
    for (size_t i = 0; i < sizeof single_backends / sizeof single_backends[0]; i++) {
        const char *name = single_backends[i];
        struct sx_ctx *ctx = sx_ctx_new();
        uint32_t in = sx_input_declare(ctx, "input", 8);
        const struct sx_expr *len = sx_input_byte(ctx, in, 6);
        struct sx_path path;
        sx_path_init(&path);
        sx_path_branch(&path, 0x401000, 0, sx_binop(ctx, SX_ULE, len, sx_const(ctx, 8, 48)), false);
        sx_path_assume(&path, sx_binop(ctx, SX_EQ, sx_binop(ctx, SX_LSHR, len, sx_const(ctx, 8, 3)),
                                       sx_const(ctx, 8, 2)));
        sx_path_branch(&path, 0x401010, 0, sx_binop(ctx, SX_ULE, len, sx_const(ctx, 8, 40)), false);
        struct sx_solver *solver = sx_solver_new(ctx, name, 10000);
        ck_assert_ptr_nonnull(solver);
        struct sx_model *m = sx_model_new(ctx, NULL);
        m->bytes[in][6] = 16;
        ck_assert_int_eq(sx_path_flip(&path, ctx, solver, 1, m), SX_UNSAT);
        ck_assert_int_eq(sx_path_flip_optimistic(&path, ctx, solver, 1, m), SX_SAT);
        ck_assert_msg(m->bytes[in][6] > 40 && m->bytes[in][6] <= 48, "%s: length %u", name,
                      m->bytes[in][6]);
        sx_model_free(m);
        sx_solver_free(solver);
        sx_path_release(&path);
        sx_ctx_free(ctx);
    }
}
END_TEST

/* A byte-by-byte magic compare needs one flip per byte: a small generational search
 * (always flip the deepest new branch) must find all eight bytes. */
START_TEST(concolic_search_finds_bytewise_magic)
{
    uint8_t buf[8] = { 0 };
    struct sx_ctx *ctx = sx_ctx_new();
    struct sx_solver *solver = sx_solver_new(ctx, NULL, 10000);
    int found = 0, rounds = 0;
    for (; rounds < 20 && !found; rounds++) {
        struct concolic_run r;
        run_concolic(&r, target_magic, buf, sizeof buf, ctx);
        ck_assert_int_eq(r.result, target_magic(buf));
        if (r.result == 1002) {
            found = 1;
        } else {
            ck_assert_msg(r.path.nbranches > 0, "round %d: no branch to flip", rounds);
            struct sx_model *m = model_of(ctx, buf, sizeof buf);
            ck_assert_int_eq(sx_path_flip(&r.path, ctx, solver, r.path.nbranches - 1, m), SX_SAT);
            memcpy(buf, m->bytes[0], sizeof buf);
            sx_model_free(m);
        }
        release(&r);
    }
    ck_assert_msg(found, "magic not found in %d rounds", rounds);
    ck_assert_int_eq(memcmp(buf, "SYMHV!\x7f\x01", 8), 0);
    ck_assert_int_eq(target_magic(buf), 1002);
    ck_assert_int_le(rounds, 10);
    sx_solver_free(solver);
    sx_ctx_free(ctx);
}
END_TEST

/* An unsatisfiable flip is reported as such: x*2 is never odd. */

/* The flip candidate of `kind` on r's path, or -1. */
static long find_kind(const struct sx_path *p, enum sx_flip_kind kind)
{
    for (size_t i = 0; i < p->nbranches; i++)
        if (p->branches[i].kind == kind)
            return (long)i;
    return -1;
}

/* Bugs and conditions without a jump are flip candidates: a divisor that can be zero
 * (solved: the input that divides by zero), a setcc whose other value the solver finds. */
START_TEST(division_and_setcc_are_flip_candidates)
{
    struct sx_ctx *ctx = sx_ctx_new();
    struct sx_solver *solver = sx_solver_new(ctx, NULL, 20000);
    uint8_t buf[64] = { 'x' };
    struct concolic_run r;
    run_concolic(&r, target_divide, buf, 1, ctx);
    ck_assert_int_eq(r.result, target_divide(buf));
    long zero = find_kind(&r.path, SX_FLIP_DIV_ZERO);
    ck_assert_int_ge(zero, 0);
    struct sx_model *m = model_of(ctx, buf, 1);
    ck_assert_int_eq(sx_path_flip(&r.path, ctx, solver, (size_t)zero, m), SX_SAT);
    ck_assert_int_eq(m->bytes[0][0], 'a'); /* 1000 / 0 */
    sx_model_free(m);
    release(&r);

    uint8_t sel[64] = { 'y' };
    run_concolic(&r, target_select, sel, 1, ctx);
    ck_assert_int_eq(r.result, 0);
    long pick = find_kind(&r.path, SX_FLIP_SELECT);
    ck_assert_int_ge(pick, 0);
    ck_assert_uint_eq(r.path.n, 0); /* a candidate, not a constraint of the path */
    m = model_of(ctx, sel, 1);
    ck_assert_int_eq(sx_path_flip(&r.path, ctx, solver, (size_t)pick, m), SX_SAT);
    uint8_t fresh[64] = { m->bytes[0][0] };
    ck_assert_int_eq(target_select(fresh), 1006);
    sx_model_free(m);
    release(&r);
    sx_solver_free(solver);
    sx_ctx_free(ctx);
}
END_TEST


/* Flip queries hold only the constraints that share input bytes with the flipped branch:
 * the branches on buf[0] and buf[1] stay out of the query for buf[2], and the answer
 * still reaches the other side (the seed keeps the bytes the query left alone). */
START_TEST(flip_queries_are_sliced_to_the_bytes_involved)
{
    uint8_t buf[64] = { 'x', 'y', 'z' };
    ck_assert_int_eq(target_independent(buf), 0);
    struct sx_ctx *ctx = sx_ctx_new();
    struct sx_solver *solver = sx_solver_new(ctx, NULL, 20000);
    struct concolic_run r;
    run_concolic(&r, target_independent, buf, 3, ctx);
    ck_assert_uint_eq(r.path.nbranches, 3);
    struct sx_model *m = model_of(ctx, buf, 3);
    ck_assert_int_eq(sx_path_flip(&r.path, ctx, solver, 2, m), SX_SAT);
    ck_assert_uint_eq(r.path.sliced_away, 2);
    uint8_t fresh[64] = { m->bytes[0][0], m->bytes[0][1], m->bytes[0][2] };
    ck_assert_int_eq(target_independent(fresh), 1007);
    ck_assert_int_eq(fresh[0], 'x'); /* untouched: the seed's */
    sx_model_free(m);
    /* the same flip with whole prefixes agrees */
    r.path.no_slicing = true;
    m = model_of(ctx, buf, 3);
    ck_assert_int_eq(sx_path_flip(&r.path, ctx, solver, 2, m), SX_SAT);
    ck_assert_int_eq(m->bytes[0][2], 'c');
    sx_model_free(m);
    release(&r);
    sx_solver_free(solver);
    sx_ctx_free(ctx);
}
END_TEST


/* A switch compiled to a jump table: the loaded address (or target) depends on the
 * input and is pinned; flipping the pin gives an input that takes another case. */
START_TEST(jump_table_pins_are_flip_candidates)
{
    uint8_t buf[64] = { 3 };
    int seed_case = target_switch(buf);
    struct sx_ctx *ctx = sx_ctx_new();
    struct sx_solver *solver = sx_solver_new(ctx, NULL, 20000);
    struct concolic_run r;
    run_concolic(&r, target_switch, buf, 1, ctx);
    ck_assert_int_eq(r.result, seed_case);
    long pin = find_kind(&r.path, SX_FLIP_ADDRESS);
    if (pin < 0)
        pin = find_kind(&r.path, SX_FLIP_TARGET);
    long jump = find_kind(&r.path, SX_FLIP_JUMP); /* the bounds check before the table */
    ck_assert_msg(pin >= 0, "no pinned address or target recorded (%zu branch points)",
                  r.path.nbranches);
    struct sx_model *m = model_of(ctx, buf, 1);
    ck_assert_int_eq(sx_path_flip(&r.path, ctx, solver, (size_t)pin, m), SX_SAT);
    uint8_t fresh[64] = { m->bytes[0][0] };
    ck_assert_int_ne(fresh[0] & 7, 3);
    ck_assert_int_ne(target_switch(fresh), seed_case); /* another case */
    (void)jump;
    sx_model_free(m);
    release(&r);
    sx_solver_free(solver);
    sx_ctx_free(ctx);
}
END_TEST

START_TEST(solver_reports_unsat)
{
    struct sx_ctx *ctx = sx_ctx_new();
    struct sx_solver *solver = sx_solver_new(ctx, NULL, 10000);
    uint32_t in = sx_input_declare(ctx, "x", 1);
    const struct sx_expr *x = sx_input_byte(ctx, in, 0);
    const struct sx_expr *twice = sx_binop(ctx, SX_MUL, x, sx_const(ctx, 8, 2));
    const struct sx_expr *odd = sx_binop(ctx, SX_EQ, sx_extract(ctx, twice, 0, 1), sx_const(ctx, 1, 1));
    ck_assert_int_eq(sx_solver_check(solver, &odd, 1, NULL), SX_UNSAT);
    sx_solver_free(solver);
    sx_ctx_free(ctx);
}
END_TEST

/* A query too hard for the time limit comes back UNKNOWN, promptly and cleanly. */
START_TEST(solver_timeout_is_unknown)
{
    struct sx_ctx *ctx = sx_ctx_new();
    struct sx_solver *solver = sx_solver_new(ctx, "z3", 50);
    uint32_t in = sx_input_declare(ctx, "f", 16);
    const struct sx_expr *x = NULL, *y = NULL;
    for (int i = 7; i >= 0; i--) {
        const struct sx_expr *bx = sx_input_byte(ctx, in, (uint32_t)i);
        const struct sx_expr *by = sx_input_byte(ctx, in, (uint32_t)(8 + i));
        x = x ? sx_concat(ctx, x, bx) : bx;
        y = y ? sx_concat(ctx, y, by) : by;
    }
    /* Factor a 124-bit semiprime (two 62-bit primes) with 64-bit factors > 1. */
    sx_u128 n = (sx_u128)4611686018427387847ull * (sx_u128)4611686018427387817ull;
    const struct sx_expr *prod = sx_binop(ctx, SX_MUL, sx_zext(ctx, x, 128), sx_zext(ctx, y, 128));
    const struct sx_expr *q[3] = {
        sx_binop(ctx, SX_EQ, prod, sx_const(ctx, 128, n)),
        sx_binop(ctx, SX_ULT, sx_const(ctx, 64, 1), x),
        sx_binop(ctx, SX_ULT, sx_const(ctx, 64, 1), y),
    };
    ck_assert_int_eq(sx_solver_check(solver, q, 3, NULL), SX_UNKNOWN);
    ck_assert_uint_eq(sx_solver_stats(solver)->unknown, 1);
    ck_assert_msg(sx_solver_stats(solver)->seconds < 5, "timeout not honoured: %.1f s",
                  sx_solver_stats(solver)->seconds);
    sx_solver_free(solver);
    sx_ctx_free(ctx);
}
END_TEST

/* A fresh engine on this process's memory (or `mem`), for single-instruction tests. */
struct machine {
    struct sx_ctx *ctx;
    struct sx_shadow *sh;
    struct sx_path path;
    struct sx_state st;
};

static void machine_init(struct machine *m, const struct sx_mem_ops *mem)
{
    m->ctx = sx_ctx_new();
    m->sh = sx_shadow_new();
    sx_path_init(&m->path);
    sx_state_init(&m->st, m->ctx, mem, NULL, m->sh, &m->path);
}

static void machine_release(struct machine *m)
{
    sx_path_release(&m->path);
    sx_shadow_free(m->sh);
    sx_ctx_free(m->ctx);
}

/* An instruction the interpreter does not model, with a symbolic operand: the operand
 * is concretised with a recorded constraint, the run stops for native execution, and
 * the mnemonic is reported once. */
START_TEST(unmodelled_instruction_is_concretised_and_reported_once)
{
    static const uint8_t code[] = { 0xf2, 0x48, 0x0f, 0x38, 0xf1, 0xc3 }; /* crc32 rax, rbx */
    struct machine m;
    machine_init(&m, &sx_self_mem);
    struct sx_ctx *ctx = m.ctx;
    struct sx_state *st = &m.st;
    st->report = count_report;
    reports = 0;
    uint32_t in = sx_input_declare(ctx, "b", 1);
    for (int round = 0; round < 2; round++) {
        st->gpr[SX_RBX] = sx_v_make(sx_zext(ctx, sx_input_byte(ctx, in, 0), 64), 0x2a);
        st->rip = (uint64_t)code;
        ck_assert_int_eq(sx_step(st), SX_UNSUPPORTED);
        ck_assert_str_eq(st->last_mnemonic, "crc32");
        ck_assert_ptr_null(st->gpr[SX_RBX].e);       /* concretised ... */
        ck_assert_uint_eq((uint64_t)st->gpr[SX_RBX].c, 0x2a);
        ck_assert_uint_eq(st->rip, (uint64_t)code);  /* ... and left for the CPU */
    }
    ck_assert_uint_eq(m.path.n, 2); /* b == 0x2a, once per round */
    ck_assert_int_eq(reports, 1);
    machine_release(&m);
}
END_TEST

/* Another CPU writes the destination between the interpreter's read and its atomic
 * write: the cmpxchg fails once, and the instruction must be redone on the new value. */
static int racing_writes;
static int racing_cmpxchg(void *o, uint64_t addr, size_t len, uint64_t expected,
                          uint64_t desired, uint64_t *old)
{
    if (racing_writes-- > 0) {
        uint64_t v = 0;
        memcpy(&v, (void *)addr, len);
        v += 100; /* the other CPU's increment lands first */
        memcpy((void *)addr, &v, len);
    }
    return sx_self_cmpxchg(o, addr, len, expected, desired, old);
}

START_TEST(locked_rmw_is_redone_when_another_cpu_interferes)
{
    static const uint8_t code[] = { 0xf0, 0x48, 0x0f, 0xc1, 0x03 }; /* lock xadd [rbx], rax */
    static const struct sx_mem_ops racing = { sx_self_read, sx_self_write, racing_cmpxchg, NULL };
    static uint64_t counter = 5;
    struct machine m;
    machine_init(&m, &racing);
    struct sx_state *st = &m.st;
    st->gpr[SX_RBX] = sx_v(64, (uint64_t)&counter);
    st->gpr[SX_RAX] = sx_v(64, 1);
    st->rip = (uint64_t)code;
    racing_writes = 1;
    ck_assert_int_eq(sx_step(st), SX_OK);
    ck_assert_uint_eq(counter, 5 + 100 + 1);          /* both increments survive */
    ck_assert_uint_eq((uint64_t)st->gpr[SX_RAX].c, 105); /* xadd returns what it replaced */
    ck_assert_uint_eq(st->rip, (uint64_t)code + sizeof code);
    ck_assert_uint_eq(st->instructions, 1);
    machine_release(&m);
}
END_TEST

/* A load through a symbolic index that can reach a few addresses reads every one of
 * them: the value is exact for any input (a lookup table keeps all its entries), and no
 * constraint pins the index. */
START_TEST(symbolic_index_reads_every_entry)
{
    static const uint8_t code[] = { 0x48, 0x8b, 0x04, 0x0b }; /* mov rax, [rbx+rcx] */
    static uint64_t table[4] = { 11, 22, 33, 44 };
    struct machine m;
    machine_init(&m, &sx_self_mem);
    struct sx_ctx *ctx = m.ctx;
    struct sx_state *st = &m.st;
    uint32_t in = sx_input_declare(ctx, "i", 1);
    const struct sx_expr *i = sx_binop(ctx, SX_AND, sx_zext(ctx, sx_input_byte(ctx, in, 0), 64),
                                       sx_const(ctx, 64, 3));
    st->gpr[SX_RBX] = sx_v(64, (uint64_t)table);
    st->gpr[SX_RCX] = sx_v_make(sx_binop(ctx, SX_SHL, i, sx_const(ctx, 64, 3)), 16); /* i = 2 */
    st->rip = (uint64_t)code;
    ck_assert_int_eq(sx_step(st), SX_OK);
    ck_assert_uint_eq((uint64_t)st->gpr[SX_RAX].c, 33);
    ck_assert_ptr_nonnull(st->gpr[SX_RAX].e);
    ck_assert_uint_eq(m.path.n, 0);
    const uint32_t len[1] = { 1 };
    for (uint8_t v = 0; v < 8; v++) {
        const uint8_t *a[1] = { &v };
        ck_assert_uint_eq((uint64_t)sx_eval(ctx, st->gpr[SX_RAX].e, a, len), table[v & 3]);
    }
    machine_release(&m);
}
END_TEST

/* A load through a pointer that could be anywhere uses the concrete address and records
 * that the pointer had that value (a flip candidate for another address). */
START_TEST(wide_symbolic_address_is_concretised_with_constraint)
{
    static const uint8_t code[] = { 0x48, 0x8b, 0x04, 0x0b }; /* mov rax, [rbx+rcx] */
    static uint64_t table[4] = { 11, 22, 33, 44 };
    struct machine m;
    machine_init(&m, &sx_self_mem);
    struct sx_ctx *ctx = m.ctx;
    struct sx_state *st = &m.st;
    uint32_t in = sx_input_declare(ctx, "i", 4);
    const struct sx_expr *i32 = sx_concat(ctx, sx_concat(ctx, sx_input_byte(ctx, in, 3),
                                                        sx_input_byte(ctx, in, 2)),
                                          sx_concat(ctx, sx_input_byte(ctx, in, 1),
                                                    sx_input_byte(ctx, in, 0)));
    st->gpr[SX_RBX] = sx_v(64, (uint64_t)table);
    st->gpr[SX_RCX] = sx_v_make(sx_binop(ctx, SX_SHL, sx_zext(ctx, i32, 64), sx_const(ctx, 64, 3)),
                                16); /* i * 8, with i = 2 */
    st->rip = (uint64_t)code;
    ck_assert_int_eq(sx_step(st), SX_OK);
    ck_assert_uint_eq((uint64_t)st->gpr[SX_RAX].c, 33);
    ck_assert_uint_eq(m.path.n, 1);
    /* The constraint pins i to 2: i = 3 violates it, i = 2 satisfies it. */
    const uint8_t two[4] = { 2 }, three[4] = { 3 };
    const uint8_t *a2[1] = { two }, *a3[1] = { three };
    const uint32_t len[1] = { 4 };
    ck_assert_uint_eq((unsigned)sx_eval(ctx, m.path.constraints[0], a2, len), 1);
    ck_assert_uint_eq((unsigned)sx_eval(ctx, m.path.constraints[0], a3, len), 0);
    machine_release(&m);
}
END_TEST

/* Ring 0: a symbolic store onto the stack (the SX_RING0_STACK_BYTES block around RSP)
 * keeps only its concrete value, so the VMM never traps a page the CPU writes when it
 * delivers an event; elsewhere, and in ring 3, the store stays symbolic. */
START_TEST(ring0_stack_stores_stay_concrete)
{
    static const uint8_t to_stack[] = { 0x48, 0x89, 0x44, 0x24, 0x08 }; /* mov [rsp+8], rax */
    static const uint8_t to_rbx[] = { 0x48, 0x89, 0x03 };               /* mov [rbx], rax */
    static _Alignas(SX_RING0_STACK_BYTES) uint8_t stack[SX_RING0_STACK_BYTES];
    static uint64_t elsewhere;
    for (int ring0 = 0; ring0 < 2; ring0++) {
        struct machine m;
        machine_init(&m, &sx_self_mem);
        struct sx_state *st = &m.st;
        uint32_t in = sx_input_declare(m.ctx, "x", 1);
        st->ring0 = ring0;
        st->gpr[SX_RAX] = sx_v_make(sx_zext(m.ctx, sx_input_byte(m.ctx, in, 0), 64), 0x5a);
        st->gpr[SX_RSP] = sx_v(64, (uint64_t)stack + 4096);
        st->gpr[SX_RBX] = sx_v(64, (uint64_t)&elsewhere);
        st->rip = (uint64_t)to_stack;
        ck_assert_int_eq(sx_step(st), SX_OK);
        st->rip = (uint64_t)to_rbx;
        ck_assert_int_eq(sx_step(st), SX_OK);
        uint64_t on_stack;
        memcpy(&on_stack, stack + 4096 + 8, 8);
        ck_assert_uint_eq(on_stack, 0x5a); /* the concrete value is stored either way */
        ck_assert_uint_eq(elsewhere, 0x5a);
        const struct sx_expr *stacked = sx_shadow_get(m.sh, (uint64_t)stack + 4096 + 8);
        ck_assert_msg(ring0 ? stacked == NULL : stacked != NULL, "ring0 %d", ring0);
        ck_assert_ptr_nonnull(sx_shadow_get(m.sh, (uint64_t)&elsewhere));
        ck_assert_uint_eq(st->stack_cuts, (uint64_t)ring0);
        ck_assert_uint_eq(m.path.n, 0); /* no constraint pins the input */
        machine_release(&m);
    }
}
END_TEST

/* Hash-consing and folding: equal expressions are one node; constants fold. */
START_TEST(expressions_are_hash_consed_and_folded)
{
    struct sx_ctx *ctx = sx_ctx_new();
    uint32_t in = sx_input_declare(ctx, "x", 2);
    const struct sx_expr *a = sx_input_byte(ctx, in, 0), *b = sx_input_byte(ctx, in, 1);
    ck_assert_ptr_eq(sx_binop(ctx, SX_ADD, a, b), sx_binop(ctx, SX_ADD, b, a));
    ck_assert_ptr_eq(sx_binop(ctx, SX_XOR, a, a), sx_const(ctx, 8, 0));
    ck_assert_ptr_eq(sx_binop(ctx, SX_ADD, a, sx_const(ctx, 8, 0)), a);
    const struct sx_expr *c = sx_binop(ctx, SX_MUL, sx_const(ctx, 8, 7), sx_const(ctx, 8, 40));
    ck_assert(sx_is_const(c));
    ck_assert_uint_eq((unsigned)c->value, (7 * 40) & 0xff);
    const struct sx_expr *word = sx_concat(ctx, b, a);
    ck_assert_ptr_eq(sx_extract(ctx, word, 8, 8), b);
    ck_assert_ptr_eq(sx_extract(ctx, sx_zext(ctx, a, 32), 0, 8), a);
    /* zext(x) == 0x41 compares the byte itself */
    const struct sx_expr *eq = sx_binop(ctx, SX_EQ, sx_zext(ctx, a, 32), sx_const(ctx, 32, 0x41));
    ck_assert_ptr_eq(eq, sx_binop(ctx, SX_EQ, a, sx_const(ctx, 8, 0x41)));
    const uint8_t bytes[2] = { 0x41, 0x02 };
    const uint8_t *assign[1] = { bytes };
    const uint32_t lens[1] = { 2 };
    ck_assert_uint_eq((unsigned)sx_eval(ctx, eq, assign, lens), 1);
    ck_assert_uint_eq((unsigned)sx_eval(ctx, word, assign, lens), 0x0241);
    char text[128];
    sx_expr_print(sx_binop(ctx, SX_ADD, a, b), ctx, text, sizeof text);
    ck_assert_str_eq(text, "(bvadd x[0] x[1])");
    sx_ctx_free(ctx);
}
END_TEST


/* The query corpus: a flip of real code, written as SMT-LIB by the solver layer, reads
 * back into another context as the same formulas (equal values under many inputs), and
 * every backend's answer to the read copy still drives the CPU down the other branch. */
START_TEST(a_query_written_as_smtlib_reads_back_and_solves_alike)
{
    uint8_t buf[64] = { 0 };
    struct sx_ctx *ctx = sx_ctx_new();
    struct sx_solver *solver = sx_solver_new(ctx, NULL, 20000);
    char dir[] = "/tmp/symhv-corpus-XXXXXX";
    ck_assert_ptr_nonnull(mkdtemp(dir));
    struct sx_query_dump dump = { .max_queries = 10, .max_bytes = 1 << 20, .request = 1 };
    snprintf(dump.dir, sizeof dump.dir, "%s", dir);
    sx_solver_set_dump(solver, &dump);
    struct concolic_run r;
    run_concolic(&r, target_checksum, buf, 8, ctx);
    size_t last = r.path.nbranches - 1;
    struct sx_model *m = model_of(ctx, buf, 8);
    ck_assert_int_eq(sx_path_flip(&r.path, ctx, solver, last, m), SX_SAT);
    sx_model_free(m);
    ck_assert(!dump.failed);
    ck_assert_uint_eq(dump.written, 1);

    char path[512];
    snprintf(path, sizeof path, "%s/r00001-q000000.smt2", dir);
    FILE *f = fopen(path, "r");
    ck_assert_ptr_nonnull(f);
    struct sx_ctx *copy = sx_ctx_new();
    const struct sx_expr **c = NULL;
    size_t n = 0;
    char err[256];
    ck_assert_msg(sx_smtlib_read(f, copy, &c, &n, err, sizeof err) == 0, "%s", err);
    fclose(f);
    ck_assert_uint_ge(n, 1);
    ck_assert_str_eq(sx_input_get(copy, 0)->name, "buf");
    ck_assert_uint_eq(sx_input_get(copy, 0)->size, 8);
    /* The read formulas mean what the CPU does: true exactly for the inputs that take the
     * other branch, checked on the solver's answer and on 64 one-byte changes of it. */
    struct sx_solver *first = sx_solver_new(copy, NULL, 20000);
    struct sx_model *answer = sx_model_new(copy, NULL);
    ck_assert_int_eq(sx_solver_check(first, c, n, answer), SX_SAT);
    for (int k = 0; k <= 64; k++) {
        uint8_t bytes[64] = { 0 };
        memcpy(bytes, answer->bytes[0], 8);
        if (k)
            bytes[(k - 1) % 8] ^= (uint8_t)(1u << ((k - 1) / 8));
        const uint8_t *assign[1] = { bytes };
        const uint32_t lens[1] = { 8 };
        sx_u128 all = 1;
        for (size_t i = 0; i < n; i++)
            all &= sx_eval(copy, c[i], assign, lens);
        ck_assert_msg((all != 0) == (target_checksum(bytes) == 1004),
                      "change %d: the formula says %d, the CPU returns %d", k, (int)all,
                      target_checksum(bytes));
    }
    sx_model_free(answer);
    sx_solver_free(first);
    for (size_t b = 0; b < sizeof single_backends / sizeof single_backends[0]; b++) {
        struct sx_solver *s2 = sx_solver_new(copy, single_backends[b], 20000);
        ck_assert_ptr_nonnull(s2);
        struct sx_model *m2 = sx_model_new(copy, NULL);
        ck_assert_int_eq(sx_solver_check(s2, c, n, m2), SX_SAT);
        uint8_t fresh[64] = { 0 };
        memcpy(fresh, m2->bytes[0], 8);
        ck_assert_msg(target_checksum(fresh) == 1004, "%s: the read copy's model misses",
                      single_backends[b]);
        sx_model_free(m2);
        sx_solver_free(s2);
    }
    free(c);
    unlink(path);
    rmdir(dir);
    sx_ctx_free(copy);
    release(&r);
    sx_solver_free(solver);
    sx_ctx_free(ctx);
}
END_TEST

/* A corpus file may come from elsewhere: every malformed line is refused with its line
 * number, nothing is built from it, and nothing crashes. */
START_TEST(a_malformed_query_file_is_refused_with_its_line)
{
    static const char *const bad[] = {
        "(define-fun e0 () (_ BitVec 8) i0.0)\n",                       /* no header */
        "; symhv query: 1 constraints, 1 nodes\n(define-fun e1 () (_ BitVec 8) (_ bv1 8))\n",
        "; symhv query:\n(define-fun e0 () (_ BitVec 8) (_ bv256 8))\n", /* too wide */
        "; symhv query:\n(define-fun e0 () (_ BitVec 8) (bvadd e0 e0))\n", /* self */
        "; symhv query:\n(define-fun e0 () (_ BitVec 8) i0.0)\n",          /* no input */
        "; symhv query:\n; input 0 4 x\n(define-fun e0 () (_ BitVec 8) i0.4)\n", /* past end */
        "; symhv query:\n; input 0 4 x\n(define-fun e0 () (_ BitVec 8) i0.1)\n"
        "(define-fun e1 () (_ BitVec 16) (bvadd e0 e0))\n",             /* width */
        "; symhv query:\n(define-fun e0 () (_ BitVec 129) (_ bv1 129))\n",
        "; symhv query:\n(define-fun e0 () (_ BitVec 8) (_ bv1 8))\n"
        "(define-fun e1 () (_ BitVec 8) ((_ extract 9 2) e0))\n",
        "; symhv query:\n(define-fun e0 () (_ BitVec 8) (_ bv1 8))\n(assert (= e0 #b1))\n",
        "; symhv query:\n(assert (= e99999999999 #b1))\n",
        "; symhv query:\n(push 1)\n",
        "; symhv query:\n; input 1 4 x\n",                                 /* out of order */
        "; symhv query:\n(define-fun e0 () (_ BitVec 8) (_ bv1 8 ( ( ( ( ( ( ( ( ( ( ( ( ( ( ( ( ( ( ( ( ( ( ( ( ( ( ( ( (\n",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct sx_ctx *ctx = sx_ctx_new();
        FILE *f = fmemopen((void *)bad[i], strlen(bad[i]), "r");
        const struct sx_expr **c = NULL;
        size_t n = 0;
        char err[256] = "";
        ck_assert_msg(sx_smtlib_read(f, ctx, &c, &n, err, sizeof err) == -1,
                      "case %zu was accepted", i);
        ck_assert_msg(strncmp(err, "line ", 5) == 0, "case %zu: '%s'", i, err);
        fclose(f);
        sx_ctx_free(ctx);
    }
}
END_TEST

struct other_thread { struct sx_ctx *ctx; const struct sx_expr *made; };
static void *build_elsewhere(void *arg)
{
    struct other_thread *o = arg;
    o->made = sx_binop(o->ctx, SX_XOR, sx_input_byte(o->ctx, 0, 1), sx_const(o->ctx, 8, 0x5a));
    return NULL;
}

/* Threads take node ids in blocks, so an expression built on one thread over a node of
 * another can have the smaller id: the file still names operands before their users,
 * and reads back. */
START_TEST(a_query_over_nodes_of_two_threads_reads_back)
{
    struct sx_ctx *ctx = sx_ctx_new();
    sx_input_declare(ctx, "buf", 4);
    const struct sx_expr *mine = sx_input_byte(ctx, 0, 0); /* this thread's block */
    struct other_thread o = { ctx, NULL };
    pthread_t t;
    ck_assert_int_eq(pthread_create(&t, NULL, build_elsewhere, &o), 0);
    pthread_join(t, NULL);
    const struct sx_expr *sum = sx_binop(ctx, SX_ADD, mine, o.made);
    ck_assert_uint_lt(sum->id, o.made->id); /* the case: a user older than its operand */
    const struct sx_expr *c[1] = { sx_binop(ctx, SX_EQ, sum, sx_const(ctx, 8, 0x99)) };
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    ck_assert(sx_smtlib_write(f, ctx, c, 1));
    fclose(f);
    struct sx_ctx *copy = sx_ctx_new();
    f = fmemopen(text, len, "r");
    const struct sx_expr **rc = NULL;
    size_t n = 0;
    char err[256];
    ck_assert_msg(sx_smtlib_read(f, copy, &rc, &n, err, sizeof err) == 0, "%s\n%s", err, text);
    fclose(f);
    ck_assert_uint_eq(n, 1);
    for (unsigned x = 0; x < 256; x += 7) {
        uint8_t bytes[4] = { (uint8_t)x, (uint8_t)(x * 3), 0, 0 };
        const uint8_t *assign[1] = { bytes };
        const uint32_t lens[1] = { 4 };
        ck_assert_uint_eq((unsigned)sx_eval(copy, rc[0], assign, lens),
                          (unsigned)sx_eval(ctx, c[0], assign, lens));
    }
    free(rc);
    free(text);
    sx_ctx_free(copy);
    sx_ctx_free(ctx);
}
END_TEST

/* A CRC through its table: four reads at input-dependent indexes. Each read is a tree
 * of ites on the index's bits, 8 deep; the solver inverts the CRC through it, and the
 * CPU confirms. As a chain of 256 address compares a read (kept for comparisons), the
 * fourth read is past the depth bound: the value is pinned and nothing can flip. */
START_TEST(table_reads_are_trees_on_the_index_and_a_table_crc_inverts)
{
    for (int chain = 0; chain <= 1; chain++) {
        uint8_t buf[64] = { 0 };
        ck_assert_int_eq(target_crc_table(buf), 0);
        struct sx_ctx *ctx = sx_ctx_new();
        struct sx_solver *solver = sx_solver_new(ctx, NULL, 60000);
        struct concolic_run r;
        r.ctx = ctx;
        r.shadow = sx_shadow_new();
        sx_path_init(&r.path);
        r.path.select_chain = chain;
        /* run_concolic_with's loop, with the path's mode set first */
        sx_state_init(&r.st, ctx, &sx_self_mem, NULL, r.shadow, &r.path);
        r.st.report = count_report;
        r.input = sx_input_declare(ctx, "buf", 4);
        sx_make_symbolic(&r.st, (uint64_t)buf, 4, r.input);
        uint64_t sp = (uint64_t)(stack_area + STACK_BYTES - 64) - 8;
        memcpy((void *)sp, &(uint64_t){ RETURN_MAGIC }, 8);
        r.st.gpr[SX_RSP] = sx_v(64, sp);
        r.st.gpr[SX_RDI] = sx_v(64, (uint64_t)buf);
        r.st.rip = (uint64_t)target_crc_table;
        for (long steps = 0; r.st.rip != RETURN_MAGIC; steps++) {
            ck_assert_int_eq(sx_step(&r.st), SX_OK);
            ck_assert(steps < 1000000);
        }
        ck_assert_int_eq((int)r.st.gpr[SX_RAX].c, 0);
        if (chain) {
            /* 256 compares deep a read: past SX_MAX_DEPTH by the fourth, the value is
             * pinned to its concrete one (a constraint) and the check is no branch */
            ck_assert_uint_eq(r.path.nbranches, 0);
            ck_assert_uint_ge(r.path.n, 1);
            release(&r);
            sx_solver_free(solver);
            sx_ctx_free(ctx);
            continue;
        }
        ck_assert_uint_ge(r.path.nbranches, 1);
        size_t last = r.path.nbranches - 1;
        ck_assert_msg(r.path.branches[last].taken->depth < 100, "tree: depth %u",
                      r.path.branches[last].taken->depth);
        struct sx_model *m = model_of(ctx, buf, 4);
        ck_assert_int_eq(sx_path_flip(&r.path, ctx, solver, last, m), SX_SAT);
        uint8_t fresh[64] = { 0 };
        memcpy(fresh, m->bytes[0], 4);
        ck_assert_msg(target_crc_table(fresh) == 1014, "the answer misses");
        sx_model_free(m);
        release(&r);
        sx_solver_free(solver);
        sx_ctx_free(ctx);
    }
}
END_TEST

int main(void)
{
    Suite *s = suite_create("symex-solver");
    TCase *tc = tcase_create("solver");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, expressions_are_hash_consed_and_folded);
    tcase_add_test(tc, solver_flips_linear_equation);
    tcase_add_test(tc, solver_flips_64bit_magic);
    tcase_add_test(tc, solver_flips_checksum_loop);
    tcase_add_test(tc, solver_flips_sse_compare);
    tcase_add_test(tc, every_backend_flips_branches);
    tcase_add_test(tc, concolic_search_finds_bytewise_magic);
    tcase_add_test(tc, solver_reports_unsat);
    tcase_add_test(tc, optimistic_solving_keeps_the_decisions_and_drops_the_pins);
    tcase_add_test(tc, division_and_setcc_are_flip_candidates);
    tcase_add_test(tc, flip_queries_are_sliced_to_the_bytes_involved);
    tcase_add_test(tc, jump_table_pins_are_flip_candidates);
    tcase_add_test(tc, solver_timeout_is_unknown);
    tcase_add_test(tc, unmodelled_instruction_is_concretised_and_reported_once);
    tcase_add_test(tc, locked_rmw_is_redone_when_another_cpu_interferes);
    tcase_add_test(tc, symbolic_index_reads_every_entry);
    tcase_add_test(tc, wide_symbolic_address_is_concretised_with_constraint);
    tcase_add_test(tc, ring0_stack_stores_stay_concrete);
    tcase_add_test(tc, hot_branches_are_pruned_and_the_check_behind_them_flips);
    tcase_add_test(tc, branch_sides_are_told_apart_by_their_callers);
    tcase_add_test(tc, a_jump_reading_another_byte_is_another_side);
    tcase_add_test(tc, pruning_counts_each_caller_of_a_helper_apart);
    tcase_add_test(tc, a_long_query_beats_while_it_is_prepared);
    tcase_add_test(tc, a_query_written_as_smtlib_reads_back_and_solves_alike);
    tcase_add_test(tc, a_malformed_query_file_is_refused_with_its_line);
    tcase_add_test(tc, a_query_over_nodes_of_two_threads_reads_back);
    tcase_add_test(tc, table_reads_are_trees_on_the_index_and_a_table_crc_inverts);
    suite_add_tcase(s, tc);
#ifndef SYMHV_HAVE_BITWUZLA
    printf("NOT RUN: symex-solver: the Bitwuzla backend's tests (this build has none: "
           "scripts/bitwuzla could not build it)\n");
#endif
    return run_suite(s);
}
