/* realworld: software built the way users build it for fuzzing, under symhv fuzz and
 * cmin: an AFL++ build (afl-clang-fast -static) with its own coverage map, which
 * symhv's kernel hands the AFL++ runtime through __AFL_SHM_ID, and its CMPLOG build
 * (-c); a C++ libFuzzer target
 * (std::string, strtol) built with symhv-c++ on static glibc and libstdc++; a C target
 * built with symhv-cc on musl. */
#include <check.h>
#include "check_main.h"
#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "symhv_run.h"

static const char *program(const char *name)
{
    static char path[4][512];
    static unsigned next;
    char *p = path[next++ % 4];
    const char *dir = getenv("REALWORLD_DIR");
    ck_assert_msg(dir, "REALWORLD_DIR is not set (run through meson test)");
    snprintf(p, sizeof path[0], "%s/%s", dir, name);
    return p;
}

static void write_seed(const char *dir, const char *name, const char *bytes)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    ck_assert_ptr_nonnull(f);
    fputs(bytes, f);
    ck_assert_int_eq(fclose(f), 0);
}

/* How many files in dir have `part` in their name (any file when part is NULL). */
static int files_named(const char *dir, const char *part, char *first, size_t first_size)
{
    DIR *d = opendir(dir);
    ck_assert_msg(d != NULL, "%s is missing", dir);
    int n = 0;
    for (struct dirent *e; (e = readdir(d));) {
        if (e->d_name[0] == '.' || strcmp(e->d_name, "README.txt") == 0)
            continue;
        if (part && !strstr(e->d_name, part))
            continue;
        if (n++ == 0 && first)
            snprintf(first, first_size, "%s/%s", dir, e->d_name);
    }
    closedir(d);
    return n;
}

static void says_coverage(const char *out, const char *kind)
{
    char *stats = read_output_file(out, "fuzzer_stats", NULL), want[64];
    snprintf(want, sizeof want, "coverage          : %s\n", kind);
    ck_assert_contains(stats, want);
    free(stats);
}

/* The program run natively on `file` ends by this signal (0: exits with status 0). */
static void native_run_ends_by(const char *prog, const char *file, int sig)
{
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        int null = open("/dev/null", 1);
        dup2(null, 1), dup2(null, 2);
        execl(prog, prog, file, (char *)NULL);
        _exit(127);
    }
    int st;
    ck_assert_int_eq(waitpid(pid, &st, 0), pid);
    if (sig)
        ck_assert_msg(WIFSIGNALED(st) && WTERMSIG(st) == sig, "%s %s: status 0x%x", prog, file, st);
    else
        ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0, "%s %s: status 0x%x", prog, file, st);
}

/* With the solver and the compare log off, mutation alone grows the queue of `prog`
 * (its input a file named by @@, or stdin when `on_stdin`), whose coverage is `coverage`
 * (fuzzer_stats' name); r keeps the run's output. */
static void mutation_grows_the_queue_of(const char *prog, bool on_stdin, const char *coverage,
                                        const char *out, struct run_result *r)
{
    const char *seeds = test_temp_dir();
    write_seed(seeds, "seed", "hello, world");
    run_symhv(r, (const char *const[]){ "fuzz", "-i", seeds, "-o", out, "--concolic-every", "0",
                                        "--no-cmplog", "--max-execs", "1500", "--rng-seed", "5",
                                        "--", prog, on_stdin ? NULL : "@@", NULL });
    ck_assert_msg(r->status == 0, "status %d\n%s", r->status, r->err);
    says_coverage(out, coverage);
    char queue[600];
    snprintf(queue, sizeof queue, "%s/queue", out);
    int grown = files_named(queue, "src:mutation", NULL, 0);
    ck_assert_msg(grown >= 1, "the queue did not grow by mutation:\n%s", r->err);
    ck_assert_int_eq(files_named(queue, "src:solver", NULL, 0), 0);
    ck_assert_msg(output_value(out, "fuzzer_stats", "edges_found") > 5, "%s", r->err);
}

static void mutation_grows_the_queue(const char *prog, const char *coverage, const char *out,
                                     struct run_result *r)
{
    mutation_grows_the_queue_of(prog, false, coverage, out, r);
}

/* An AFL++ build's own map is the coverage. */
START_TEST(an_afl_build_brings_its_own_map)
{
    struct run_result r;
    mutation_grows_the_queue(program("rw_afl_branches"), "afl-map", test_temp_dir(), &r);
    ck_assert_contains(r.err, "(afl-map)");
    run_result_free(&r);
}
END_TEST

/* An AFL++ harness in persistent mode with shared-memory test cases: without afl-fuzz's
 * fork server, AFL++'s runtime runs its loop once per execution on the test case read
 * from stdin, so each execution from the snapshot is one pass; its map is the coverage,
 * and a pass does not run on into a second one (the program says how many it made). */
START_TEST(a_persistent_mode_harness_runs_one_pass_per_execution)
{
    struct run_result r;
    const char *out = test_temp_dir();
    mutation_grows_the_queue_of(program("rw_afl_persistent"), true, "afl-map", out, &r);
    ck_assert_contains(r.err, "(afl-map)");
    run_result_free(&r);
    char queue[600], entry[1200];
    snprintf(queue, sizeof queue, "%s/queue", out);
    ck_assert_int_ge(files_named(queue, "src:mutation", entry, sizeof entry), 1);
    run_symhv(&r, (const char *const[]){ "replay", entry, "--timeout", "120", NULL });
    ck_assert_msg(r.status == 0, "replay status %d\n%s", r.status, r.err);
    ck_assert_contains(r.out, "passes 1\n");
    run_result_free(&r);
}
END_TEST

/* The same parser built plainly (musl _i 0, glibc _i 1, glibc static-pie _i 2, which
 * symhv's kernel loads away from the ELF's addresses): binary-only coverage, an int3 at
 * each basic block removed at its first hit; mutation alone grows the queue, and no
 * breakpoint breaks the program (no crash). */
START_TEST(a_plain_build_gets_binary_only_coverage)
{
    static const char *const builds[] = { "rw_plain_branches_musl", "rw_plain_branches_glibc",
                                          "rw_plain_branches_pie" };
    const char *out = test_temp_dir();
    struct run_result r;
    mutation_grows_the_queue(program(builds[_i]), "breakpoints", out, &r);
    ck_assert_contains(r.err, "binary-only coverage: an int3 at each of");
    ck_assert_msg(output_value(out, "fuzzer_stats", "saved_crashes") == 0, "%s", r.err);
    run_result_free(&r);
    const char *seeds = test_temp_dir();
    write_seed(seeds, "seed", "hello, world");
    /* --no-breakpoints: none (the coverage is the symbolic sides, none without the solver) */
    out = test_temp_dir();
    run_symhv(&r, (const char *const[]){ "fuzz", "-i", seeds, "-o", out, "--concolic-every", "0",
                                         "--no-breakpoints", "--max-execs", "20", "--",
                                         program("rw_plain_branches_musl"), "@@", NULL });
    ck_assert_msg(r.status == 0, "status %d\n%s", r.status, r.err);
    ck_assert(strstr(r.err, "binary-only coverage: an int3") == NULL);
    ck_assert(output_value(out, "fuzzer_stats", "edges_found") == 0);
    run_result_free(&r);
}
END_TEST

/* A libFuzzer target built with symhv-c++ (_i 0) or symhv-cc on musl (_i 1): its map is
 * the coverage, its bug is found, and the crash file replays natively (SIGABRT) and
 * under symhv replay. */
START_TEST(a_libfuzzer_target_built_with_the_wrappers)
{
    static const char *const targets[] = { "rw_cxx_target", "rw_c_target" };
    static const char *const seeds_text[] = { "width:700 ", "<!-- a comment -->" };
    const char *prog = program(targets[_i]);
    const char *seeds = test_temp_dir(), *out = test_temp_dir();
    write_seed(seeds, "seed", seeds_text[_i]);
    native_run_ends_by(prog, seeds, 0); /* the seed itself is fine */
    struct run_result r;
    run_symhv(&r, (const char *const[]){ "fuzz", "-i", seeds, "-o", out, "--until-crash", "-V",
                                         "600", "--rng-seed", "3", "--", prog, NULL });
    ck_assert_msg(r.status == 0, "%s: status %d\n%s", targets[_i], r.status, r.err);
    says_coverage(out, "symhv-map");
    ck_assert_msg(output_value(out, "fuzzer_stats", "saved_crashes") == 1, "%s: no crash\n%s",
                  targets[_i], r.err);
    run_result_free(&r);
    char crashes[600], crash[1200];
    snprintf(crashes, sizeof crashes, "%s/crashes", out);
    ck_assert_int_eq(files_named(crashes, "id:", crash, sizeof crash), 1);
    native_run_ends_by(prog, crash, SIGABRT);
    if (_i == 1) { /* the assertion's message is in the crash's note */
        char notes[600], *name = strrchr(crash, '/') + 1, file[1300];
        snprintf(notes, sizeof notes, "%s/crash-notes", out);
        snprintf(file, sizeof file, "%s.txt", name);
        char *note = read_output_file(notes, file, NULL);
        ck_assert_contains(note, "the end of its output:");
        ck_assert_contains(note, "Assertion failed");
        free(note);
    }
    /* the crash file alone: the campaign's fuzzer_stats names the target */
    run_symhv(&r, (const char *const[]){ "replay", crash, "--timeout", "120", NULL });
    ck_assert_msg(r.status == 126, "%s: replay status %d\n%s", targets[_i], r.status, r.err);
    run_result_free(&r);
}
END_TEST

/* Without a map, crashes are told apart by where they happen: two bugs that both end in
 * abort() (one rip) are two crash files, by the return addresses on the stack. */
START_TEST(crashes_in_one_abort_are_told_apart)
{
    const char *seeds = test_temp_dir(), *out = test_temp_dir();
    write_seed(seeds, "seed", "xxxxxxxx");
    struct run_result r;
    run_symhv(&r, (const char *const[]){ "explore", "-i", seeds, "-o", out, "--max-time", "300",
                                         "--", program("rw_two_aborts"), "@@", NULL });
    ck_assert_msg(r.status == 0, "status %d\n%s", r.status, r.err);
    ck_assert_msg(output_value(out, "fuzzer_stats", "saved_crashes") == 2, "%g crashes saved\n%s",
                  output_value(out, "fuzzer_stats", "saved_crashes"), r.err);
    run_result_free(&r);
}
END_TEST

/* A 4 KiB seed of distinct-looking bytes (the magic values' places hold other bytes). */
static void write_magic_seed(const char *dir)
{
    char path[512];
    snprintf(path, sizeof path, "%s/seed", dir);
    FILE *f = fopen(path, "wb");
    ck_assert_ptr_nonnull(f);
    for (unsigned i = 0; i < 4096; i++)
        ck_assert_int_ne(fputc("0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUV"[(i * 7 + i / 58) % 58], f), EOF);
    ck_assert_int_eq(fclose(f), 0);
}

/* afl-fuzz -c: the CMPLOG build (_i 0: a second binary; _i 1: -c 0, the target is that
 * build) runs in the peer; the values its comparisons wanted (8 bytes, 4 big-endian, a
 * string) go into inputs, one magic after another, to the abort() behind them, with the
 * solver off. Without -c the same campaign finds nothing (checked by hand: mutation does
 * not guess 8 bytes). The crash file crashes the plain build natively. */
START_TEST(a_cmplog_binary_gives_input_to_state)
{
    const char *plain = program("rw_afl_magic"), *cmplog = program("rw_afl_magic_cmplog");
    const char *seeds = test_temp_dir(), *out = test_temp_dir();
    write_magic_seed(seeds);
    struct run_result r;
    run_symhv(&r, (const char *const[]){ "fuzz", "-i", seeds, "-o", out, "--concolic-every", "0",
                                         "-c", _i ? "0" : cmplog, "--until-crash",
                                         "--max-execs", "20000", "--rng-seed", "7", "--",
                                         _i ? cmplog : plain, "@@", NULL });
    ck_assert_msg(r.status == 0, "status %d\n%s", r.status, r.err);
    says_coverage(out, "afl-map");
    ck_assert_msg(output_value(out, "fuzzer_stats", "saved_crashes") == 1, "no crash\n%s", r.err);
    ck_assert_msg(output_value(out, "fuzzer_stats", "cmplog_inputs_kept") >= 2, "%s", r.err);
    run_result_free(&r);
    char crashes[600], crash[1200];
    snprintf(crashes, sizeof crashes, "%s/crashes", out);
    ck_assert_int_eq(files_named(crashes, "id:", crash, sizeof crash), 1);
    native_run_ends_by(plain, crash, SIGABRT);
}
END_TEST

/* -c naming no AFL++ build (plain gcc): the campaign stops at the first seed, saying how
 * to build one; an AFL++ build without CMPLOG (its runtime attaches the map, nothing
 * writes it): said, the campaign goes on; -c naming no file, and -c outside symhv fuzz:
 * one-line refusals. */
START_TEST(a_cmplog_binary_that_is_none_is_refused)
{
    const char *plain = program("rw_afl_magic");
    const char *seeds = test_temp_dir(), *out = test_temp_dir();
    write_magic_seed(seeds);
    struct run_result r;
    run_symhv(&r, (const char *const[]){ "fuzz", "-i", seeds, "-o", out, "--concolic-every", "0",
                                         "-c", program("rw_plain_branches_glibc"), "--max-execs",
                                         "2000", "--", plain, "@@", NULL });
    ck_assert_msg(r.status != 0, "status %d\n%s", r.status, r.err);
    ck_assert_contains(r.err, "attached no CMPLOG map");
    ck_assert_contains(r.err, "AFL_LLVM_CMPLOG=1");
    ck_assert_msg(output_value(out, "fuzzer_stats", "execs_done") <= 1, "%s", r.err);
    run_result_free(&r);
    out = test_temp_dir();
    run_symhv(&r, (const char *const[]){ "fuzz", "-i", seeds, "-o", out, "--concolic-every", "0",
                                         "-c", plain, "--max-execs", "2000", "--", plain, "@@",
                                         NULL });
    ck_assert_msg(r.status == 0, "status %d\n%s", r.status, r.err);
    ck_assert_contains(r.err, "logged no comparison: is it built with AFL_LLVM_CMPLOG=1");
    run_result_free(&r);
    run_symhv(&r, (const char *const[]){ "fuzz", "-i", seeds, "-o", test_temp_dir(), "-c",
                                         "/nonexistent/cmplog", "--", plain, "@@", NULL });
    ck_assert_int_ne(r.status, 0);
    ck_assert_contains(r.err, "-c /nonexistent/cmplog: no such file");
    run_result_free(&r);
    run_symhv(&r, (const char *const[]){ "explore", "-i", seeds, "-o", test_temp_dir(), "-c",
                                         plain, "--", plain, "@@", NULL });
    ck_assert_int_ne(r.status, 0);
    ck_assert_contains(r.err, "is an option of symhv fuzz");
    run_result_free(&r);
}
END_TEST

/* cmin on both kinds of build: of three inputs, two with the same coverage, it keeps two. */
START_TEST(cmin_on_users_builds)
{
    static const char *const targets[] = { "rw_afl_branches", "rw_cxx_target" };
    const char *prog = program(targets[_i]);
    const char *in = test_temp_dir(), *out = test_temp_dir();
    write_seed(in, "a", _i ? "width:1" : "plain text");
    write_seed(in, "b", _i ? "width:2" : "plain texts");
    write_seed(in, "c", _i ? "no colon" : "\x01\x02\x03\x04\xf0\xf1\xf2\xf3");
    struct run_result r;
    run_symhv(&r, (const char *const[]){ "cmin", "-i", in, "-o", out, "--", prog,
                                         _i ? NULL : "@@", NULL });
    ck_assert_msg(r.status == 0, "%s: status %d\n%s", targets[_i], r.status, r.err);
    int kept = files_named(out, NULL, NULL, 0);
    ck_assert_msg(kept == 2, "%s: cmin kept %d of 3\n%s", targets[_i], kept, r.err);
    run_result_free(&r);
}
END_TEST

int main(void)
{
    skip_suite_without_kvm("realworld");
    Suite *s = suite_create("realworld");
    TCase *tc = tcase_create("realworld");
    tcase_set_timeout(tc, 900);
    char afl[512];
    snprintf(afl, sizeof afl, "%s/rw_afl_branches", getenv("REALWORLD_DIR") ? getenv("REALWORLD_DIR") : ".");
    if (access(afl, X_OK) == 0) {
        tcase_add_test(tc, an_afl_build_brings_its_own_map);
        tcase_add_test(tc, a_persistent_mode_harness_runs_one_pass_per_execution);
        tcase_add_loop_test(tc, cmin_on_users_builds, 0, 2);
        tcase_add_loop_test(tc, a_cmplog_binary_gives_input_to_state, 0, 2);
        tcase_add_test(tc, a_cmplog_binary_that_is_none_is_refused);
    } else {
        printf("NOT RUN: the AFL++ build tests (no afl-clang-fast at build time)\n");
        tcase_add_loop_test(tc, cmin_on_users_builds, 1, 2);
    }
    tcase_add_loop_test(tc, a_plain_build_gets_binary_only_coverage, 0, 3);
    tcase_add_loop_test(tc, a_libfuzzer_target_built_with_the_wrappers, 0, 2);
    tcase_add_test(tc, crashes_in_one_abort_are_told_apart);
    suite_add_tcase(s, tc);
    return run_suite(s);
}
