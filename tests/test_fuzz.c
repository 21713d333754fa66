/* `symhv fuzz` on real guests: every execution starts from the snapshot (2 vCPUs),
 * mutation alone misses a 4-byte magic that the hybrid run gets through, the crash file
 * replays to the same crash, and a killed run keeps its crashes and resumes. */
#include <check.h>
#include "check_main.h"

#include <dirent.h>
#include <stdbool.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "symhv_run.h"

/* A fresh seed directory holding one seed with these bytes. */
static const char *seed_dir_of(const char *bytes)
{
    const char *dir = test_temp_dir();
    char path[512];
    snprintf(path, sizeof path, "%s/seed", dir);
    FILE *f = fopen(path, "wb");
    ck_assert_ptr_nonnull(f);
    fputs(bytes, f);
    fclose(f);
    return dir;
}

static const char *seed_dir(void) { return seed_dir_of("AAAAAAAA"); }

/* Name of the first file in dir/sub (static buffer), or NULL. */
static const char *first_file(const char *dir, const char *sub)
{
    static char path[1024];
    char d[512];
    snprintf(d, sizeof d, "%s/%s", dir, sub);
    DIR *h = opendir(d);
    if (!h)
        return NULL;
    const char *found = NULL;
    for (struct dirent *e; (e = readdir(h));)
        if (e->d_name[0] != '.') {
            snprintf(path, sizeof path, "%s/%s", d, e->d_name);
            found = path;
            break;
        }
    closedir(h);
    return found;
}

/* Until a running campaign in out has written its first fuzzer_stats (at most 60 s). */
static void wait_for_stats(const char *out)
{
    char stats[600];
    snprintf(stats, sizeof stats, "%s/fuzzer_stats", out);
    for (int i = 0; i < 600 && access(stats, F_OK) != 0; i++)
        usleep(100 * 1000);
}

static double stat_value(const char *out, const char *key)
{
    return output_value(out, "fuzzer_stats", key);
}

START_TEST(every_execution_starts_from_the_snapshot_on_two_vcpus)
{
    const char *out = test_temp_dir();
    expect_symhv((const char *const[]){ "fuzz", "-v", "-i", seed_dir(), "-o", out, "--smp", "2",
                                        "--kernel", "@symhv-kernel", "--target", "@fuzz_restore",
                                        "--cmdline", "dirty=16", "--max-execs", "300", NULL },
                 0, NULL, "snapshot taken on vCPU");
    /* The target ends an execution with a non-zero status (a crash) as soon as it sees
     * memory or a register of either vCPU that is not the snapshot's. */
    ck_assert_int_eq(stat_value(out, "execs_done"), 300);
    ck_assert_int_eq(stat_value(out, "saved_crashes"), 0);
    ck_assert_int_eq(stat_value(out, "saved_hangs"), 0);
    /* only what was written since the snapshot was copied back, not all of RAM */
    ck_assert_int_ge(stat_value(out, "last_restore_pages"), 16);
    ck_assert_int_lt(stat_value(out, "last_restore_pages"), 256);
}
END_TEST

/* Executions that never end are cut at --exec-timeout, saved under hangs/, and the
 * next execution starts from the snapshot as usual. */
START_TEST(hangs_are_cut_saved_and_fuzzing_goes_on)
{
    const char *out = test_temp_dir();
    expect_symhv((const char *const[]){ "fuzz", "-v", "-i", seed_dir(), "-o", out, "--smp",
                                        "2", "--kernel", "@symhv-kernel", "--target",
                                        "@fuzz_restore", "--cmdline", "hang=1",
                                        "--exec-timeout", "30", "--max-execs", "40", NULL },
                 0, NULL, NULL);
    ck_assert_int_eq(stat_value(out, "execs_done"), 40);
    ck_assert_int_ge(stat_value(out, "saved_hangs"), 1); /* the seed 'A' is odd */
    ck_assert_int_eq(stat_value(out, "saved_crashes"), 0);
    ck_assert_ptr_nonnull(first_file(out, "hangs"));
}
END_TEST

START_TEST(mutation_alone_misses_the_magic)
{
    const char *out = test_temp_dir();
    expect_symhv((const char *const[]){ "fuzz", "-v", "-i", seed_dir(), "-o", out, "--kernel",
                                        "@symhv-kernel", "--target", "@fuzz_magic",
                                        "--concolic-every", "0", "--max-execs", "4000",
                                        "--rng-seed", "7", "--no-cmplog", NULL },
                 0, NULL, NULL);
    ck_assert_int_eq(stat_value(out, "execs_done"), 4000);
    ck_assert_int_gt(stat_value(out, "edges_found"), 0);
    ck_assert_int_eq(stat_value(out, "saved_crashes"), 0);
    ck_assert_int_eq(stat_value(out, "solver_inputs"), 0);
}
END_TEST

START_TEST(hybrid_run_finds_the_crash_and_it_replays)
{
    const char *out = test_temp_dir();
    expect_symhv((const char *const[]){ "fuzz", "-v", "-i", seed_dir(), "-o", out, "--smp", "2",
                                        "--kernel", "@symhv-kernel", "--target", "@fuzz_magic",
                                        "--concolic-every", "300", "--max-execs", "20000",
                                        "--until-crash", "--rng-seed", "7", "--no-cmplog", NULL },
                 0, NULL, "fuzz: crash #1 (guest program crashed: page fault (#PF)");
    ck_assert_int_ge(stat_value(out, "solver_inputs_kept"), 1);
    ck_assert_int_eq(stat_value(out, "saved_crashes"), 1);
    const char *crash = first_file(out, "crashes");
    ck_assert_ptr_nonnull(crash);
    size_t len;
    char *bytes = read_output_file(out, crash + strlen(out) + 1, &len);
    ck_assert_uint_ge(len, 8);
    ck_assert_mem_eq(bytes, "MHFZ", 4); /* the magic came from the solver */
    free(bytes);
    expect_symhv((const char *const[]){ "replay", crash, "--smp", "2", "--kernel",
                                        "@symhv-kernel", "--initrd", "@fuzz_magic", NULL },
                 126, NULL, "guest program crashed: page fault (#PF)");
}
END_TEST

/* The same campaign bounded by time (no --max-execs): its concolic runs are solved in the
 * background while mutation goes on, and the solver's input still brings the crash. */
START_TEST(background_solving_brings_the_crash)
{
    const char *out = test_temp_dir();
    expect_symhv((const char *const[]){ "fuzz", "-v", "-i", seed_dir(), "-o", out, "--smp", "2",
                                        "--kernel", "@symhv-kernel", "--target", "@fuzz_magic",
                                        "--concolic-every", "300", "-V", "600", "--until-crash",
                                        "--rng-seed", "7", "--no-cmplog", NULL },
                 0, NULL, "concolic run over; solving in the background");
    ck_assert_int_ge(stat_value(out, "solver_inputs_kept"), 1);
    ck_assert_int_eq(stat_value(out, "saved_crashes"), 1);
    size_t len;
    const char *crash = first_file(out, "crashes");
    ck_assert_ptr_nonnull(crash);
    char *bytes = read_output_file(out, crash + strlen(out) + 1, &len);
    ck_assert_mem_eq(bytes, "MHFZ", 4); /* the magic came from the solver */
    free(bytes);
}
END_TEST

/* SIGKILL as soon as a crash file exists: it is whole, and the same out_dir resumes. */
START_TEST(killed_run_keeps_its_crash_and_resumes)
{
    const char *out = test_temp_dir();
    pid_t pid = spawn_symhv((const char *const[]){
        "fuzz", "-i", seed_dir(), "-o", out, "--kernel", "@symhv-kernel", "--target",
        "@fuzz_magic", "--concolic-every", "300", "--max-time", "120", "--rng-seed", "7",
        NULL });
    const char *crash = NULL;
    for (int i = 0; i < 1200 && !crash; i++) {
        usleep(100 * 1000);
        crash = first_file(out, "crashes");
    }
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    ck_assert_msg(crash != NULL, "no crash within 120 s");
    size_t len;
    char *bytes = read_output_file(out, crash + strlen(out) + 1, &len);
    ck_assert_uint_ge(len, 8);
    ck_assert_mem_eq(bytes, "MHFZ", 4);
    free(bytes);

    /* no -i: the queue in out_dir is the corpus; crash numbering goes on */
    expect_symhv((const char *const[]){ "fuzz", "-v", "-o", out, "--kernel", "@symhv-kernel",
                                        "--target", "@fuzz_magic", "--concolic-every", "0",
                                        "--max-execs", "200", NULL },
                 0, NULL, "fuzz: resuming");
    ck_assert_int_ge(stat_value(out, "saved_crashes"), 1);
    ck_assert_int_ge(stat_value(out, "corpus_count"), 2);
}
END_TEST

START_TEST(fuzz_arguments_are_checked)
{
    expect_symhv((const char *const[]){ "fuzz", "-v", "-i", "/tmp", "--kernel", "@symhv-kernel",
                                        "--target", "@fuzz_magic", NULL },
                 125, NULL, "symhv fuzz needs -o OUT_DIR");
    const char *out = test_temp_dir();
    expect_symhv((const char *const[]){ "fuzz", "-v", "-i", "/nonexistent/seeds", "-o", out,
                                        "--kernel", "@symhv-kernel", "--target", "@fuzz_magic",
                                        NULL },
                 125, NULL, "cannot read directory /nonexistent/seeds");
    const char *empty = test_temp_dir();
    expect_symhv((const char *const[]){ "fuzz", "-v", "-i", empty, "-o", test_temp_dir(),
                                        "--kernel", "@symhv-kernel", "--target", "@fuzz_magic",
                                        NULL },
                 125, NULL, "no seed inputs");
    expect_symhv((const char *const[]){ "fuzz", "-v", "-i", empty, "-o", out, "--kernel",
                                        "@symhv-kernel", "--exec-timeout", "0", NULL },
                 125, NULL, "--exec-timeout expects milliseconds");
    /* a seed longer than the target's buffer runs cut, and says so */
    char big[5000];
    memset(big, 'B', sizeof big - 1);
    big[sizeof big - 1] = 0;
    expect_symhv((const char *const[]){ "fuzz", "-i", seed_dir_of(big), "-o", test_temp_dir(),
                                        "--kernel", "@symhv-kernel", "--target", "@fuzz_magic",
                                        "--max-execs", "5", NULL },
                 0, NULL, "1 of 1 seeds are longer than the target's input buffer (4096 bytes");
    /* a program that never calls symhv_fuzz_start */
    expect_symhv((const char *const[]){ "fuzz", "-i", seed_dir(), "-o", test_temp_dir(),
                                        "--kernel", "@symhv-kernel", "--target", "@counter",
                                        NULL },
                 125, NULL, "the target ended before its input was read");
}
END_TEST

/* `rounds` campaigns of `execs` executions of a 2-vCPU target that ends an execution
 * with a crash when it sees what it must not (`what`): none may. */
static void fuzz_rounds_without_crashes(const char *target, const char *execs, int rounds,
                                        const char *what)
{
    for (int round = 0; round < rounds; round++) {
        const char *out = test_temp_dir();
        struct run_result r;
        run_symhv(&r, (const char *const[]){ "fuzz", "-i", seed_dir(), "-o", out, "--smp",
                                             "2", "--kernel", "@symhv-kernel", "--target",
                                             target, "--max-execs", execs, NULL });
        ck_assert_msg(r.status == 0 && !strstr(r.err, "Sanitizer"), "status %d, stderr:\n%s",
                      r.status, r.err);
        run_result_free(&r);
        ck_assert_int_eq(stat_value(out, "execs_done"), atoi(execs));
        ck_assert_msg(stat_value(out, "total_crashes") == 0, "%s, round %d: %.0f of %s "
                      "executions %s", target, round, stat_value(out, "total_crashes"), execs,
                      what);
    }
}

/* Two vCPUs race to symhv_fuzz_start with different coverage maps: one call owns the
 * snapshot with its own sizes, the other is refused (the target crashes with status 5
 * otherwise), and the VMM stays whole (an ASan build aborts on the old heap overflow). */
START_TEST(racing_fuzz_starts_take_one_snapshot)
{
    fuzz_rounds_without_crashes("@fuzz_race", "200", 4, "saw both calls succeed");
}
END_TEST

/* A hypercall's answer survives the snapshot's settle: one vCPU asks the VMM without pause
 * while the other takes the snapshot, so the settle finds it with an answer given and not
 * yet taken (most runs do; one in three rounds is enough for the old fault, which turned
 * the answer into 0 in every execution after). */
START_TEST(answers_survive_the_snapshot_settle)
{
    fuzz_rounds_without_crashes("@fuzz_answers", "50", 3,
                                "saw a hypercall answer that was not the one the VMM gave");
}
END_TEST


/* Refused registrations (EFAULT, EINVAL) keep no claim: the valid calls after them
 * succeed, second calls are EBUSY; the target crashes on any other answer. */
START_TEST(refused_registrations_can_be_made_again)
{
    const char *out = test_temp_dir();
    struct run_result r;
    run_symhv(&r, (const char *const[]){ "fuzz", "-i", seed_dir(), "-o", out, "--kernel",
                                         "@symhv-kernel", "--target", "@fuzz_claims",
                                         "--max-execs", "50", NULL });
    ck_assert_msg(r.status == 0 && !strstr(r.err, "Sanitizer"), "status %d, stdout:\n%s\nstderr:\n%s",
                  r.status, r.out, r.err);
    run_result_free(&r);
    ck_assert_int_eq(stat_value(out, "execs_done"), 50);
    ck_assert_int_eq(stat_value(out, "total_crashes"), 0);
}
END_TEST

/* Two vCPUs mark 1 MiB each before the snapshot, with a compare log that would grow a
 * 1 MiB input: the VMM stays whole (ASan build) and the campaign runs its executions,
 * also when the main thread ends while the other's call has the snapshot on its way
 * (racy: several rounds). */
START_TEST(two_megabyte_buffers_before_the_snapshot)
{
    const char *seeds = test_temp_dir();
    char path[600];
    snprintf(path, sizeof path, "%s/seed", seeds);
    FILE *sf = fopen(path, "wb");
    ck_assert_ptr_nonnull(sf);
    for (unsigned i = 0; i < (1u << 20) - 1; i++)
        fputc('x', sf);
    fputc('A', sf);
    ck_assert_int_eq(fclose(sf), 0);
    for (int round = 0; round < 5; round++) {
        const char *out = test_temp_dir();
        struct run_result r;
        run_symhv(&r, (const char *const[]){ "fuzz", "-i", seeds, "-o", out, "--smp", "2",
                                             "--kernel", "@symhv-kernel", "--target",
                                             "@two_buffers", "--max-execs", "3",
                                             "--concolic-every", "1000000", NULL });
        ck_assert_msg(r.status == 0 && !strstr(r.err, "Sanitizer"), "round %d: status %d, stderr:\n%s",
                      round, r.status, r.err);
        run_result_free(&r);
        ck_assert_int_eq(stat_value(out, "execs_done"), 3);
    }
}
END_TEST

/* An input that makes the machine itself fault is a crash of the campaign's target, not
 * the end of the campaign: it is saved in crashes/, the snapshot is restored and fuzzing
 * goes on; the file replays to the same fault. Two targets: a kernel that triple-faults
 * on inputs starting with 'T' (kernel fuzzing), and a program whose 'W' inputs read
 * outside guest RAM (no guest handler sees either). */
START_TEST(machine_level_crash_is_saved_and_fuzzing_goes_on)
{
    static const struct {
        const char *kernel, *target, *says;
    } cases[] = {
        { "@fuzz_kernel", NULL, "guest triple fault (KVM_EXIT_SHUTDOWN)" },
        { "@symhv-kernel", "@fuzz_wild", "outside RAM and every device" },
    };
    const char *seeds = seed_dir_of("AAAA");
    const char *out = test_temp_dir();
    const char *target_opt = cases[_i].target ? "--target" : NULL;
    expect_symhv((const char *const[]){ "fuzz", "-i", seeds, "-o", out, "--concolic-every", "0",
                                        "--max-execs", "3000", "--rng-seed", "3", "--kernel",
                                        cases[_i].kernel, target_opt, cases[_i].target, NULL },
                 0, NULL, NULL);
    ck_assert_int_eq(stat_value(out, "execs_done"), 3000);
    ck_assert_int_ge(stat_value(out, "saved_crashes"), 1);
    const char *crash = first_file(out, "crashes");
    ck_assert_ptr_nonnull(crash);
    expect_symhv((const char *const[]){ "replay", crash, "--kernel", cases[_i].kernel,
                                        target_opt ? "--initrd" : NULL, cases[_i].target, NULL },
                 126, NULL, cases[_i].says);
}
END_TEST

/* D6: SIGINT ends a campaign with status 130 and one line saying so. */
START_TEST(interrupted_campaign_exits_130)
{
    const char *out = test_temp_dir();
    struct symhv_child c;
    start_symhv(&c, (const char *const[]){ "fuzz", "-i", seed_dir(), "-o", out, "--kernel",
                                           "@symhv-kernel", "--target", "@fuzz_magic",
                                           "--max-time", "120", NULL });
    wait_for_stats(out);
    kill(c.pid, SIGINT);
    struct run_result r;
    finish_symhv(&c, &r);
    ck_assert_msg(r.status == 130, "status %d; stderr:\n%s", r.status, r.err);
    ck_assert_contains(r.err, "interrupted by");
    run_result_free(&r);
}
END_TEST

/* D7: a second campaign on a busy out_dir is refused (and the first one is untouched);
 * once the first is gone (killed, its lock goes with it) the directory is usable. */
START_TEST(second_campaign_on_the_same_out_dir_is_refused)
{
    const char *out = test_temp_dir();
    const char *seeds = seed_dir();
    pid_t first = spawn_symhv((const char *const[]){ "fuzz", "-i", seeds, "-o", out, "--kernel",
                                                     "@symhv-kernel", "--target", "@fuzz_magic",
                                                     "--max-time", "120", NULL });
    wait_for_stats(out);
    expect_symhv((const char *const[]){ "fuzz", "-i", seeds, "-o", out, "--kernel",
                                        "@symhv-kernel", "--target", "@fuzz_magic",
                                        "--max-execs", "10", NULL },
                 125, NULL, "is in use by another symhv fuzz");
    ck_assert_int_eq(kill(first, 0), 0); /* still running */
    kill(first, SIGKILL);
    waitpid(first, NULL, 0);
    expect_symhv((const char *const[]){ "fuzz", "-o", out, "--kernel", "@symhv-kernel",
                                        "--target", "@fuzz_magic", "--concolic-every", "0",
                                        "--max-execs", "10", NULL },
                 0, NULL, NULL);
}
END_TEST


/* Does dir hold a file whose name contains `part`? */
static bool has_file_named(const char *dir, const char *part)
{
    DIR *h = opendir(dir);
    bool found = false;
    for (struct dirent *e; h && !found && (e = readdir(h));)
        found = strstr(e->d_name, part) != NULL;
    if (h)
        closedir(h);
    return found;
}

static double instance_stat(const char *sync, const char *name, const char *key)
{
    char dir[600];
    snprintf(dir, sizeof dir, "%s/%s", sync, name);
    return output_value(dir, "fuzzer_stats", key);
}

/* -M/-S with -o SYNC_DIR: a hybrid instance's finds (past the magic) reach a
 * mutation-only instance, which keeps them and imports each only once; afl-whatsup
 * reads both instances' fuzzer_stats. */
START_TEST(instances_share_finds_through_the_sync_dir)
{
    const char *sync = test_temp_dir();
    const char *seeds = seed_dir();
    expect_symhv((const char *const[]){ "fuzz", "-i", seeds, "-o", sync, "-M", "a", "--kernel",
                                        "@symhv-kernel", "--target", "@fuzz_magic",
                                        "--concolic-every", "300", "--max-execs", "3000",
                                        "--rng-seed", "7", "--no-cmplog", NULL },
                 0, NULL, NULL);
    ck_assert_int_ge(instance_stat(sync, "a", "solver_inputs_kept"), 1);
    const char *b_args[] = { "fuzz", "-v", "-i", seeds, "-o", sync, "-S", "b", "--kernel",
                             "@symhv-kernel", "--target", "@fuzz_magic", "--concolic-every",
                             "0", "--max-execs", "300", "--rng-seed", "7", "--no-cmplog", NULL };
    expect_symhv(b_args, 0, NULL, "inputs imported from the other instances");
    char dir[600];
    snprintf(dir, sizeof dir, "%s/b/queue", sync);
    ck_assert_msg(has_file_named(dir, ",sync:a,"), "nothing from instance a kept in %s", dir);
    ck_assert_int_ge(instance_stat(sync, "b", "corpus_imported"), 1);
    /* again (resumed, -i - as in afl-fuzz): nothing new to import */
    expect_symhv((const char *const[]){ "fuzz", "-i", "-", "-o", sync, "-S", "b", "--kernel",
                                        "@symhv-kernel", "--target", "@fuzz_magic",
                                        "--concolic-every", "0", "--max-execs", "100", NULL },
                 0, NULL, NULL);
    ck_assert_int_eq(instance_stat(sync, "b", "sync_imported"), 0);

    char cmd[700];
    snprintf(cmd, sizeof cmd, "afl-whatsup -s -d %s 2>/dev/null", sync);
    FILE *p = popen(cmd, "r");
    ck_assert_ptr_nonnull(p);
    char out[4096] = "";
    size_t n = fread(out, 1, sizeof out - 1, p);
    out[n] = 0;
    int rc = pclose(p);
    ck_assert_msg(rc == 0, "afl-whatsup (from Debian's afl++, scripts/setup installs it) "
                           "failed with %d:\n%s", rc, out);
    ck_assert_contains(out, "Dead or remote : 2");
    ck_assert_contains(out, "Crashes saved : ");
}
END_TEST

/* AFL++ and symhv on one sync directory: afl-fuzz (a native build of the same target)
 * imports symhv's finds, and symhv imports AFL++'s. afl-fuzz gets 15 s, and imports
 * before it runs its own seeds (AFL_IMPORT_FIRST): on a loaded 2-core machine, and in
 * the nested rig, -V ran out before its first sync now and then. */
START_TEST(afl_plus_plus_and_symhv_import_each_other)
{
    const char *work = test_temp_dir();
    char native[600], cmd[2400];
    snprintf(native, sizeof native, "%s/fuzz_magic_native", work);
    snprintf(cmd, sizeof cmd, "AFL_QUIET=1 afl-clang-fast -fsanitize=fuzzer -O1 %s/../guest/programs/fuzz_magic.c -o %s 2>&1",
             getenv("SYMHV_SOURCE_DIR"), native);
    ck_assert_msg(system(cmd) == 0, "could not build the target with afl-clang-fast: %s", cmd);
    const char *sync = test_temp_dir();
    const char *seeds = seed_dir();
    expect_symhv((const char *const[]){ "fuzz", "-i", seeds, "-o", sync, "-M", "symhv", "--kernel",
                                        "@symhv-kernel", "--target", "@fuzz_magic",
                                        "--concolic-every", "300", "--max-execs", "2000",
                                        "--rng-seed", "7", NULL },
                 0, NULL, NULL);
    snprintf(cmd, sizeof cmd,
             "AFL_NO_UI=1 AFL_SKIP_CPUFREQ=1 AFL_NO_AFFINITY=1 AFL_SYNC_TIME=1 AFL_IMPORT_FIRST=1 "
             "AFL_I_DONT_CARE_ABOUT_MISSING_CRASHES=1 AFL_SKIP_BIN_CHECK=0 "
             "timeout 120 afl-fuzz -i %s -o %s -S afl -V 15 -- %s >%s/afl.log 2>&1",
             seeds, sync, native, work);
    ck_assert_msg(system(cmd) == 0, "afl-fuzz failed, see %s/afl.log", work);
    char dir[600];
    snprintf(dir, sizeof dir, "%s/afl/queue", sync);
    ck_assert_msg(has_file_named(dir, ",sync:symhv,"), "AFL++ kept nothing from symhv in %s", dir);
    expect_symhv((const char *const[]){ "fuzz", "-i", seeds, "-o", sync, "-S", "late", "--kernel",
                                        "@symhv-kernel", "--target", "@fuzz_magic",
                                        "--concolic-every", "0", "--max-execs", "100", NULL },
                 0, NULL, NULL);
    snprintf(dir, sizeof dir, "%s/late/.synced/afl", sync);
    ck_assert_msg(access(dir, F_OK) == 0, "symhv imported nothing from AFL++ (%s)", dir);
}
END_TEST

/* AFL++'s letters mean AFL++'s things in symhv fuzz, or are refused (-c, the CMPLOG
 * binary, is the realworld suite's; beside a --target there is no program to pair it
 * with). */
START_TEST(afl_letters_are_honoured_or_refused)
{
    const char *seeds = seed_dir();
    expect_symhv((const char *const[]){ "fuzz", "-i", seeds, "-o", test_temp_dir(), "-m", "none",
                                        "--kernel", "@symhv-kernel", "--target", "@fuzz_magic",
                                        NULL },
                 125, NULL, "-m means a memory limit for the target in afl-fuzz");
    expect_symhv((const char *const[]){ "fuzz", "-i", seeds, "-o", test_temp_dir(), "-c", "0",
                                        "--kernel", "@symhv-kernel", "--target", "@fuzz_magic",
                                        NULL },
                 125, NULL, "-c: the CMPLOG binary runs on symhv's kernel beside a program");
    expect_symhv((const char *const[]){ "fuzz", "-i", seeds, "-o", test_temp_dir(), "-M", "a/b",
                                        "--kernel", "@symhv-kernel", "--target", "@fuzz_magic",
                                        NULL },
                 125, NULL, "expects an instance name");
    expect_symhv((const char *const[]){ "-M", "a", "--kernel", "@symhv-kernel", NULL }, 125, NULL,
                 "-M is an option of `symhv fuzz`");
    /* -t is the per-execution timeout in ms: a 1 ms budget makes hangs of executions */
    const char *out = test_temp_dir();
    expect_symhv((const char *const[]){ "fuzz", "-i", seeds, "-o", out, "-t", "50", "-V", "3",
                                        "--kernel", "@symhv-kernel", "--target", "@fuzz_magic",
                                        "--concolic-every", "0", NULL },
                 0, NULL, NULL);
    ck_assert_int_eq(stat_value(out, "exec_timeout"), 50);
    ck_assert_int_le(stat_value(out, "run_time"), 10);
}
END_TEST


/* Resuming (-i -, as in afl-fuzz) goes on where the campaign was: its counters continue,
 * its known crash is recognised and not saved again; seeds for a directory that holds a
 * campaign are refused with a hint. */
START_TEST(resumed_campaign_keeps_counters_and_known_crashes)
{
    const char *seeds = seed_dir_of("AAAA");
    const char *out = test_temp_dir();
    const char *const run[] = { "fuzz", "-i", seeds, "-o", out, "--kernel", "@symhv-kernel",
                                "--target", "@fuzz_wild", "--concolic-every", "0",
                                "--max-execs", "2000", "--rng-seed", "3", NULL };
    expect_symhv(run, 0, NULL, NULL);
    ck_assert_int_eq(stat_value(out, "saved_crashes"), 1);
    double crashes_before = stat_value(out, "total_crashes");
    ck_assert_int_ge(crashes_before, 1);
    expect_symhv(run, 125, NULL, "holds a campaign already");
    expect_symhv((const char *const[]){ "fuzz", "-v", "-i", "-", "-o", out, "--kernel",
                                        "@symhv-kernel", "--target", "@fuzz_wild",
                                        "--concolic-every", "0", "--max-execs", "2000",
                                        "--rng-seed", "4", NULL },
                 0, NULL, "fuzz: resuming");
    ck_assert_int_eq(stat_value(out, "execs_done"), 4000);
    ck_assert_int_gt(stat_value(out, "total_crashes"), crashes_before);
    ck_assert_int_eq(stat_value(out, "saved_crashes"), 1);
    char dir[600];
    snprintf(dir, sizeof dir, "%s/crashes", out);
    DIR *d = opendir(dir);
    int files = 0;
    for (struct dirent *e; d && (e = readdir(d));)
        files += e->d_name[0] != '.';
    if (d)
        closedir(d);
    ck_assert_int_eq(files, 1);
    expect_symhv((const char *const[]){ "fuzz", "-i", "-", "-o", test_temp_dir(), "--kernel",
                                        "@symhv-kernel", "--target", "@fuzz_wild", NULL },
                 125, NULL, "no campaign to resume");
}
END_TEST


/* The compare log (input-to-state): without the solver, the 4-byte magic is put into an
 * input from the compare that rejects it, and the TLV parser's record (type 7, length
 * 0x41, then 65 bytes: inputs must grow) is found from a 6-byte seed in every run. */
START_TEST(compare_log_gets_past_magic_values)
{
    static const char *const rng[] = { "1", "2", "3" };
    const char *out = test_temp_dir();
    expect_symhv((const char *const[]){ "fuzz", "-i", seed_dir(), "-o", out, "--kernel",
                                        "@symhv-kernel", "--target", "@fuzz_magic",
                                        "--concolic-every", "0", "--max-execs", "4000",
                                        "--until-crash", "--rng-seed", rng[_i], NULL },
                 0, NULL, NULL);
    ck_assert_int_eq(stat_value(out, "saved_crashes"), 1);
    ck_assert_int_ge(stat_value(out, "cmplog_inputs_kept"), 1);
    ck_assert_int_eq(stat_value(out, "solver_inputs"), 0);

    out = test_temp_dir();
    expect_symhv((const char *const[]){ "fuzz", "-i", seed_dir_of("\x01\x02" "AB\x03"), "-o", out,
                                        "--kernel", "@symhv-kernel", "--target", "@fuzz_tlv",
                                        "--concolic-every", "0", "--max-execs", "20000",
                                        "--until-crash", "--rng-seed", rng[_i], NULL },
                 0, NULL, NULL);
    ck_assert_int_eq(stat_value(out, "saved_crashes"), 1);
    const char *crash = first_file(out, "crashes");
    ck_assert_ptr_nonnull(crash);
    expect_symhv((const char *const[]){ "replay", crash, "--kernel", "@symhv-kernel", "--initrd",
                                        "@fuzz_tlv", NULL },
                 126, NULL, "page fault (#PF)");
}
END_TEST


static void write_input(const char *dir, const char *name, const void *data, size_t len)
{
    char path[700];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    ck_assert_ptr_nonnull(f);
    ck_assert_uint_eq(fwrite(data, 1, len, f), len);
    fclose(f);
}

/* symhv cmin keeps the smallest input of each coverage and leaves out crashing ones;
 * symhv tmin shrinks a crash to the bytes that matter, and it still crashes the same. */
START_TEST(cmin_and_tmin_shrink_corpus_and_crash)
{
    const char *in = test_temp_dir();
    write_input(in, "a", "AAAAAAAA", 8);                /* size ok, no magic */
    write_input(in, "b", "AAAAAAAABBBBBBBB", 16);       /* the same coverage, larger */
    write_input(in, "c", "MHFZxxxx", 8);                /* crashes */
    write_input(in, "d", "Q", 1);                       /* too short: other coverage */
    char out[600];
    snprintf(out, sizeof out, "%s/min", test_temp_dir());
    expect_symhv((const char *const[]){ "cmin", "-i", in, "-o", out, "--kernel", "@symhv-kernel",
                                        "--target", "@fuzz_magic", NULL },
                 0, NULL, "2 of 4 inputs keep all the coverage (1 crashed or hung, left out)");
    size_t len;
    char *a = read_output_file(out, "a", &len); /* as afl-cmin: under their own names */
    ck_assert_uint_eq(len, 8);
    free(a);
    char *d = read_output_file(out, "d", &len);
    ck_assert_uint_eq(len, 1);
    free(d);
    expect_symhv((const char *const[]){ "cmin", "-i", in, "-o", out, "--kernel", "@symhv-kernel",
                                        "--target", "@fuzz_magic", NULL },
                 125, NULL, "is not empty");

    /* tmin: a TLV crash padded with junk shrinks to the record that crashes */
    uint8_t crash[200];
    memset(crash, 'j', sizeof crash);
    crash[0] = 7, crash[1] = 0x41;        /* type 7, length 0x41, 65 bytes, then junk */
    const char *work = test_temp_dir();
    write_input(work, "crash", crash, sizeof crash);
    char crash_path[700], small[700];
    snprintf(crash_path, sizeof crash_path, "%s/crash", work);
    snprintf(small, sizeof small, "%s/small", work);
    expect_symhv((const char *const[]){ "tmin", "-i", crash_path, "-o", small, "--kernel",
                                        "@symhv-kernel", "--target", "@fuzz_tlv", NULL },
                 0, NULL, "symhv tmin: 200 -> 67 bytes");
    char *m = read_output_file(work, "small", &len);
    ck_assert_uint_eq(len, 67);
    ck_assert_uint_eq((uint8_t)m[0], 7);
    ck_assert_uint_eq((uint8_t)m[1], 0x41);
    free(m);
    expect_symhv((const char *const[]){ "replay", small, "--kernel", "@symhv-kernel", "--initrd",
                                        "@fuzz_tlv", NULL },
                 126, NULL, "page fault (#PF)");
    /* an input that does not crash is refused */
    expect_symhv((const char *const[]){ "tmin", "-i", crash_path, "-o", small, "--kernel",
                                        "@symhv-kernel", "--target", "@fuzz_magic", NULL },
                 125, NULL, "the input does not crash the target");
}
END_TEST


/* A bug with no branch in front of it (1000 / (x - 0x1234abcd)): the solver's division
 * by zero candidate makes the input, the execution crashes with SIGFPE's number. */
START_TEST(division_by_zero_is_found_without_a_branch)
{
    const char *out = test_temp_dir();
    expect_symhv((const char *const[]){ "fuzz", "-i", seed_dir(), "-o", out, "--kernel",
                                        "@symhv-kernel", "--target", "@fuzz_div",
                                        "--concolic-every", "100", "--max-execs", "2000",
                                        "--until-crash", "--no-cmplog", "--rng-seed", "5", NULL },
                 0, NULL, NULL);
    ck_assert_int_eq(stat_value(out, "saved_crashes"), 1);
    char dir[600];
    snprintf(dir, sizeof dir, "%s/crashes", out);
    ck_assert_msg(has_file_named(dir, "sig:08,src:solver"), "no solver-made #DE in %s", dir);
}
END_TEST


/* Queue entries are trimmed as AFL++ trims them: a 64-byte seed of which the target
 * only needs 8 bytes (size >= 8, then a magic it does not match) is kept, and saved, as
 * 8 bytes. */
START_TEST(queue_entries_are_trimmed)
{
    char seed[65];
    memset(seed, 'z', 64);
    memcpy(seed, "AAAAAAAA", 8);
    seed[64] = 0;
    const char *out = test_temp_dir();
    expect_symhv((const char *const[]){ "fuzz", "-i", seed_dir_of(seed), "-o", out, "--kernel",
                                        "@symhv-kernel", "--target", "@fuzz_magic",
                                        "--concolic-every", "0", "--no-cmplog", "--max-execs",
                                        "300", "--rng-seed", "1", NULL },
                 0, NULL, NULL);
    ck_assert_int_ge(stat_value(out, "trimmed_bytes"), 56);
    size_t len;
    char *trimmed = read_output_file(out, "queue/id:000000,orig:seed", &len);
    ck_assert_uint_eq(len, 8); /* any 8 of them: the target only needs 8 bytes */
    free(trimmed);
}
END_TEST


/* symhv explore: no mutation, every queue entry concolic once, the solver's inputs run
 * from the snapshot: the magic and the checksum behind it give way, the crash replays,
 * and the search ends by itself when nothing is left to flip. */
START_TEST(explore_searches_to_the_end)
{
    const char *out = test_temp_dir();
    expect_symhv((const char *const[]){ "explore", "-i", seed_dir(), "-o", out, "--kernel",
                                        "@symhv-kernel", "--target", "@fuzz_magic",
                                        "--no-cmplog", NULL },
                 0, NULL, "the search is complete");
    ck_assert_int_eq(stat_value(out, "saved_crashes"), 1);
    ck_assert_int_ge(stat_value(out, "concolic_runs"), 2);
    const char *crash = first_file(out, "crashes");
    ck_assert_ptr_nonnull(crash);
    ck_assert_ptr_nonnull(strstr(crash, "src:solver"));
    expect_symhv((const char *const[]){ "replay", crash, "--kernel", "@symhv-kernel", "--initrd",
                                        "@fuzz_magic", NULL },
                 126, NULL, "page fault (#PF)");
    /* the demo's magic marks its own buffer (symhv_make_symbolic) on 2 vCPUs, another
     * thread counting: the magic and the checksum behind it are found the same way */
    const char *out2 = test_temp_dir();
    expect_symhv((const char *const[]){ "explore", "-i", seed_dir(), "-o", out2, "--smp", "2",
                                        "--kernel", "@symhv-kernel", "--target", "@magic", NULL },
                 0, NULL, "the search is complete");
    ck_assert_int_eq(stat_value(out2, "corpus_count"), 3); /* the seed, the magic, the sum */
    /* a program that never reads an input: said, not guessed */
    expect_symhv((const char *const[]){ "explore", "-i", seed_dir(), "-o", test_temp_dir(),
                                        "--kernel", "@symhv-kernel", "--target", "@counter", NULL },
                 125, NULL, "must call symhv_make_symbolic");
}
END_TEST

/* The solver makes inputs longer: the wrapper reads the input's length from a word
 * symhv marks symbolic in concolic runs, so from a 5-byte seed the search alone (no
 * compare log, no mutation) reaches the TLV record of 67 bytes that crashes. */
START_TEST(explore_grows_inputs_through_the_length)
{
    const char *out = test_temp_dir();
    expect_symhv((const char *const[]){ "explore", "-i", seed_dir_of("\x01\x02" "AB\x03"), "-o",
                                        out, "--kernel", "@symhv-kernel", "--target", "@fuzz_tlv",
                                        "--no-cmplog", "--until-crash", "-V", "240", NULL },
                 0, NULL, NULL);
    ck_assert_int_eq(stat_value(out, "saved_crashes"), 1);
    const char *crash = first_file(out, "crashes");
    ck_assert_ptr_nonnull(crash);
    ck_assert_ptr_nonnull(strstr(crash, "src:solver"));
    struct stat st;
    ck_assert_int_eq(stat(crash, &st), 0);
    ck_assert_int_ge(st.st_size, 67);
    expect_symhv((const char *const[]){ "replay", crash, "--kernel", "@symhv-kernel", "--initrd",
                                        "@fuzz_tlv", NULL },
                 126, NULL, "page fault (#PF)");
}
END_TEST

/* A 12-character password checked with the runtime's strcmp (no coverage inside it): the
 * runtime logs the compared strings, and the password goes into an input, in fuzz and
 * in explore alike. */
START_TEST(strcmp_password_comes_from_the_compare_log)
{
    static const char *const modes[] = { "fuzz", "explore" };
    const char *out = test_temp_dir();
    expect_symhv((const char *const[]){ modes[_i], "-i", seed_dir(), "-o", out, "--kernel",
                                        "@symhv-kernel", "--target", "@fuzz_password",
                                        "--concolic-every", "0", "--max-execs", "100",
                                        "--until-crash", NULL },
                 0, NULL, NULL);
    ck_assert_int_eq(stat_value(out, "saved_crashes"), 1);
    size_t len;
    const char *crash = first_file(out, "crashes");
    ck_assert_ptr_nonnull(crash);
    char *bytes = read_output_file(out, crash + strlen(out) + 1, &len);
    ck_assert_uint_ge(len, 12);
    ck_assert_mem_eq(bytes, "s3cr3t_p4ss!", 12);
    free(bytes);
}
END_TEST

int main(void)
{
    skip_suite_without_kvm("fuzz");
    Suite *s = suite_create("fuzz");
    TCase *tc = tcase_create("fuzz");
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, every_execution_starts_from_the_snapshot_on_two_vcpus);
    tcase_add_test(tc, hangs_are_cut_saved_and_fuzzing_goes_on);
    tcase_add_test(tc, mutation_alone_misses_the_magic);
    tcase_add_test(tc, hybrid_run_finds_the_crash_and_it_replays);
    tcase_add_test(tc, background_solving_brings_the_crash);
    tcase_add_test(tc, killed_run_keeps_its_crash_and_resumes);
    tcase_add_test(tc, fuzz_arguments_are_checked);
    tcase_add_test(tc, racing_fuzz_starts_take_one_snapshot);
    tcase_add_test(tc, answers_survive_the_snapshot_settle);
    tcase_add_test(tc, refused_registrations_can_be_made_again);
    tcase_add_test(tc, two_megabyte_buffers_before_the_snapshot);
    tcase_add_loop_test(tc, machine_level_crash_is_saved_and_fuzzing_goes_on, 0, 2);
    tcase_add_test(tc, interrupted_campaign_exits_130);
    tcase_add_test(tc, second_campaign_on_the_same_out_dir_is_refused);
    tcase_add_test(tc, instances_share_finds_through_the_sync_dir);
    tcase_add_test(tc, afl_plus_plus_and_symhv_import_each_other);
    tcase_add_test(tc, afl_letters_are_honoured_or_refused);
    tcase_add_test(tc, resumed_campaign_keeps_counters_and_known_crashes);
    tcase_add_loop_test(tc, compare_log_gets_past_magic_values, 0, 3);
    tcase_add_test(tc, cmin_and_tmin_shrink_corpus_and_crash);
    tcase_add_test(tc, division_by_zero_is_found_without_a_branch);
    tcase_add_test(tc, queue_entries_are_trimmed);
    tcase_add_test(tc, explore_searches_to_the_end);
    tcase_add_test(tc, explore_grows_inputs_through_the_length);
    tcase_add_loop_test(tc, strcmp_password_comes_from_the_compare_log, 0, 2);
    suite_add_tcase(s, tc);
    return run_suite(s);
}
