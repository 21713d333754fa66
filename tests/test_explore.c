/* symhv explore and symhv fuzz on unmodified static Linux programs (suite explore): the
 * kernel takes the snapshot at the program's first look at its input (a file named by
 * @@, or stdin), every input runs concolically, the symbolic branch sides a run adds are
 * its coverage, and flips whose other side is already covered are not asked again: from
 * a trivial seed the search finds the parser's crash behind a magic and a checksum,
 * ends on its own, and the crash file replays. */
#include <check.h>
#include "check_main.h"
#include <dirent.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "symhv_run.h"

static const char *const libcs[] = { "musl", "glibc" };

static const char *seed_dir(const char *bytes)
{
    const char *dir = test_temp_dir();
    char path[256];
    snprintf(path, sizeof path, "%s/seed", dir);
    FILE *f = fopen(path, "wb");
    ck_assert_ptr_nonnull(f);
    fputs(bytes, f);
    fclose(f);
    return dir;
}

/* The first file in dir (a crash), "" if none. */
static const char *first_file(const char *dir)
{
    static char path[1024];
    path[0] = 0;
    DIR *d = opendir(dir);
    ck_assert_ptr_nonnull(d);
    struct dirent *e;
    while ((e = readdir(d)))
        if (e->d_name[0] != '.' && strcmp(e->d_name, "README.txt") != 0) {
            snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
            break;
        }
    closedir(d);
    return path;
}

/* out holds exactly one crash, and it replays (on smp vCPUs, "@@" for its input file, or
 * none when at_at is false) to status 126 with `says` on stdout. */
static void the_crash_replays(const char *out, const char *target, const char *smp, bool at_at,
                              const char *says)
{
    char crashes[300], crash[1024];
    ck_assert_msg(output_value(out, "fuzzer_stats", "saved_crashes") == 1, "not one crash saved");
    snprintf(crashes, sizeof crashes, "%s/crashes", out);
    snprintf(crash, sizeof crash, "%s", first_file(crashes));
    struct run_result r;
    run_symhv(&r, (const char *const[]){ "replay", crash, "--smp", smp, "--timeout", "60", "--",
                                         target, at_at ? "@@" : NULL, NULL });
    ck_assert_msg(r.status == 126, "replay status %d\n%s", r.status, r.err);
    ck_assert_contains(r.out, says);
    run_result_free(&r);
}

START_TEST(explore_finds_the_crash_and_ends)
{
    char target[64], crashes[300];
    _Static_assert(sizeof crashes < 1024 - 256, "first_file's buffer holds a crash path");
    snprintf(target, sizeof target, "%%lx_parser_%s", libcs[_i]);
    const char *seeds = seed_dir("AAAAAAAAAAAAAAAA"), *out = test_temp_dir();
    struct run_result r;
    run_symhv(&r, (const char *const[]){ "explore", "-i", seeds, "-o", out, "--max-time", "120",
                                         "--", target, "@@", NULL });
    ck_assert_msg(r.status == 0, "status %d\n%s", r.status, r.err);
    ck_assert_contains(r.err, "the search is complete");
    run_result_free(&r);
    ck_assert_msg(output_value(out, "fuzzer_stats", "saved_crashes") == 1, "no crash saved");
    /* one execution per generation: the seed, the magic, the checksum */
    ck_assert_msg(output_value(out, "fuzzer_stats", "execs_done") <= 6, "more than 6 executions");
    snprintf(crashes, sizeof crashes, "%s/crashes", out);
    const char *crash = first_file(crashes);
    ck_assert_msg(crash[0], "crashes/ is empty");
    ck_assert_msg(strstr(crash, "sig:11"), "crash file %s not named by SIGSEGV", crash);
    run_symhv(&r, (const char *const[]){ "replay", crash, "--timeout", "60", "--", target, "@@",
                                         NULL });
    ck_assert_msg(r.status == 126, "replay status %d\n%s", r.status, r.err);
    ck_assert_contains(r.out, "checksum ok\n");
    run_result_free(&r);
}
END_TEST

/* Without @@ the input is stdin (AFL++'s convention), and `symhv fuzz` keeps the
 * solver's inputs of an uninstrumented program by the branch sides their concolic run
 * adds: the campaign finds the same crash. */
START_TEST(stdin_input_and_the_hybrid_campaign)
{
    const char *seeds = seed_dir("AAAAAAAAAAAAAAAA"), *out = test_temp_dir();
    struct run_result r;
    run_symhv(&r, (const char *const[]){ "explore", "-i", seeds, "-o", out, "--max-time", "120",
                                         "--", "%lx_parser_glibc", "-", NULL });
    ck_assert_msg(r.status == 0, "status %d\n%s", r.status, r.err);
    ck_assert_msg(output_value(out, "fuzzer_stats", "saved_crashes") == 1, "explore on stdin:\n%s",
                  r.err);
    run_result_free(&r);
    const char *fz = test_temp_dir();
    run_symhv(&r, (const char *const[]){ "fuzz", "-i", seeds, "-o", fz, "--until-crash", "-V",
                                         "120", "--concolic-every", "200", "--", "%lx_parser_musl",
                                         "@@", NULL });
    ck_assert_msg(r.status == 0, "status %d\n%s", r.status, r.err);
    ck_assert_msg(output_value(fz, "fuzzer_stats", "saved_crashes") == 1, "fuzz:\n%s", r.err);
    run_result_free(&r);
}
END_TEST

/* The classes a search must not be blind to (issue 11), each an ordinary program found
 * from a trivial seed within a bounded number of executions, and the crash replays:
 * a 12-character password through the libc's strcmp (glibc's is SSE2 code), lookup
 * tables indexed by input, a switch compiled to a jump table, a division by a
 * difference of input bytes with no branch in front, an `if` compiled to cmov, and a
 * CRC with a branch per bit before the compare that matters. */
START_TEST(blind_spots_are_found)
{
    static const char *const classes[] = { "password", "table", "switch", "divzero",
                                           "select", "crc" };
    char target[64], crashes[300];
    snprintf(target, sizeof target, "%%lx_%s_%s", classes[_i / 2], libcs[_i % 2]);
    const char *seeds = seed_dir("ABCDEFGHIJKLMNOP"), *out = test_temp_dir();
    struct run_result r;
    run_symhv(&r, (const char *const[]){ "explore", "-i", seeds, "-o", out, "--until-crash",
                                         "--max-time", "240", "--", target, "@@", NULL });
    ck_assert_msg(r.status == 0, "%s: status %d\n%s", target, r.status, r.err);
    run_result_free(&r);
    ck_assert_msg(output_value(out, "fuzzer_stats", "saved_crashes") == 1, "%s: no crash", target);
    double execs = output_value(out, "fuzzer_stats", "execs_done");
    ck_assert_msg(execs <= 400, "%s: %g executions", target, execs);
    snprintf(crashes, sizeof crashes, "%s/crashes", out);
    const char *crash = first_file(crashes);
    ck_assert_msg(crash[0], "%s: crashes/ is empty", target);
    run_symhv(&r, (const char *const[]){ "replay", crash, "--timeout", "60", "--", target, "@@",
                                         NULL });
    ck_assert_msg(r.status == 126, "%s: replay status %d\n%s", target, r.status, r.err);
    run_result_free(&r);
}
END_TEST

/* The demo's threaded program (examples/records.c) on 2 vCPUs: the main thread parses,
 * two workers compute; the division by zero in a worker is found. Seeded with an input
 * whose concolic run once hung: the record queue (symbolic) shares its page with the
 * mutex, and two vCPUs' lock cmpxchg on that trapped page interleaved (now each locked
 * read-modify-write on trapped RAM completes under one lock). */
START_TEST(threaded_program_on_two_vcpus)
{
    char target[512];
    snprintf(target, sizeof target, "%s/records", getenv("EXAMPLES_DIR"));
    const char *seeds = seed_dir("REC\001EFGHIJ"), *out = test_temp_dir();
    struct run_result r;
    run_symhv(&r, (const char *const[]){ "explore", "--smp", "2", "-i", seeds, "-o", out,
                                         "--until-crash", "--max-time", "240",
                                         "--concolic-timeout", "60", "--", target, "@@", NULL });
    ck_assert_msg(r.status == 0, "status %d\n%s", r.status, r.err);
    run_result_free(&r);
    ck_assert_msg(output_value(out, "fuzzer_stats", "saved_hangs") == 0, "a concolic run hung");
    ck_assert_msg(output_value(out, "fuzzer_stats", "saved_crashes") == 1, "no crash");
    char crashes[300];
    snprintf(crashes, sizeof crashes, "%s/crashes", out);
    const char *crash = first_file(crashes);
    ck_assert_msg(strstr(crash, "sig:08"), "crash %s is not the SIGFPE", crash);
    run_symhv(&r, (const char *const[]){ "replay", crash, "--smp", "2", "--timeout", "60", "--",
                                         target, "@@", NULL });
    ck_assert_msg(r.status == 126, "replay status %d\n%s", r.status, r.err);
    ck_assert_contains(r.err, "(SIGFPE)");
    run_result_free(&r);
}
END_TEST

/* A program that marks its own buffers (symhv_make_symbolic, twice: the body only behind
 * a good header): the input file is both buffers' bytes in call order, the search grows
 * it from a 1-byte seed to the 16 bytes the crash needs, and replay splits the file the
 * same way. */
START_TEST(program_with_its_own_symbolic_buffers)
{
    char target[64], crashes[300];
    snprintf(target, sizeof target, "%%lx_inputs_%s", libcs[_i]);
    const char *seeds = seed_dir("x"), *out = test_temp_dir();
    struct run_result r;
    run_symhv(&r, (const char *const[]){ "explore", "-i", seeds, "-o", out, "--max-time", "120",
                                         "--", target, NULL });
    ck_assert_msg(r.status == 0, "status %d\n%s", r.status, r.err);
    ck_assert_contains(r.err, "the search is complete");
    run_result_free(&r);
    ck_assert_msg(output_value(out, "fuzzer_stats", "saved_crashes") == 1, "no crash saved");
    snprintf(crashes, sizeof crashes, "%s/crashes", out);
    const char *crash = first_file(crashes);
    ck_assert_msg(strstr(crash, "sig:06"), "crash %s is not the SIGABRT", crash);
    FILE *f = fopen(crash, "rb");
    ck_assert_ptr_nonnull(f);
    unsigned char bytes[32];
    size_t n = fread(bytes, 1, sizeof bytes, f);
    fclose(f);
    ck_assert_msg(n == 16, "the crash file has %zu bytes, not header + body", n);
    ck_assert(memcmp(bytes, "HDR1", 4) == 0 && bytes[8] == 'Z' &&
              bytes[9] == (unsigned char)(bytes[4] + 1));
    run_symhv(&r, (const char *const[]){ "replay", crash, "--timeout", "60", "--", target, NULL });
    ck_assert_msg(r.status == 126, "replay status %d\n%s", r.status, r.err);
    ck_assert_contains(r.out, "the body matches the header");
    ck_assert_contains(r.err, "killed by SIGABRT");
    run_result_free(&r);
    /* the same inputs given one by one, by name (symhv replay --input NAME=FILE ...) */
    const char *parts = test_temp_dir();
    char header[600], body[600];
    snprintf(header, sizeof header, "%s/header", parts);
    snprintf(body, sizeof body, "%s/body", parts);
    FILE *h = fopen(header, "wb"), *b = fopen(body, "wb");
    ck_assert(h && b);
    ck_assert_uint_eq(fwrite(bytes, 1, 8, h), 8);
    ck_assert_uint_eq(fwrite(bytes + 8, 1, 8, b), 8);
    fclose(h);
    fclose(b);
    char hin[700], bin[700];
    snprintf(hin, sizeof hin, "header=%s", header);
    snprintf(bin, sizeof bin, "body=%s", body);
    run_symhv(&r, (const char *const[]){ "replay", "--input", hin, "--input", bin, "--timeout",
                                         "60", "--", target, NULL });
    ck_assert_msg(r.status == 126, "replay --input status %d\n%s", r.status, r.err);
    ck_assert_contains(r.out, "the body matches the header");
    run_result_free(&r);
}
END_TEST

/* A bug the program reports (symhv_report_bug, S2E style) is a finding: explore saves
 * the input in crashes/ (named with "bug"), its message in crash-notes/, counts it, and
 * --until-crash ends there; the file replays to the report. */
START_TEST(reported_bugs_are_crash_files)
{
    char target[64], crashes[300], notes[300];
    snprintf(target, sizeof target, "%%lx_report_%s", libcs[_i]);
    const char *seeds = seed_dir("x"), *out = test_temp_dir();
    struct run_result r;
    run_symhv(&r, (const char *const[]){ "explore", "-i", seeds, "-o", out, "--max-time", "120",
                                         "--until-crash", "--", target, NULL });
    ck_assert_msg(r.status == 0, "status %d\n%s", r.status, r.err);
    run_result_free(&r);
    ck_assert_double_eq(output_value(out, "fuzzer_stats", "saved_crashes"), 1);
    ck_assert_double_ge(output_value(out, "fuzzer_stats", "reported_bugs"), 1);
    snprintf(crashes, sizeof crashes, "%s/crashes", out);
    char crash[1024];
    snprintf(crash, sizeof crash, "%s", first_file(crashes));
    ck_assert_msg(strstr(crash, ",bug,"), "crash file %s is not marked as a reported bug", crash);
    snprintf(notes, sizeof notes, "%s/crash-notes", out);
    const char *note = first_file(notes);
    ck_assert_msg(note[0], "no note beside the crash");
    size_t len;
    char *text = read_output_file(notes, strrchr(note, '/') + 1, &len);
    ck_assert_contains(text, "bug: the input starts with BUG!");
    free(text);
    run_symhv(&r, (const char *const[]){ "replay", crash, "--timeout", "60", "--", target, NULL });
    ck_assert_msg(r.status == 0, "replay status %d\n%s", r.status, r.err);
    ck_assert_contains(r.err, "bug reported by the guest: the input starts with BUG!");
    run_result_free(&r);
}
END_TEST

/* -t sets the scale of a concolic execution's limit too (50 times it, at least 5 s):
 * a hang met by a concolic run is saved within the campaign's time, not after 120 s
 * (once its input, run again natively, hangs there too; the concolic run is counted in
 * concolic_timeouts). */
START_TEST(exec_timeout_bounds_concolic_runs)
{
    const char *seeds = seed_dir("HGxxxxxx"), *out = test_temp_dir();
    struct run_result r;
    run_symhv(&r, (const char *const[]){ "explore", "-i", seeds, "-o", out, "-t", "200",
                                         "--max-time", "60", "--", "%lx_hang_musl", "@@", NULL });
    ck_assert_msg(r.status == 0, "status %d\n%s", r.status, r.err);
    run_result_free(&r);
    ck_assert_double_ge(output_value(out, "fuzzer_stats", "saved_hangs"), 1);
    ck_assert_double_ge(output_value(out, "fuzzer_stats", "concolic_timeouts"), 1);
}
END_TEST

/* A length pinned on the path by a copy (musl's rep movsq) hides the branch behind it
 * from the whole query; optimistic solving (the branch alone) finds it, and the crash
 * replays. */
START_TEST(optimistic_solving_finds_the_side_a_pinned_length_hides)
{
    char target[64];
    snprintf(target, sizeof target, "%%lx_pinned_%s", libcs[_i]);
    /* a valid record: length 16 */
    const char *seeds = seed_dir("HEADER\x10" "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"),
               *out = test_temp_dir();
    struct run_result r;
    run_symhv(&r, (const char *const[]){ "explore", "-i", seeds, "-o", out, "--max-time", "120",
                                         "--until-crash", "--", target, "@@", NULL });
    ck_assert_msg(r.status == 0, "status %d\n%s", r.status, r.err);
    run_result_free(&r);
    the_crash_replays(out, target, "1", true, "pinned: a long record\n");
}
END_TEST

/* Symbolic bytes in a mapping of more than 1 MiB that the program lets go: the kernel
 * zeroes it in one piece, and the mapping made again in its place reads concrete zeros
 * in the concolic runs too: the program's one branch on it is no symbolic branch. (The
 * bytes once stayed symbolic there, the sidecar refusing the piece: 8 branch sides on
 * the old input's bytes, 8 solver inputs no native run follows.) */
START_TEST(a_mapping_let_go_leaves_no_symbolic_bytes_behind)
{
    char target[64];
    snprintf(target, sizeof target, "%%lx_remap_%s", libcs[_i]);
    const char *seeds = seed_dir("ABCDEFGHIJKLMNOP"), *out = test_temp_dir();
    struct run_result r;
    run_symhv(&r, (const char *const[]){ "explore", "-i", seeds, "-o", out, "--max-execs", "4",
                                         "--", target, "@@", NULL });
    ck_assert_msg(r.status == 0, "status %d\n%s", r.status, r.err);
    ck_assert_msg(output_value(out, "fuzzer_stats", "concolic_runs") >= 1, "%s", r.err);
    ck_assert_msg(output_value(out, "fuzzer_stats", "edges_found") == 0, "%s", r.err);
    ck_assert_msg(output_value(out, "fuzzer_stats", "solver_inputs") == 0, "%s", r.err);
    ck_assert_msg(output_value(out, "fuzzer_stats", "saved_crashes") == 0, "%s", r.err);
    ck_assert_msg(strstr(r.err, "concretising") == NULL, "%s", r.err);
    run_result_free(&r);
}
END_TEST

/* Two threads on two vCPUs branch at once, in one function, on different bytes of the
 * input: explore finds the input both need (generation 2), as generations of symhv run
 * do, and it replays. */
START_TEST(explore_finds_what_two_threads_need_together)
{
    char target[64];
    snprintf(target, sizeof target, "%%lx_twothreads_%s", libcs[_i]);
    const char *seeds = seed_dir("ABCDEFGHIJKLMNOP"), *out = test_temp_dir();
    struct run_result r;
    run_symhv(&r, (const char *const[]){ "explore", "--smp", "2", "-i", seeds, "-o", out,
                                         "--max-time", "300", "--until-crash", "--", target,
                                         "@@", NULL });
    ck_assert_msg(r.status == 0, "status %d\n%s", r.status, r.err);
    run_result_free(&r);
    the_crash_replays(out, target, "2", true, "twothreads: both bytes\n");
}
END_TEST

/* explore without -i (a KLEE user's run): the search starts from the declared source's
 * size of zeros and finds the crash behind the magic and the checksum. */
START_TEST(explore_without_seeds)
{
    const char *out = test_temp_dir();
    struct run_result r;
    run_symhv(&r, (const char *const[]){ "explore", "-o", out, "--max-time", "120",
                                         "--until-crash", "--sym-stdin", "16", "--",
                                         "%lx_parser_musl", "-", NULL });
    ck_assert_msg(r.status == 0, "status %d\n%s", r.status, r.err);
    ck_assert_contains(r.err, "the search starts from 16 zero bytes");
    run_result_free(&r);
    ck_assert_msg(output_value(out, "fuzzer_stats", "saved_crashes") == 1, "no crash");
}
END_TEST

/* The campaign in out saved one crash: its path into crash[size], its bytes returned. */
static char *the_one_crash(const char *out, char *crash, size_t size, size_t *len)
{
    char crashes[300];
    ck_assert_msg(output_value(out, "fuzzer_stats", "saved_crashes") == 1, "no crash");
    snprintf(crashes, sizeof crashes, "%s/crashes", out);
    snprintf(crash, size, "%s", first_file(crashes));
    return read_output_file(crashes, strrchr(crash, '/') + 1, len);
}

/* KLEE's habit: a symbolic argument and a symbolic file at once, no seed: the search
 * starts from zeros of their sizes, the crash file holds both (3 + 8 bytes, in the order
 * given) and replays with the same options. */
START_TEST(several_sources_without_a_seed)
{
    char target[64], crash[1024];
    snprintf(target, sizeof target, "%%lx_klee_%s", libcs[_i]);
    const char *out = test_temp_dir();
    struct run_result r;
    run_symhv(&r, (const char *const[]){ "explore", "-o", out, "--max-time", "300",
                                         "--until-crash", "--sym-arg", "1:3", "--sym-file",
                                         "/input:8", "--", target, "AAA", "/input", NULL });
    ck_assert_msg(r.status == 0, "status %d\n%s", r.status, r.err);
    ck_assert_contains(r.err, "the search starts from 11 zero bytes");
    run_result_free(&r);
    size_t len;
    char *bytes = the_one_crash(out, crash, sizeof crash, &len);
    ck_assert_uint_eq(len, 11);
    ck_assert_msg(memcmp(bytes, "-x", 3) == 0 && memcmp(bytes + 3, "KLEE", 4) == 0,
                  "the crash file is not argv[1] then the file");
    free(bytes);
    run_symhv(&r, (const char *const[]){ "show", crash, NULL }); /* split as it was found */
    ck_assert_msg(r.status == 0, "show: status %d\n%s", r.status, r.err);
    ck_assert_contains(r.out, "object 0: name 'arg1', size 3");
    ck_assert_contains(r.out, "object 1: name 'input', size 8");
    run_result_free(&r);
    run_symhv(&r, (const char *const[]){ "replay", crash, "--timeout", "60", "--sym-arg", "1:3",
                                         "--sym-file", "/input:8", "--", target, "AAA", "/input",
                                         NULL });
    ck_assert_msg(r.status == 126, "replay: status %d\n%s", r.status, r.err);
    ck_assert_contains(r.err, "killed by SIGABRT");
    run_result_free(&r);
}
END_TEST

/* KLEE's --sym-args 0 3 2: the number of arguments is a byte of the input (n_args), one
 * seed per number from nothing; the crash needs exactly two, "-a" and "-b". The crash
 * file holds the three 2-byte arguments and the count, shows as KLEE's objects, and
 * replays from its file alone (the campaign's record). */
START_TEST(sym_args_vary_the_number_of_arguments)
{
    char target[64], crash[1024];
    snprintf(target, sizeof target, "%%lx_symargs_%s", libcs[_i]);
    const char *out = test_temp_dir();
    struct run_result r;
    run_symhv(&r, (const char *const[]){ "explore", "-o", out, "--max-time", "300",
                                         "--until-crash", "--sym-args", "0", "3", "2", "--",
                                         target, NULL });
    ck_assert_msg(r.status == 0, "status %d\n%s", r.status, r.err);
    ck_assert_contains(r.err, "one seed per number of --sym-args arguments");
    run_result_free(&r);
    size_t len;
    char *bytes = the_one_crash(out, crash, sizeof crash, &len);
    ck_assert_uint_eq(len, 7); /* arg1, arg2, arg3: 2 bytes each; n_args: 1 */
    ck_assert_msg(memcmp(bytes, "-a-b", 4) == 0 && bytes[6] % 4 == 2,
                  "the crash file is not -a, -b and a count of two");
    free(bytes);
    run_symhv(&r, (const char *const[]){ "show", crash, NULL });
    ck_assert_msg(r.status == 0, "show: status %d\n%s", r.status, r.err);
    ck_assert_contains(r.out, "object 3: name 'n_args', size 1");
    run_result_free(&r);
    run_symhv(&r, (const char *const[]){ "replay", crash, "--timeout", "60", NULL });
    ck_assert_msg(r.status == 126, "replay: status %d\n%s", r.status, r.err);
    ck_assert_contains(r.err, "killed by SIGABRT");
    run_result_free(&r);
}
END_TEST

/* With @@, the target's stdin is empty (afl-fuzz gives it /dev/null): a program that
 * reads stdin after its input is not blocked by symhv's own stdin, an open terminal
 * nobody types into, and --max-time ends the campaign on time. */
START_TEST(target_stdin_is_empty_under_a_campaign)
{
    const char *seeds = seed_dir("QQQQ"), *out = test_temp_dir();
    char target[64];
    snprintf(target, sizeof target, "%%lx_stdin_%s", libcs[_i]);
    struct run_result r;
    run_symhv_with_silent_stdin(&r, (const char *const[]){ "fuzz", "-i", seeds, "-o", out,
                                                           "--max-time", "10", "--", target,
                                                           "@@", NULL });
    ck_assert_msg(r.status == 0, "status %d\n%s", r.status, r.err);
    run_result_free(&r);
    ck_assert_double_gt(output_value(out, "fuzzer_stats", "execs_done"), 1);
    ck_assert_double_eq(output_value(out, "fuzzer_stats", "saved_crashes"), 0);
}
END_TEST

int main(void)
{
    skip_suite_without_kvm("explore");
    Suite *s = suite_create("explore");
    TCase *tc = tcase_create("explore");
    tcase_set_timeout(tc, 600);
    tcase_add_loop_test(tc, explore_finds_the_crash_and_ends, 0, 2);
    tcase_add_test(tc, stdin_input_and_the_hybrid_campaign);
    tcase_add_loop_test(tc, several_sources_without_a_seed, 0, 2);
    tcase_add_loop_test(tc, sym_args_vary_the_number_of_arguments, 0, 2);
    tcase_add_test(tc, explore_without_seeds);
    tcase_add_loop_test(tc, target_stdin_is_empty_under_a_campaign, 0, 2);
    tcase_add_loop_test(tc, program_with_its_own_symbolic_buffers, 0, 2);
    tcase_add_loop_test(tc, reported_bugs_are_crash_files, 0, 2);
    tcase_add_test(tc, exec_timeout_bounds_concolic_runs);
    /* musl only: its memcpy pins the length (rep movsq); glibc's SSE2 copy branches on
     * size classes instead, and under QEMU's CPU model explore did not reach the crash in
     * 2026-12-06's nested run (an open question, not asserted here) */
    tcase_add_loop_test(tc, optimistic_solving_finds_the_side_a_pinned_length_hides, 0, 1);
    tcase_add_loop_test(tc, a_mapping_let_go_leaves_no_symbolic_bytes_behind, 0, 2);
    tcase_add_test(tc, threaded_program_on_two_vcpus);
    tcase_add_loop_test(tc, explore_finds_what_two_threads_need_together, 0, 2);
    tcase_add_loop_test(tc, blind_spots_are_found, 0, 12);
    suite_add_tcase(s, tc);
    return run_suite(s);
}
