/* Unmodified static Linux programs on symhv's kernel (suite linux-abi): programs built
 * here with musl-gcc -static and gcc -static -pthread, run with `symhv run -- PROGRAM`:
 * arguments, environment and exit status; threads on several vCPUs; memory, files of a
 * cpio archive, signals; crashes reported as the signal they are; symbolic files, stdin
 * and arguments found by the solver and replayed; the errors for programs symhv cannot
 * start. */
#include <check.h>
#include "check_main.h"
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "symhv_run.h"

static const char *const libcs[] = { "musl", "glibc" };

/* "%name_musl" or "%name_glibc" for loop test _i. */
static const char *prog(const char *name, int i)
{
    static char buf[8][64];
    static int next;
    char *b = buf[next++ % 8];
    snprintf(b, 64, "%%%s_%s", name, libcs[i]);
    return b;
}

static void expect_status(const struct run_result *r, int status)
{
    ck_assert_msg(r->status == status, "status %d (expected %d); stdout:\n%s\nstderr:\n%s",
                  r->status, status, r->out, r->err);
}

START_TEST(arguments_environment_and_exit_status)
{
    struct run_result r;
    run_symhv(&r, (const char *const[]){ "run", "--env", "GREETING=hello there", "--",
                                         prog("lx_hello", _i), "one", "two words", "42", NULL });
    expect_status(&r, 42);
    ck_assert_contains(r.out, "argc 4\n");
    ck_assert_contains(r.out, "argv[2] two words\n");
    ck_assert_contains(r.out, "argv[3] 42\n");
    ck_assert_contains(r.out, "GREETING hello there\n");
    ck_assert_contains(r.err, "to stderr\n"); /* the program's stderr is symhv's */
    ck_assert_msg(!strstr(r.out, "symhv-kernel"), "kernel notes in the program's stdout:\n%s", r.out);
    run_result_free(&r);
}
END_TEST

/* A static PIE (gcc -static-pie) goes where position-independent programs go and
 * relocates itself. */
START_TEST(static_pie_runs)
{
    struct run_result r;
    run_symhv(&r, (const char *const[]){ "run", "--", "%lx_hello_pie", "pie", "9", NULL });
    expect_status(&r, 9);
    ck_assert_contains(r.out, "argv[1] pie\n");
    run_result_free(&r);
}
END_TEST

/* Four threads on two vCPUs: the locked counter is exact, the joins return each
 * thread's value, and the threads ran on both vCPUs (sched_getcpu). (A contended lock
 * is a futex call, a trip through ring 0: a few hundred us where ring 0 is emulated.) */
START_TEST(pthreads_run_on_every_vcpu)
{
    struct run_result r;
    run_symhv(&r, (const char *const[]){ "run", "--smp", "2", "--timeout", "120", "--",
                                         prog("lx_threads", _i), "4", "3000", NULL });
    expect_status(&r, 0);
    ck_assert_contains(r.out, "nproc 2\n");
    ck_assert_contains(r.out, "counter 12000 expected 12000 joined 24000 cpus 2\n");
    run_result_free(&r);
}
END_TEST

START_TEST(memory_files_signals_and_time)
{
    const char *dir = test_temp_dir();
    char archive[256];
    snprintf(archive, sizeof archive, "%s/root.cpio", dir);
    const struct cpio_member files[] = {
        { ".", 040755, NULL },
        { "data", 040755, NULL },
        { "data/hello.txt", 0100644, "hello from the archive\n" },
        { "data/other", 0100644, "x" },
        { "data/link", 0120777, "hello.txt" },
    };
    write_cpio(archive, files, sizeof files / sizeof files[0]);
    struct run_result r;
    run_symhv(&r, (const char *const[]){ "run", "--initrd", archive, "--timeout", "120", "--",
                                         prog("lx_misc", _i), NULL });
    expect_status(&r, 7);
    ck_assert_contains(r.out, "memory ok ");
    ck_assert_contains(r.out, "read 23 of 23: hello from the archive\n");
    ck_assert_contains(r.out, "after lseek: from\n");
    ck_assert_contains(r.out, "fgets: hello from the archive\n");
    ck_assert_contains(r.out, "entries in /data: 3\n");
    ck_assert_contains(r.out, "missing: -1 errno 2\n");  /* ENOENT */
    ck_assert_contains(r.out, "writing: -1 errno 30\n"); /* EROFS */
    ck_assert_contains(r.out, "cwd /\n");
    ck_assert_contains(r.out, "exe lx_misc_");
    ck_assert_contains(r.out, "null reads 0\n");
    ck_assert_contains(r.out, "segv handled at 0x10\n");
    ck_assert_contains(r.out, "usr1 handled 10\n");
    ck_assert_contains(r.out, "sleep ok\n");
    ck_assert_contains(r.out, "realtime ok\n");
    run_result_free(&r);
}
END_TEST

/* A NULL write, abort() and a division by zero end the run as crashes (126), named by
 * the signal a Linux process dies of, with the program's registers and instruction. */
START_TEST(crashes_are_the_signals_linux_sends)
{
    static const struct { const char *mode, *why; } cases[] = {
        { "null", "page fault (#PF) at rip 0x" },
        { "abort", "guest program killed by SIGABRT at rip 0x" },
        { "div", "divide error (#DE) at rip 0x" },
    };
    static const char *const signals[] = { "(SIGSEGV)", "SIGABRT", "(SIGFPE)" };
    for (size_t k = 0; k < 3; k++) {
        struct run_result r;
        run_symhv(&r, (const char *const[]){ "run", "--timeout", "60", "--",
                                             prog("lx_misc", _i), cases[k].mode, NULL });
        expect_status(&r, 126);
        ck_assert_contains(r.err, cases[k].why);
        ck_assert_contains(r.err, signals[k]);
        ck_assert_contains(r.err, "program registers (vCPU 0):");
        ck_assert_contains(r.err, "instruction at rip: ");
        run_result_free(&r);
    }
}
END_TEST

static char *write_temp(const char *dir, const char *name, const void *data, size_t len)
{
    static char path[8][256];
    static int next;
    char *p = path[next++ % 8];
    snprintf(p, 256, "%s/%s", dir, name);
    FILE *f = fopen(p, "wb");
    ck_assert_ptr_nonnull(f);
    ck_assert_int_eq(fwrite(data, 1, len, f), len);
    fclose(f);
    return p;
}

/* --sym-file: the parser reads its file unmodified; one generation from a plain seed
 * finds the magic, the next the checksum behind it, and that input replays to the
 * crash. */
START_TEST(symbolic_file_finds_the_bug_and_replays)
{
    const char *out1 = test_temp_dir(), *out2 = test_temp_dir(), *tmp = test_temp_dir();
    const char *seed = write_temp(tmp, "seed", "AAAAAAAAAAAAAAAA", 16);
    struct run_result r;
    run_symhv(&r, (const char *const[]){ "run", "--smp", "2", "--sym-file", "/input", "--seed",
                                         seed, "-o", out1, "--timeout", "200", "--",
                                         prog("lx_parser", _i), "/input", NULL });
    expect_status(&r, 0);
    ck_assert_contains(r.out, "done\n");
    run_result_free(&r);
    size_t len;
    char *gen1 = read_output_file(out1, "branch-000-input.bin", &len);
    ck_assert_int_eq(len, 16);
    ck_assert_msg(memcmp(gen1, "SYMH", 4) == 0, "generation 1 did not find the magic");
    char gen1_path[256];
    snprintf(gen1_path, sizeof gen1_path, "%s/branch-000-input.bin", out1);

    run_symhv(&r, (const char *const[]){ "run", "--sym-file", "/input", "--seed", gen1_path,
                                         "-o", out2, "--timeout", "200", "--",
                                         prog("lx_parser", _i), "/input", NULL });
    expect_status(&r, 0);
    ck_assert_contains(r.out, "magic ok\n");
    run_result_free(&r);
    /* the flip of the checksum branch: bytes 4 and 5 add up to 0x90 */
    char crash[256] = "";
    for (int b = 0; b < 8 && !crash[0]; b++) {
        char name[64];
        snprintf(name, sizeof name, "branch-%03d-input.bin", b);
        if (!output_file_exists(out2, name))
            continue;
        char *bytes = read_output_file(out2, name, &len);
        if (len >= 6 && !memcmp(bytes, "SYMH", 4) &&
            (unsigned char)bytes[4] + (unsigned char)bytes[5] == 0x90)
            snprintf(crash, sizeof crash, "%s/%s", out2, name);
        free(bytes);
    }
    ck_assert_msg(crash[0], "generation 2 made no input for the checksum branch");
    free(gen1);

    run_symhv(&r, (const char *const[]){ "replay", crash, "--sym-file", "/input", "--timeout",
                                         "60", "--", prog("lx_parser", _i), "/input", NULL });
    expect_status(&r, 126);
    ck_assert_contains(r.out, "checksum ok\n");
    ck_assert_contains(r.err, "(SIGSEGV)");
    run_result_free(&r);
}
END_TEST

/* A seed file of `len` bytes of 'a' in dir (static buffer for its path). */
static const char *filled_seed(const char *dir, size_t len)
{
    static char path[8][300];
    static int next;
    char *p = path[next++ % 8];
    snprintf(p, 300, "%s/seed-%zu", dir, len);
    FILE *f = fopen(p, "wb");
    ck_assert_ptr_nonnull(f);
    for (size_t i = 0; i < len; i++)
        ck_assert_int_ne(fputc('a', f), EOF);
    ck_assert_int_eq(fclose(f), 0);
    return p;
}

/* The first branch-NNN-<input>.bin in out (of `len` bytes) with byte `at` == want; its
 * path in a static buffer, or "" if none. */
static const char *branch_file_with(const char *out, const char *input, size_t len, size_t at,
                                    char want)
{
    static char found[300];
    found[0] = 0;
    for (int b = 0; b < 1000 && !found[0]; b++) {
        char name[64];
        snprintf(name, sizeof name, "branch-%03d-%s.bin", b, input);
        if (!output_file_exists(out, name))
            continue;
        size_t n;
        char *bytes = read_output_file(out, name, &n);
        if (n == len && bytes[at] == want)
            snprintf(found, sizeof found, "%s/%s", out, name);
        free(bytes);
    }
    return found;
}

/* Inputs of real size through one read() loop: 65 bytes, 4 KiB, 64 KiB and 1 MiB (a
 * read of more than 64 symbolic bytes once ended every run: KVM completed the kernel's
 * rep movsb one byte per exit). The solver's input drives the other side; in the two
 * large ones the bug needs byte 3000 and byte 60000: two generations, then it replays. */
START_TEST(symbolic_reads_of_every_size)
{
    static const size_t sizes[] = { 65, 4096, 65536, 1u << 20 };
    size_t len = sizes[_i];
    const char *tmp = test_temp_dir(), *out = test_temp_dir();
    const char *seed = filled_seed(tmp, len);
    char said[64];
    snprintf(said, sizeof said, "lx_bigread: %zu bytes by read\n", len);
    struct run_result r;
    run_symhv(&r, (const char *const[]){ "run", "--mem", "512M", "--sym-file", "/input",
                                         "--seed", seed, "-o", out, "--timeout", "400", "--",
                                         "%lx_bigread_musl", "/input", "read", NULL });
    expect_status(&r, 0);
    ck_assert_contains(r.out, said);
    run_result_free(&r);
    ck_assert_double_ge(summary_value(out, "symbolic branches"), 1);
    bool large = len > 60000;
    char first[300];
    snprintf(first, sizeof first, "%s", branch_file_with(out, "input", len, large ? 3000 : len - 1,
                                                          large ? 'X' : 'Z'));
    ck_assert_msg(first[0], "no input takes the other side of the first check (%zu bytes)", len);
    char bug[300];
    snprintf(bug, sizeof bug, "%s", first);
    if (large) { /* the next generation: byte 60000 */
        const char *out2 = test_temp_dir();
        run_symhv(&r, (const char *const[]){ "run", "--mem", "512M", "--sym-file", "/input",
                                             "--seed", first, "-o", out2, "--timeout", "400",
                                             "--", "%lx_bigread_musl", "/input", "read", NULL });
        expect_status(&r, 0);
        run_result_free(&r);
        snprintf(bug, sizeof bug, "%s", branch_file_with(out2, "input", len, 60000, 'Y'));
        ck_assert_msg(bug[0], "generation 2 made no input with byte 60000 = 'Y'");
    }
    run_symhv(&r, (const char *const[]){ "replay", bug, "--mem", "512M", "--sym-file", "/input",
                                         "--timeout", "200", "--", "%lx_bigread_musl", "/input",
                                         "read", NULL });
    expect_status(&r, 126);
    ck_assert_contains(r.out, "lx_bigread: the bug\n");
    ck_assert_contains(r.err, "killed by SIGABRT");
    run_result_free(&r);
}
END_TEST

/* Every way programs read a file, with both libcs, at 4 KiB: fread, pread, readv, mmap
 * and stdin; the flip of the last byte replays to the bug. */
START_TEST(symbolic_reads_by_every_path)
{
    static const char *const ways[] = { "fread", "pread", "readv", "mmap", "stdin" };
    const char *way = ways[_i / 2];
    const char *tmp = test_temp_dir(), *out = test_temp_dir();
    const char *seed = filled_seed(tmp, 4096);
    bool in = strcmp(way, "stdin") == 0;
    struct run_result r;
    run_symhv(&r, (const char *const[]){ "run", in ? "--sym-stdin" : "--sym-file",
                                         in ? "4096" : "/input", "--seed", seed, "-o", out,
                                         "--timeout", "400", "--", prog("lx_bigread", _i % 2),
                                         "/input", way, NULL });
    expect_status(&r, 0);
    ck_assert_contains(r.out, "lx_bigread: 4096 bytes by ");
    run_result_free(&r);
    const char *bug = branch_file_with(out, in ? "stdin" : "input", 4096, 4095, 'Z');
    ck_assert_msg(bug[0], "%s: no input flips the last byte's check", way);
    char path[300];
    snprintf(path, sizeof path, "%s", bug);
    run_symhv(&r, (const char *const[]){ "replay", path, in ? "--sym-stdin" : "--sym-file",
                                         in ? "4096" : "/input", "--timeout", "200", "--",
                                         prog("lx_bigread", _i % 2), "/input", way, NULL });
    expect_status(&r, 126);
    ck_assert_contains(r.err, "killed by SIGABRT");
    run_result_free(&r);
}
END_TEST

/* Symbolic data follows the program's own synchronisation across vCPUs: a producer
 * thread pushes 3 * input[i] + 1 into a ring under a pthread mutex, the main thread
 * pops and branches on them on the other vCPU; the flip that makes the sixth value come
 * from a 'Q' replays to the bug. (The producer's values were pinned through a stale
 * register at its next system call, and the consumer's branches could not flip.)
 * Whether one run sees the sixth value's branch depends on the two threads' timing: a
 * value still in a register when its thread stops for a system call (glibc's unlock of a
 * contended mutex: a futex wake) goes on concrete, as the README says, and a branch on it
 * after that is not seen. On PVM about 4 glibc runs in 10 miss it, no musl run: so up to
 * 8 runs, the first that flips it counts. */
#define QUEUE_RUNS 8
START_TEST(symbolic_values_cross_vcpus_through_a_locked_queue)
{
    const char *tmp = test_temp_dir();
    const char *seed = write_temp(tmp, "seed", "ABCDEFGHIJKLMNOP", 16);
    struct run_result r;
    char bug[300] = "";
    int runs = 0;
    while (!bug[0] && runs < QUEUE_RUNS) {
        const char *out = test_temp_dir();
        run_symhv(&r, (const char *const[]){ "run", "--smp", "2", "--sym-file", "/input",
                                             "--seed", seed, "-o", out, "--timeout", "300",
                                             "--", prog("lx_queue", _i), "/input", NULL });
        expect_status(&r, 0);
        ck_assert_contains(r.out, "queue: 8 odd values\n");
        run_result_free(&r);
        snprintf(bug, sizeof bug, "%s", branch_file_with(out, "input", 16, 5, 'Q'));
        runs++;
    }
    ck_assert_msg(bug[0], "no input makes the sixth value come from a 'Q' in %d runs", runs);
    if (runs > 1)
        fprintf(stderr, "locked queue (%s): the sixth value's flip came in run %d\n",
                _i ? "glibc" : "musl", runs);
    run_symhv(&r, (const char *const[]){ "replay", bug, "--smp", "2", "--sym-file", "/input",
                                         "--timeout", "200", "--", prog("lx_queue", _i), "/input",
                                         NULL });
    expect_status(&r, 126);
    ck_assert_contains(r.out, "queue: the sixth value came from a Q\n");
    run_result_free(&r);
}
END_TEST

/* --sym-stdin and --sym-arg: the same search through stdin and through argv[1]. */
START_TEST(symbolic_stdin_and_argument)
{
    const char *out = test_temp_dir(), *tmp = test_temp_dir();
    const char *seed = write_temp(tmp, "seed", "SYMHxxxxxxxxxxxx", 16);
    struct run_result r;
    run_symhv(&r, (const char *const[]){ "run", "--sym-stdin", "16", "--seed", seed, "-o", out,
                                         "--timeout", "200", "--", prog("lx_parser", _i), "-",
                                         NULL });
    expect_status(&r, 0);
    ck_assert_contains(r.out, "magic ok\n");
    ck_assert_msg(summary_value(out, "symbolic branches") >= 2, "no symbolic branch on stdin");
    ck_assert_msg(output_file_exists(out, "branch-000-stdin.bin"), "no input for stdin");
    run_result_free(&r);

    const char *out2 = test_temp_dir();
    run_symhv(&r, (const char *const[]){ "run", "--sym-arg", "1:8", "-o", out2, "--timeout",
                                         "200", "--", prog("lx_argkey", _i), "abcdefgh", NULL });
    expect_status(&r, 0);
    ck_assert_contains(r.out, "key refused\n");
    run_result_free(&r);
    size_t len;
    char *key = read_output_file(out2, "branch-000-arg1.bin", &len);
    ck_assert_int_eq(len, 8);
    ck_assert_int_eq(key[0], 'K');
    free(key);
}
END_TEST

/* A mutex sharing its page with symbolic bytes, taken in turns by two threads on two
 * vCPUs: its lock cmpxchg runs emulated by the VMM on one vCPU and interpreted by the
 * sidecar on the other, and must stay atomic (before the shared RMW lock, 3 of 4 runs
 * hung and one lost an update). */
START_TEST(mutex_on_a_symbolic_page_stays_atomic)
{
    const char *tmp = test_temp_dir(), *out = test_temp_dir();
    unsigned char data[64];
    for (int i = 0; i < 64; i++)
        data[i] = (unsigned char)(i * 37 + 11);
    const char *seed = write_temp(tmp, "seed", data, sizeof data);
    struct run_result r;
    run_symhv(&r, (const char *const[]){ "run", "--smp", "2", "--sym-file", "/input", "--seed",
                                         seed, "-o", out, "--timeout", "200", "--",
                                         prog("lx_symlock", _i), "/input", NULL });
    expect_status(&r, 0);
    ck_assert_contains(r.out, "counter 800 of 800\n");
    ck_assert_msg(summary_value(out, "handoffs") > 0, "the symbolic bytes were never read");
    run_result_free(&r);
}
END_TEST

/* A system call the kernel lacks returns ENOSYS and is named once on stderr. */
START_TEST(missing_system_calls_are_named)
{
    struct run_result r;
    run_symhv(&r, (const char *const[]){ "run", "--timeout", "60", "--", prog("lx_argkey", _i),
                                         "x", "pipe", NULL });
    expect_status(&r, 0);
    ck_assert_contains(r.out, "pipe -1 errno 38\n");
    ck_assert_contains(r.err, "system calls this kernel lacks");
    ck_assert_contains(r.err, "(pipe");
    run_result_free(&r);
}
END_TEST

static void expect_refused(const char *const args[], const char *message)
{
    struct run_result r;
    run_symhv(&r, args);
    ck_assert_msg(r.status == 125, "status %d for \"%s\"; stderr:\n%s", r.status, message, r.err);
    ck_assert_contains(r.err, message);
    ck_assert_msg(strncmp(r.err, "symhv: ", 7) == 0, "not one symhv line: %s", r.err);
    run_result_free(&r);
}

/* Programs symhv cannot start: one line each, status 125. */
START_TEST(programs_symhv_cannot_start)
{
    const char *tmp = test_temp_dir();
    expect_refused((const char *const[]){ "run", "--", "%lx_dynamic", NULL },
                   "is dynamically linked");
    expect_refused((const char *const[]){ "run", "--", "/no/such/program", NULL },
                   "program /no/such/program: no such file");
    const char *script = write_temp(tmp, "script", "#!/bin/sh\necho hi\n", 18);
    chmod(script, 0755);
    expect_refused((const char *const[]){ "run", "--", script, NULL }, "is a script");
    const char *text = write_temp(tmp, "text", "not a program\n", 14);
    expect_refused((const char *const[]){ "run", "--", text, NULL }, "is not an ELF file");
    const char *gz = write_temp(tmp, "root.cpio.gz", "\x1f\x8b\x08\x00rest", 8);
    expect_refused((const char *const[]){ "run", "--initrd", gz, "--", "%lx_hello_musl", NULL },
                   "is gzip-compressed");
    expect_refused((const char *const[]){ "run", "--initrd", text, "--", "%lx_hello_musl", NULL },
                   "is not a cpio archive");
    expect_refused((const char *const[]){ "run", "--sym-file", "/input", "--",
                                          "%lx_parser_musl", "/input", NULL },
                   "a symbolic input needs a size");
    expect_refused((const char *const[]){ "run", "--sym-arg", "3:4", "--", "%lx_argkey_musl",
                                          "x", NULL },
                   "the program has no argument 3");
    expect_refused((const char *const[]){ "run", "--sym-stdin", "0", "--", "%lx_hello_musl",
                                          NULL },
                   "--sym-stdin expects a size in bytes");
    expect_refused((const char *const[]){ "run", "--kernel", "@symhv-kernel", "--sym-file",
                                          "/x:4", NULL },
                   "need a program");
}
END_TEST

int main(void)
{
    skip_suite_without_kvm("linux-abi");
    Suite *s = suite_create("linux-abi");
    TCase *run = tcase_create("run");
    tcase_set_timeout(run, 600);
    tcase_add_loop_test(run, arguments_environment_and_exit_status, 0, 2);
    tcase_add_test(run, static_pie_runs);
    tcase_add_loop_test(run, pthreads_run_on_every_vcpu, 0, 2);
    tcase_add_loop_test(run, memory_files_signals_and_time, 0, 2);
    tcase_add_loop_test(run, crashes_are_the_signals_linux_sends, 0, 2);
    tcase_add_loop_test(run, missing_system_calls_are_named, 0, 2);
    tcase_add_test(run, programs_symhv_cannot_start);
    suite_add_tcase(s, run);
    TCase *sym = tcase_create("symbolic");
    tcase_set_timeout(sym, 900);
    tcase_add_loop_test(sym, symbolic_file_finds_the_bug_and_replays, 0, 2);
    tcase_add_loop_test(sym, symbolic_stdin_and_argument, 0, 2);
    tcase_add_loop_test(sym, mutex_on_a_symbolic_page_stays_atomic, 0, 2);
    tcase_add_loop_test(sym, symbolic_reads_of_every_size, 0, 4);
    tcase_add_loop_test(sym, symbolic_reads_by_every_path, 0, 10);
    /* musl only: with glibc's condition variable the values reached the consumer in one
     * nested run of 2026-12-06 and not in the next (its counters picked up symbolic
     * state: address flips, 4 branches); an open question, not asserted here */
    tcase_add_loop_test(sym, symbolic_values_cross_vcpus_through_a_locked_queue, 0, 2);
    suite_add_tcase(s, sym);
    return run_suite(s);
}
