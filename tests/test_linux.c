/* A real SMP Linux guest (suite linux): Debian's Linux 6.1, built once per machine by
 * scripts/linux-guest, booted through PVH with the initramfs tests/linux makes (our
 * /init, a two-thread program, the agent command). Linux must find the MP table and
 * bring up both CPUs, detect the 16550A on IRQ 4, run /init, see 2 CPUs, run two
 * threads at the same moment on different CPUs with an exact result, and end the run
 * through the keyboard controller's reset; and symbolic execution inside it. */
#include <check.h>
#include "check_main.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "symhv_run.h"

/* The cached kernel (built now if this machine has none: minutes). */
static const char *kernel(void)
{
    static char path[4096];
    if (path[0])
        return path;
    char cmd[4200];
    snprintf(cmd, sizeof cmd, "%s/../scripts/linux-guest --no-install", getenv("SYMHV_SOURCE_DIR"));
    FILE *p = popen(cmd, "r");
    ck_assert_ptr_nonnull(p);
    ck_assert_ptr_nonnull(fgets(path, sizeof path, p));
    ck_assert_int_eq(pclose(p), 0);
    path[strcspn(path, "\n")] = '\0';
    ck_assert_int_eq(access(path, R_OK), 0);
    return path;
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

static const char *initramfs(void)
{
    static char path[4096];
    snprintf(path, sizeof path, "%s/linux_initramfs.cpio", getenv("LINUX_DIR"));
    return path;
}

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
    const char *line = strstr(r.out, "smp_threads: rounds ");
    ck_assert_msg(line != NULL, "no smp_threads line in:\n%s", r.out);
    long rounds = 0, of = 0, sum = 0;
    int a = -1, b = -1;
    double secs = 0;
    ck_assert_int_eq(sscanf(line, "smp_threads: rounds %ld of %ld in %lf s, cpus %d %d, sum %ld",
                            &rounds, &of, &secs, &a, &b, &sum), 6);
    /* all the ping-pong rounds: only possible with both threads running at once */
    ck_assert_msg(rounds == of, "%s", line);
    ck_assert_msg(a != b && a >= 0 && b >= 0 && a < 2 && b < 2, "%s", line);
    ck_assert_int_eq(sum, 2000000);
    expect_out(&r, "symhv-init: /bin/smp_threads exited 0");
    ck_assert_contains(r.err, "guest requested a reset");
    if (access("/sys/module/kvm_pvm", F_OK) == 0) /* said in one line, only there */
        ck_assert_contains(r.err, "PVM host: adding to Linux's command line: noxsave");
    else
        ck_assert(strstr(r.err, "PVM host") == NULL);
    run_result_free(&r);
}
END_TEST

/* The agent marks a file symbolic inside Linux; Linux's own read() copies it (ring 0,
 * through the sidecar) into a program that branches on it; the solver's input, replayed,
 * takes the other way. */
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

/* symhv's stdin reaches Linux's console through the UART's receiver and IRQ 4, line by
 * line; its end arrives as the ^D a terminal sends. */
START_TEST(stdin_reaches_the_linux_console)
{
    struct run_result r;
    run_symhv_with_stdin(&r, (const char *const[]){ "--smp", "2", "--mem", "256", "--timeout",
                                                    "900", "--kernel", kernel(), "--initrd",
                                                    initramfs(), "--cmdline",
                                                    "console=ttyS0 -- /bin/read_console", NULL },
                         "hello from the host\nsecond line\n");
    ck_assert_msg(r.status == 0, "status %d\nstdout ends:\n%s\nstderr ends:\n%s", r.status, tail(r.out), tail(r.err));
    expect_out(&r, "read_console: got 'hello from the host'");
    expect_out(&r, "read_console: got 'second line'");
    expect_out(&r, "read_console: end of input after 2 lines");
    expect_out(&r, "symhv-init: /bin/read_console exited 0");
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
    Suite *s = suite_create("linux");
    TCase *tc = tcase_create("boot");
    tcase_set_timeout(tc, 1800);
    tcase_add_test(tc, smp_linux_boots_on_two_cpus_and_runs_threads_on_both);
    tcase_add_test(tc, a_file_made_symbolic_in_linux_drives_the_other_branch);
    tcase_add_test(tc, a_bzimage_boots_through_the_64_bit_protocol);
    tcase_add_test(tc, broken_bzimages_are_refused_in_one_line);
    tcase_add_test(tc, stdin_reaches_the_linux_console);
    suite_add_tcase(s, tc);
    return run_suite(s);
}
