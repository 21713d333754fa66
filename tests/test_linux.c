/* A real SMP Linux guest (suite linux): Debian's Linux 6.1, built once per machine by
 * scripts/linux-guest, booted through PVH with the initramfs tests/linux makes (our
 * /init, a two-thread program, the agent command). Linux must find the MP table and
 * bring up both CPUs, detect the 16550A on IRQ 4, run /init, see 2 CPUs, run two
 * threads at the same moment on different CPUs with an exact result, and end the run
 * through the keyboard controller's reset; and symbolic execution inside it. */
#include <check.h>
#include <dirent.h>
#include <sys/stat.h>
#include "check_main.h"
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "symhv_run.h"

/* The path scripts/linux-guest prints with these options, into path[4096] (built now
 * if this machine's cache has none: minutes for a kernel). */
static const char *linux_guest(const char *options, char *path)
{
    if (path[0])
        return path;
    char cmd[4200];
    snprintf(cmd, sizeof cmd, "%s/../scripts/linux-guest --no-install %s",
             getenv("SYMHV_SOURCE_DIR"), options);
    FILE *p = popen(cmd, "r");
    ck_assert_ptr_nonnull(p);
    ck_assert_ptr_nonnull(fgets(path, 4096, p));
    ck_assert_int_eq(pclose(p), 0);
    path[strcspn(path, "\n")] = '\0';
    ck_assert_int_eq(access(path, R_OK), 0);
    return path;
}

/* The cached kernel. */
static const char *kernel(void)
{
    static char path[4096];
    return linux_guest("", path);
}

/* The same kernel as a bzImage, beside it. */
static const char *bzimage(void)
{
    static char path[4200];
    snprintf(path, sizeof path, "%s", kernel());
    char *slash = strrchr(path, '/');
    ck_assert_ptr_nonnull(slash);
    strcpy(slash + 1, "bzImage");
    return path;
}

/* A Linux boot log is long: on a failure show its end and all of stderr. */
static const char *tail(const char *s)
{
    size_t n = strlen(s);
    return n > 3000 ? s + n - 3000 : s;
}
#define expect_out(r, needle)                                                            \
    ck_assert_msg(strstr((r)->out, (needle)) != NULL, "expected \"%s\"; status %d; stdout ends:\n%s\nstderr ends:\n%s", \
                  (needle), (r)->status, tail((r)->out), tail((r)->err))

/* smp_threads' line: all its ping-pong rounds (only possible with both threads running
 * at once), on two different CPUs, and the exact sum. */
static void expect_threads_on_both_cpus(const struct run_result *r)
{
    const char *line = strstr(r->out, "smp_threads: rounds ");
    ck_assert_msg(line != NULL, "no smp_threads line in:\n%s", tail(r->out));
    long rounds = 0, of = 0, sum = 0;
    int a = -1, b = -1;
    double secs = 0;
    ck_assert_int_eq(sscanf(line, "smp_threads: rounds %ld of %ld in %lf s, cpus %d %d, sum %ld",
                            &rounds, &of, &secs, &a, &b, &sum), 6);
    ck_assert_msg(rounds == of, "%s", line);
    ck_assert_msg(a != b && a >= 0 && b >= 0 && a < 2 && b < 2, "%s", line);
    ck_assert_int_eq(sum, 2000000);
}

/* The busybox initramfs scripts/linux-guest builds beside the kernel (cached). */
static const char *busybox_initramfs(void)
{
    static char path[4096];
    return linux_guest("--initramfs", path);
}

static const char *initramfs(void)
{
    static char path[4096];
    snprintf(path, sizeof path, "%s/linux_initramfs.cpio", getenv("LINUX_DIR"));
    return path;
}

/* --races in a Linux process: lx_race's unlocked adds (tests/linux/lx_race.c) on two
 * CPUs, reported with both pcs inside add_plain (its symbols read from the binary put in
 * the initramfs). */
START_TEST(races_in_a_linux_process)
{
    struct run_result r;
    run_symhv(&r, (const char *const[]){ "--smp", "2", "--mem", "256", "--timeout", "900",
                                         "--races", "--race-rate", "1000", "--kernel", kernel(),
                                         "--initrd", initramfs(), "--cmdline",
                                         "console=ttyS0 -- /bin/lx_race,/race_mode,3000", NULL });
    ck_assert_msg(r.status == 0, "status %d\nstdout ends:\n%s\nstderr ends:\n%s", r.status,
                  tail(r.out), tail(r.err));
    expect_out(&r, "race: plain adds");
    expect_out(&r, "symhv-init: /bin/lx_race exited 0");
    ck_assert_contains(r.err, "races: on a Linux guest");
    char path[4096];
    snprintf(path, sizeof path, "%s/linux_race", getenv("LINUX_DIR"));
    unsigned long long start, end;
    symbol_range(path, "add_plain", &start, &end);
    bool both = false;
    for (const char *at = strstr(r.err, "data race: "); at && !both; at = strstr(at + 1, "data race: ")) {
        const char *a = strstr(at, " at pc 0x"), *b = a ? strstr(a + 1, " at pc 0x") : NULL;
        unsigned long long pa = a ? strtoull(a + 9, NULL, 16) : 0, pb = b ? strtoull(b + 9, NULL, 16) : 0;
        both = pa >= start && pa < end && pb >= start && pb < end;
    }
    ck_assert_msg(both, "no race with both pcs in add_plain [%llx, %llx):\n%s", start, end,
                  tail(r.err));
    run_result_free(&r);
}
END_TEST

/* An S2E user's loop on the busybox guest: lx_gate and a 4 KiB input file added to the
 * initramfs (scripts/linux-guest --add), Linux booted once on 2 vCPUs, `symhv-agent run`
 * marks the file and runs the program; explore restores every execution from the
 * snapshot at the marking, finds the input behind the 4-byte magic and the 2-byte
 * version, and keeps the SIGSEGV as a crash file, which replays. */
START_TEST(explore_boots_linux_once_and_finds_a_crash_in_a_process)
{
    const char *dir = test_temp_dir();
    char seeds[4200], out[4200], input[4200], path[8600], cmd[16384];
    snprintf(seeds, sizeof seeds, "%s/seeds", dir);
    snprintf(out, sizeof out, "%s/out", dir);
    snprintf(input, sizeof input, "%s/input", dir);
    ck_assert_int_eq(mkdir(seeds, 0700), 0);
    char zeros[4096] = { 0 }, as[4096];
    memset(as, 'A', sizeof as);
    snprintf(path, sizeof path, "%s/a", seeds);
    FILE *f = fopen(input, "wb"), *g = fopen(path, "wb");
    ck_assert(f && g && fwrite(zeros, 1, sizeof zeros, f) == sizeof zeros &&
              fwrite(as, 1, sizeof as, g) == sizeof as);
    ck_assert_int_eq(fclose(f) | fclose(g), 0);
    snprintf(cmd, sizeof cmd, "--initramfs --add %s/lx_gate_musl:/bin/gate --add %s:/input",
             getenv("LINUX_DIR"), input);
    char initrd[4096] = "";
    linux_guest(cmd, initrd);
    const char *cmdline = "console=ttyS0 -- /bin/symhv-agent,run,--sym-file,/input,--,/bin/gate,/input";
    struct run_result r;
    run_symhv(&r, (const char *const[]){ "explore", "-i", seeds, "-o", out, "--smp", "2",
                                         "--mem", "256", "--kernel", kernel(), "--initrd",
                                         initrd, "--cmdline", cmdline, "--until-crash",
                                         "-V", "1500", NULL });
    ck_assert_msg(r.status == 0, "status %d\nstdout ends:\n%s\nstderr ends:\n%s", r.status,
                  tail(r.out), tail(r.err));
    /* one boot: Linux's banner once, more than one execution */
    const char *banner = strstr(r.out, "Linux version ");
    ck_assert_msg(banner && !strstr(banner + 1, "Linux version "), "%s", tail(r.out));
    ck_assert_msg(output_value(out, "fuzzer_stats", "execs_done") >= 3, "%s", tail(r.err));
    ck_assert_int_eq(output_value(out, "fuzzer_stats", "saved_crashes"), 1);
    char crash[8900] = "";
    DIR *d = opendir(strcat(strcpy(path, out), "/crashes"));
    ck_assert_ptr_nonnull(d);
    for (struct dirent *e; (e = readdir(d));)
        if (strncmp(e->d_name, "id:", 3) == 0)
            snprintf(crash, sizeof crash, "%s/%s", path, e->d_name);
    closedir(d);
    ck_assert_msg(strstr(crash, ",sig:11"), "crash file '%s'", crash);
    size_t len;
    char *bytes = read_output_file(path, strrchr(crash, '/') + 1, &len);
    ck_assert_uint_eq(len, 4096);
    ck_assert_int_eq(memcmp(bytes, "GATEv2", 6), 0);
    free(bytes);
    run_result_free(&r);

    run_symhv(&r, (const char *const[]){ "--smp", "2", "--mem", "256", "--timeout", "900",
                                         "--replay", crash, "--kernel", kernel(), "--initrd",
                                         initrd, "--cmdline", cmdline, NULL });
    ck_assert_msg(r.status == 126, "status %d\nstdout ends:\n%s\nstderr ends:\n%s", r.status,
                  tail(r.out), tail(r.err));
    expect_out(&r, "lx_gate: version 2, 4096 bytes");
    ck_assert_contains(r.err, "guest program /bin/gate killed by SIGSEGV at rip 0x");
    ck_assert_contains(r.err, "instruction at rip: mov");
    run_result_free(&r);
}
END_TEST

/* Linux's own failure is a crash of the run, told from its console: an init that exits
 * makes Linux panic ("Attempted to kill init!"), which used to leave the run spinning
 * in Linux's panic loop until --timeout. */
START_TEST(a_linux_panic_ends_the_run_as_a_crash)
{
    struct run_result r;
    run_symhv(&r, (const char *const[]){ "--smp", "2", "--mem", "256", "--timeout", "900",
                                         "--kernel", kernel(), "--initrd", initramfs(),
                                         "--cmdline", "console=ttyS0 rdinit=/bin/check_input",
                                         NULL });
    ck_assert_msg(r.status == 126, "status %d\nstdout ends:\n%s\nstderr ends:\n%s", r.status,
                  tail(r.out), tail(r.err));
    ck_assert_contains(r.err, "guest kernel panic: Kernel panic - not syncing: Attempted to kill init!");
    run_result_free(&r);
}
END_TEST

START_TEST(smp_linux_boots_on_two_cpus_and_runs_threads_on_both)
{
    struct run_result r;
    run_symhv(&r, (const char *const[]){ "--smp", "2", "--mem", "256", "--timeout", "900",
                                         "--kernel", kernel(), "--initrd", initramfs(),
                                         "--cmdline", "console=ttyS0 -- /bin/smp_threads",
                                         NULL });
    ck_assert_msg(r.status == 0, "status %d\nstdout ends:\n%s\nstderr ends:\n%s", r.status, tail(r.out), tail(r.err));
    expect_out(&r, "MPTABLE: OEM ID: SYMHV");
    expect_out(&r, "Processors: 2");
    expect_out(&r, "smp: Brought up 1 node, 2 CPUs");
    expect_out(&r, "ttyS0 at I/O 0x3f8 (irq = 4");
    expect_out(&r, "is a 16550A");
    expect_out(&r, "symhv-init: nproc 2");
    expect_threads_on_both_cpus(&r);
    expect_out(&r, "symhv-init: /bin/smp_threads exited 0");
    ck_assert_contains(r.err, "guest requested a reset");
    if (access("/sys/module/kvm_pvm", F_OK) == 0) /* said in one line, only there */
        ck_assert_contains(r.err, "PVM host: adding to Linux's command line: noxsave");
    else
        ck_assert(strstr(r.err, "PVM host") == NULL);
    run_result_free(&r);
}
END_TEST

/* The agent marks a file symbolic inside Linux; Linux's own read(), pwrite() and pread()
 * copy it (ring 0, through the sidecar: on PVM hosts the pwrite spills a symbolic byte
 * on the kernel stack, which double-faulted Linux before such stores were kept concrete)
 * into a program that branches on it; the solver's input, replayed, takes the other way. */
START_TEST(a_file_made_symbolic_in_linux_drives_the_other_branch)
{
    const char *dir = test_temp_dir();
    const char *cmdline = "console=ttyS0 -- /bin/symhv-agent,symbolic,/input /bin/check_input,/input";
    struct run_result r;
    run_symhv(&r, (const char *const[]){ "--smp", "2", "--mem", "256", "--timeout", "900",
                                         "-o", dir, "--kernel", kernel(), "--initrd",
                                         initramfs(), "--cmdline", cmdline, NULL });
    ck_assert_msg(r.status == 0, "status %d\nstdout ends:\n%s\nstderr ends:\n%s", r.status, tail(r.out), tail(r.err));
    expect_out(&r, "symhv-agent: /input is symbolic input 0 'input' (6 bytes)");
    expect_out(&r, "check_input: no magic");
    ck_assert_int_eq(summary_value(dir, "symbolic branches"), 1);
    size_t len;
    char *flip = read_output_file(dir, "branch-000-input.bin", &len);
    ck_assert_uint_eq(len, 6);
    ck_assert_int_eq(flip[0], '!');
    free(flip);
    run_result_free(&r);

    char path[4200];
    snprintf(path, sizeof path, "%s/branch-000-input.bin", dir);
    run_symhv(&r, (const char *const[]){ "--smp", "2", "--mem", "256", "--timeout", "900",
                                         "--replay", path, "--kernel", kernel(), "--initrd",
                                         initramfs(), "--cmdline", cmdline, NULL });
    ck_assert_msg(r.status == 0, "status %d\nstdout ends:\n%s\nstderr ends:\n%s", r.status, tail(r.out), tail(r.err));
    expect_out(&r, "check_input: the magic is there");
    run_result_free(&r);
}
END_TEST

/* Distribution kernels ship as bzImage: the 64-bit boot protocol, the zero page. */
START_TEST(a_bzimage_boots_through_the_64_bit_protocol)
{
    struct run_result r;
    run_symhv(&r, (const char *const[]){ "-v", "--smp", "2", "--mem", "256", "--timeout", "900",
                                         "--kernel", bzimage(), "--initrd", initramfs(),
                                         "--cmdline", "console=ttyS0 -- /bin/smp_threads",
                                         NULL });
    ck_assert_msg(r.status == 0, "status %d\nstdout ends:\n%s\nstderr ends:\n%s", r.status, tail(r.out), tail(r.err));
    ck_assert_contains(r.err, "kernel is a bzImage (boot protocol 2.");
    expect_out(&r, "smp: Brought up 1 node, 2 CPUs");
    expect_out(&r, "symhv-init: /bin/smp_threads exited 0");
    run_result_free(&r);
}
END_TEST

/* Boots the kernel on 2 vCPUs with this initramfs and command line, `input` on symhv's
 * stdin; the run must end well (the guest's reset). */
static void boot_with_stdin(struct run_result *r, const char *initrd, const char *cmdline,
                            const char *input)
{
    run_symhv_with_stdin(r, (const char *const[]){ "--smp", "2", "--mem", "256", "--timeout",
                                                   "900", "--kernel", kernel(), "--initrd",
                                                   initrd, "--cmdline", cmdline, NULL },
                         input);
    ck_assert_msg(r->status == 0, "status %d\nstdout ends:\n%s\nstderr ends:\n%s", r->status,
                  tail(r->out), tail(r->err));
}

/* symhv's stdin reaches Linux's console through the UART's receiver and IRQ 4, line by
 * line; its end arrives as the ^D a terminal sends. */
START_TEST(stdin_reaches_the_linux_console)
{
    struct run_result r;
    boot_with_stdin(&r, initramfs(), "console=ttyS0 -- /bin/read_console",
                    "hello from the host\nsecond line\n");
    expect_out(&r, "read_console: got 'hello from the host'");
    expect_out(&r, "read_console: got 'second line'");
    expect_out(&r, "read_console: end of input after 2 lines");
    expect_out(&r, "symhv-init: /bin/read_console exited 0");
    run_result_free(&r);
}
END_TEST

/* What a user gets from scripts/linux-guest --initramfs: busybox's /init and, with no
 * programs named, busybox's shell on ttyS0 reading symhv's stdin; nproc (busybox's
 * applet) says 2, the pthread program runs on both CPUs, the agent reaches symhv from
 * the shell; the end of stdin ends the shell, and init restarts the machine. */
START_TEST(a_busybox_shell_on_the_console_sees_both_cpus)
{
    struct run_result r;
    boot_with_stdin(&r, busybox_initramfs(), "console=ttyS0",
                    "echo cpus=$(nproc)\nsmp_threads\nsymhv-agent print agent-$((6*7))\n");
    expect_out(&r, "init: busybox, 2 CPUs");
    expect_out(&r, "init: a shell on the console");
    expect_out(&r, "cpus=2");
    expect_threads_on_both_cpus(&r);
    expect_out(&r, "agent-42"); /* the echoed command line has $((6*7)) */
    expect_out(&r, "init: done, restarting");
    ck_assert_contains(r.err, "guest requested a reset");
    run_result_free(&r);
}
END_TEST

/* Broken images: one line saying what is wrong, symhv's setup status, no boot. */
START_TEST(broken_bzimages_are_refused_in_one_line)
{
    size_t len;
    char *img = read_output_file("/", bzimage() + 1, &len);
    const char *dir = test_temp_dir();
    char truncated[4200], wrong_magic[4200];
    snprintf(truncated, sizeof truncated, "%s/truncated", dir);
    snprintf(wrong_magic, sizeof wrong_magic, "%s/wrong-magic", dir);
    FILE *f = fopen(truncated, "wb");
    ck_assert_ptr_nonnull(f);
    ck_assert_uint_eq(fwrite(img, 1, 0x240, f), 0x240); /* cut inside the setup header */
    fclose(f);
    img[0x202] = 'X';
    f = fopen(wrong_magic, "wb");
    ck_assert_ptr_nonnull(f);
    ck_assert_uint_eq(fwrite(img, 1, len, f), len);
    fclose(f);
    free(img);
    expect_symhv((const char *const[]){ "--kernel", truncated, NULL }, 125,
                 NULL, "bzImage truncated inside its setup header");
    /* no longer a bzImage, and not an ELF file either */
    expect_symhv((const char *const[]){ "--kernel", wrong_magic, NULL }, 125, NULL, "ELF");
}
END_TEST

int main(void)
{
    skip_suite_without_kvm("linux");
    Suite *s = suite_create("linux");
    TCase *tc = tcase_create("boot");
    tcase_set_timeout(tc, 1800);
    tcase_add_test(tc, smp_linux_boots_on_two_cpus_and_runs_threads_on_both);
    tcase_add_test(tc, races_in_a_linux_process);
    tcase_add_test(tc, explore_boots_linux_once_and_finds_a_crash_in_a_process);
    tcase_add_test(tc, a_linux_panic_ends_the_run_as_a_crash);
    tcase_add_test(tc, a_file_made_symbolic_in_linux_drives_the_other_branch);
    tcase_add_test(tc, a_bzimage_boots_through_the_64_bit_protocol);
    tcase_add_test(tc, broken_bzimages_are_refused_in_one_line);
    tcase_add_test(tc, stdin_reaches_the_linux_console);
    tcase_add_test(tc, a_busybox_shell_on_the_console_sees_both_cpus);
    suite_add_tcase(s, tc);
    return run_suite(s);
}
