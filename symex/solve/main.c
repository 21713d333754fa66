/* symhv-solve: run a query corpus (SMT-LIB files that symhv-symex wrote, see smtlib.h)
 * through one of symhv's solver backends, as the sidecar would have: the files of one
 * directory share one expression context, and the queries of one request (rNNNNN-...)
 * one solver, in name order. Every model is checked against its query. With
 * --first-timeout, each request's queries run in the sidecar's two passes; with
 * --budget, the run stops asking when its solver time is spent, as a FINISH does. */
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "model.h"
#include "smtlib.h"
#include "solver.h"

struct totals {
    unsigned long queries, sat, unsat, unknown, wrong, unreadable;
    unsigned long deferred, unasked; /* --first-timeout: cut short, asked again; --budget */
    double seconds, max_seconds;
};

static double clock_s(clockid_t which)
{
    struct timespec t;
    clock_gettime(which, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}
static double now(void) { return clock_s(CLOCK_MONOTONIC); }

static int by_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Does the model satisfy every constraint? */
static bool model_holds(struct sx_ctx *ctx, const struct sx_model *m,
                        const struct sx_expr *const *c, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!sx_eval(ctx, c[i], (const uint8_t *const *)m->bytes, m->lengths))
            return false;
    return true;
}

struct run {
    const char *backend;
    unsigned timeout_ms;
    unsigned first_timeout_ms; /* 0: one pass */
    unsigned first_final_ms;   /* the first timeout doubled to, as the sidecar does (0: not) */
    double budget_s;           /* 0: none */
    bool tsv;
    struct totals t;
    struct sx_member_tally tally;
};

/* A solver of the asked backend, or the process ends with a one-line reason. */
static struct sx_solver *solver_or_exit(struct sx_ctx *ctx, const struct run *run,
                                        unsigned timeout_ms)
{
    struct sx_solver *s = sx_solver_new(ctx, run->backend, timeout_ms);
    if (!s) {
        fprintf(stderr, "symhv-solve: solver '%s' unknown or unable to start (this build has: "
                "%s)\n", run->backend, sx_solver_backend_names());
        exit(2);
    }
    return s;
}

/* One query: its verdict (SX_UNKNOWN too for a file that cannot be read). With `defer`
 * (the first of two passes), an unknown is not counted: the caller asks it again. */
static enum sx_sat solve_file(struct run *run, struct sx_ctx *ctx, struct sx_solver *solver,
                              const char *path, bool defer)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        fprintf(stderr, "symhv-solve: %s: %s\n", path, strerror(errno));
        run->t.unreadable++;
        return SX_UNKNOWN;
    }
    const struct sx_expr **c = NULL;
    size_t n = 0;
    char err[320];
    int rc = sx_smtlib_read(f, ctx, &c, &n, err, sizeof err);
    fclose(f);
    if (rc) {
        fprintf(stderr, "symhv-solve: %s: %s\n", path, err);
        run->t.unreadable++;
        return SX_UNKNOWN;
    }
    struct sx_model *m = sx_model_new(ctx, NULL);
    double t0 = now();
    enum sx_sat r = sx_solver_check(solver, c, n, m);
    double dt = now() - t0;
    run->t.queries += !defer || r != SX_UNKNOWN;
    run->t.seconds += dt;
    if (dt > run->t.max_seconds)
        run->t.max_seconds = dt;
    const char *verdict = "unknown";
    if (r == SX_SAT) {
        verdict = "sat";
        run->t.sat++;
        if (!model_holds(ctx, m, c, n)) {
            verdict = "sat-wrong-model";
            run->t.wrong++;
        }
    } else if (r == SX_UNSAT) {
        verdict = "unsat";
        run->t.unsat++;
    } else if (defer) {
        verdict = "deferred";
        run->t.deferred++;
    } else {
        run->t.unknown++;
    }
    if (run->tsv)
        printf("%s\t%s\t%s\t%.6f\n", path, run->backend, verdict, dt);
    sx_model_free(m);
    free(c);
    return r;
}

/* Its portfolio tally into the run's, then freed. */
static void solver_done(struct run *run, struct sx_solver *solver)
{
    sx_solver_tally(solver, &run->tally);
    sx_solver_free(solver);
}

static bool budget_spent(const struct run *run)
{
    return run->budget_s > 0 && run->t.seconds >= run->budget_s;
}

/* One request's queries (names[0..n), in dir), in one pass or in the sidecar's two: all
 * with the first timeout, then the ones it cut short with the full one. */
static void solve_request(struct run *run, struct sx_ctx *ctx, const char *dir, char **names,
                          size_t n)
{
    bool two = run->first_timeout_ms && run->first_timeout_ms < run->timeout_ms;
    struct sx_solver *solver = solver_or_exit(ctx, run, two ? run->first_timeout_ms
                                                            : run->timeout_ms);
    size_t *deferred = malloc((n ? n : 1) * sizeof *deferred), ndeferred = 0, i = 0;
    if (!deferred) {
        fprintf(stderr, "symhv-solve: out of memory\n");
        exit(1);
    }
    char path[8192];
    unsigned first_ms = run->first_timeout_ms;
    size_t asked = 0, cut = 0; /* at first_ms: the sidecar's rule for doubling it */
    for (; i < n && !budget_spent(run); i++) {
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        uint64_t too_large = sx_solver_stats(solver)->too_large;
        asked++;
        if (solve_file(run, ctx, solver, path, two) == SX_UNKNOWN && two) {
            if (sx_solver_stats(solver)->too_large != too_large) {
                /* too large for any timeout: an unknown, as the sidecar counts it */
                run->t.deferred--;
                run->t.unknown++;
                run->t.queries++;
                continue;
            }
            deferred[ndeferred++] = i;
            if (++cut * 4 > asked && asked >= 8 && 2 * first_ms < run->timeout_ms) {
                first_ms *= 2;
                solver_done(run, solver);
                solver = solver_or_exit(ctx, run, first_ms);
                asked = cut = 0;
            }
        }
    }
    if (two && first_ms != run->first_timeout_ms)
        run->first_final_ms = first_ms;
    run->t.unasked += n - i;
    solver_done(run, solver);
    if (ndeferred) {
        solver = solver_or_exit(ctx, run, run->timeout_ms);
        size_t k = 0;
        for (; k < ndeferred && !budget_spent(run); k++) {
            snprintf(path, sizeof path, "%s/%s", dir, names[deferred[k]]);
            solve_file(run, ctx, solver, path, false);
        }
        run->t.unasked += ndeferred - k;
        solver_done(run, solver);
    }
    free(deferred);
}

/* A directory's files in name order, a new solver for each request prefix. */
static int solve_dir(struct run *run, const char *dir)
{
    DIR *d = opendir(dir);
    if (!d) {
        fprintf(stderr, "symhv-solve: %s: %s\n", dir, strerror(errno));
        return -1;
    }
    char **names = NULL;
    size_t n = 0, cap = 0;
    for (struct dirent *e; (e = readdir(d));) {
        size_t len = strlen(e->d_name);
        if (len < 6 || strcmp(e->d_name + len - 5, ".smt2") != 0)
            continue;
        if (n == cap) {
            cap = cap ? 2 * cap : 256;
            char **t = realloc(names, cap * sizeof *t);
            if (!t) {
                fprintf(stderr, "symhv-solve: out of memory listing %s\n", dir);
                exit(1);
            }
            names = t;
        }
        names[n++] = strdup(e->d_name);
    }
    closedir(d);
    if (n)
        qsort(names, n, sizeof *names, by_name);
    struct sx_ctx *ctx = sx_ctx_new();
    for (size_t i = 0; i < n;) { /* a request: the names up to their first '-' alike */
        const char *dash = strchr(names[i], '-');
        size_t plen = dash ? (size_t)(dash - names[i]) : 0, j = i + 1;
        while (j < n && plen && strncmp(names[j], names[i], plen) == 0 && names[j][plen] == '-')
            j++;
        solve_request(run, ctx, dir, names + i, j - i);
        i = j;
    }
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
    sx_ctx_free(ctx);
    return 0;
}

static void usage(FILE *out)
{
    fprintf(out,
            "usage: symhv-solve [OPTIONS] DIR|FILE...\n"
            "Run solver queries that symhv-symex wrote (SYMHV_SYMEX_QUERY_DIR) through one of\n"
            "symhv's solver backends, as the sidecar would: the files of one directory share\n"
            "one expression context, each request's queries (rNNNNN-...) one solver, in name\n"
            "order. Every model is checked against its query.\n"
            "  --solver NAME   one of: %s (default z3)\n"
            "  --timeout MS    per query (default 10000, symhv's default)\n"
            "  --first-timeout MS  two passes per request, as the sidecar asks: every query\n"
            "                  with this timeout (doubled while it cuts short more than a\n"
            "                  quarter), then the ones it cut short with --timeout\n"
            "                  (default 0: one pass, as the sidecar's)\n"
            "  --budget SEC    stop when this much solver time is spent (as --solve-budget);\n"
            "                  the queries left are counted unasked\n"
            "  --tsv           one line per query: file, solver, verdict, seconds\n"
            "  -h, --help      this text\n"
            "Prints: queries, sat, unsat, unknown, wrong models, seconds in all (wall, in the\n"
            "solver), the longest, and the process's CPU seconds (all threads: reading and\n"
            "checking too).\n"
            "Exit status 1 when a model was wrong or a file unreadable.\n",
            sx_solver_backend_names());
}

int main(int argc, char **argv)
{
    struct run run = { .backend = "z3", .timeout_ms = 10000 };
    static const struct option opts[] = { { "solver", required_argument, NULL, 's' },
                                          { "timeout", required_argument, NULL, 't' },
                                          { "tsv", no_argument, NULL, 'v' },
                                          { "first-timeout", required_argument, NULL, 'f' },
                                          { "budget", required_argument, NULL, 'b' },
                                          { "help", no_argument, NULL, 'h' },
                                          { NULL, 0, NULL, 0 } };
    for (int c; (c = getopt_long(argc, argv, "h", opts, NULL)) != -1;) {
        switch (c) {
        case 's': run.backend = optarg; break;
        case 't':
        case 'f': {
            char *end;
            errno = 0;
            unsigned long v = strtoul(optarg, &end, 10);
            if (errno || *end || end == optarg || (c == 't' && v == 0) || v > 3600000) {
                fprintf(stderr, "symhv-solve: --%s expects milliseconds (%d to 3600000), got "
                        "'%s'\n", c == 't' ? "timeout" : "first-timeout", c == 't', optarg);
                return 2;
            }
            *(c == 't' ? &run.timeout_ms : &run.first_timeout_ms) = (unsigned)v;
            break;
        }
        case 'b': {
            char *end;
            run.budget_s = strtod(optarg, &end);
            if (*end || end == optarg || !(run.budget_s >= 0) || run.budget_s > 1e6) {
                fprintf(stderr, "symhv-solve: --budget expects seconds (0: none), got '%s'\n",
                        optarg);
                return 2;
            }
            break;
        }
        case 'v': run.tsv = true; break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
    }
    if (optind == argc) {
        usage(stderr);
        return 2;
    }
    {
        struct sx_ctx *probe = sx_ctx_new(); /* refused before any file is read */
        sx_solver_free(solver_or_exit(probe, &run, run.timeout_ms));
        sx_ctx_free(probe);
    }
    double cpu0 = clock_s(CLOCK_PROCESS_CPUTIME_ID); /* every thread's: a portfolio uses two */
    for (int i = optind; i < argc; i++) {
        struct stat st;
        if (stat(argv[i], &st) != 0) {
            fprintf(stderr, "symhv-solve: %s: %s\n", argv[i], strerror(errno));
            run.t.unreadable++;
        } else if (S_ISDIR(st.st_mode)) {
            solve_dir(&run, argv[i]);
        } else {
            struct sx_ctx *ctx = sx_ctx_new();
            char *slash = strrchr(argv[i], '/'), *name = slash ? slash + 1 : argv[i];
            char dir[4096];
            snprintf(dir, sizeof dir, "%.*s", slash ? (int)(slash - argv[i]) : 1,
                     slash ? argv[i] : ".");
            solve_request(&run, ctx, dir, &name, 1);
            sx_ctx_free(ctx);
        }
    }
    printf("solver %s: %lu queries, sat %lu, unsat %lu, unknown %lu, wrong models %lu, "
           "unreadable %lu, %.3f s in all, longest %.3f s, cpu %.3f s\n",
           run.backend, run.t.queries, run.t.sat, run.t.unsat, run.t.unknown, run.t.wrong,
           run.t.unreadable, run.t.seconds, run.t.max_seconds,
           clock_s(CLOCK_PROCESS_CPUTIME_ID) - cpu0);
    if (run.first_timeout_ms || run.budget_s > 0)
        printf("solver %s: first timeout %u ms (doubled to %u), %lu cut short and asked again; "
               "budget %.1f s, %lu queries unasked\n", run.backend, run.first_timeout_ms,
               run.first_final_ms ? run.first_final_ms : run.first_timeout_ms, run.t.deferred,
               run.budget_s, run.t.unasked);
    if (run.tally.nmembers) {
        printf("solver %s: first answers", run.backend);
        for (unsigned i = 0; i < run.tally.nmembers; i++)
            printf("%s %s %llu", i ? "," : "", run.tally.name[i],
                   (unsigned long long)run.tally.first[i]);
        printf("; missed while busy");
        for (unsigned i = 0; i < run.tally.nmembers; i++)
            printf("%s %s %llu", i ? "," : "", run.tally.name[i],
                   (unsigned long long)run.tally.missed[i]);
        printf("; overran the deadline");
        for (unsigned i = 0; i < run.tally.nmembers; i++)
            printf("%s %s %llu", i ? "," : "", run.tally.name[i],
                   (unsigned long long)run.tally.overrun[i]);
        printf("; undecided %llu\n", (unsigned long long)run.tally.undecided);
    }
    return run.t.wrong || run.t.unreadable ? 1 : 0;
}
