/* Symbolic pages on a real guest: pages leave the memslots and really trap; concrete
 * reads are emulated, writes concretise, the page comes back; wild agent arguments get
 * error codes and the VMM stays up. */
#include <check.h>
#include "check_main.h"

#include <stdio.h>
#include <stdlib.h>
#include <dirent.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "symhv_run.h"

START_TEST(symbolic_page_traps_and_is_released)
{
    expect_symhv((const char *const[]){ "-v", "--smp", "2", "--kernel", "@symhv-kernel",
                                        "--initrd", "@trap_check", "--timeout", "60",
                                        "-o", test_temp_dir(), NULL },
                 0, "trap_check: data ok, counter advanced by more than 0\n",
                 "symbolic memory: 1 pages marked, 1 released, 1 reads emulated, "
                 "50 writes concretised");
}
END_TEST

START_TEST(agent_rejects_wild_arguments)
{
    expect_symhv((const char *const[]){ "-v", "--smp", "2", "--kernel", "@symhv-kernel",
                                        "--initrd", "@trap_check", "--timeout", "60",
                                        "-o", test_temp_dir(), NULL },
                 0, "trap_check: input id 0, errors -22 -14 -14 -22 -14 -14\n",
                 "input 0 'input': 50 bytes at 0x");
}
END_TEST

/* The symbolic demo on 2 vCPUs: the parsing vCPU is handed to the interpreter while
 * the other keeps counting; the solver's input for the magic branch, replayed, takes
 * it; one more generation (--seed) finds the checksum branch behind it. */
START_TEST(symbolic_run_finds_input_that_replays_to_the_branch)
{
    const char *gen1 = test_temp_dir();
    expect_symhv((const char *const[]){ "-v", "--smp", "2", "--kernel", "@symhv-kernel",
                                        "--initrd", "@magic", "--timeout", "120", "-o", gen1,
                                        NULL },
                 0, "magic: input rejected\n", "1 symbolic branches, 1 new inputs");
    ck_assert_int_gt(summary_value(gen1, "handoffs"), 0);
    ck_assert_int_eq(summary_value(gen1, "symbolic branches"), 1);
    ck_assert(output_file_exists(gen1, "branch-000-input.bin"));
    ck_assert(output_file_exists(gen1, "constraints.txt"));

    char input[256];
    snprintf(input, sizeof input, "%s/branch-000-input.bin", gen1);
    expect_symhv((const char *const[]){ "replay", input, "--smp", "2", "--kernel",
                                        "@symhv-kernel", "--initrd", "@magic", "--timeout",
                                        "120", NULL },
                 0, "magic: magic branch reached\n", NULL);

    const char *gen2 = test_temp_dir();
    expect_symhv((const char *const[]){ "--smp", "2", "--kernel", "@symhv-kernel", "--initrd",
                                        "@magic", "--timeout", "120", "-o", gen2, "--seed",
                                        input, NULL },
                 0, "magic: magic branch reached\n", NULL);
    ck_assert_int_eq(summary_value(gen2, "symbolic branches"), 2);
    snprintf(input, sizeof input, "%s/branch-001-input.bin", gen2);
    expect_symhv((const char *const[]){ "replay", input, "--smp", "2", "--kernel",
                                        "@symhv-kernel", "--initrd", "@magic", "--timeout",
                                        "120", NULL },
                 0, "magic: checksum branch reached\n", NULL);
}
END_TEST

START_TEST(other_vcpu_keeps_running_during_handoffs)
{
    const char *dir = test_temp_dir();
    expect_symhv((const char *const[]){ "--smp", "2", "--kernel", "@symhv-kernel", "--initrd",
                                        "@magic", "--timeout", "120", "-o", dir, NULL },
                 0, "counter advanced by more than 0 while parsing\n", NULL);
    ck_assert_int_gt(summary_value(dir, "handoffs"), 0);
}
END_TEST

START_TEST(replay_needs_a_readable_input)
{
    expect_symhv((const char *const[]){ "replay", "/nonexistent/input", "--kernel",
                                        "@symhv-kernel", "--initrd", "@magic", NULL },
                 125, NULL, "replay input /nonexistent/input: cannot open");
    expect_symhv((const char *const[]){ "replay", NULL }, 125, NULL,
                 "replay needs an input file");
}
END_TEST


/* D3: x87 `fld` (KVM cannot emulate it) reads a concrete byte of a symbolic page: the
 * page is pinned concrete for it and the run goes on, with the right value. */
START_TEST(unemulatable_access_pins_the_page)
{
    const char *dir = test_temp_dir();
    expect_symhv((const char *const[]){ "-v", "--kernel", "@symhv-kernel", "--initrd", "@trap_edge",
                                        "--cmdline", "case=1", "--timeout", "60", "-o", dir,
                                        NULL },
                 0, "trap_edge: fld read 1.0\n", "made concrete ('fld' cannot run on a trapped page)");
    ck_assert_int_eq(summary_value(dir, "pages pinned concrete"), 1);
}
END_TEST

/* D3: code on a symbolic page (the immediate of a `mov` is an input) is handed to the
 * interpreter, not a KVM emulation failure. */
START_TEST(code_on_a_symbolic_page_runs)
{
    const char *dir = test_temp_dir();
    expect_symhv((const char *const[]){ "--kernel", "@symhv-kernel", "--initrd", "@trap_edge",
                                        "--cmdline", "case=2", "--timeout", "60", "-o", dir,
                                        NULL },
                 0, "trap_edge: code returned", NULL);
    ck_assert_int_ge(summary_value(dir, "handoffs"), 1);
}
END_TEST

/* XMM registers the interpreter wrote reach the CPU when it hands the vCPU back, also
 * when the guest's other XMM registers are zero (KVM's XSAVE buffer then marks SSE as in
 * its init state, and a KVM_SET_FPU write of them was dropped: Linux's printf read a
 * va_list copied through XMM1 as zeros). */
START_TEST(xmm_written_by_the_interpreter_reaches_the_cpu)
{
    const char *dir = test_temp_dir();
    expect_symhv((const char *const[]){ "--kernel", "@symhv-kernel", "--initrd", "@trap_edge",
                                        "--cmdline", "case=4", "--timeout", "60", "-o", dir,
                                        NULL },
                 0, "trap_edge: xmm1 after the handoff holds the load\n", NULL);
    ck_assert_int_ge(summary_value(dir, "handoffs"), 1);
}
END_TEST

/* D2: a checksum loop builds an expression deeper than the engine keeps: it is
 * concretised past the cap; the sidecar neither overflows its stack nor outlives the
 * solver timeout (Z3 once spent minutes in an untimed push on such constraints). */
START_TEST(deep_expressions_are_cut_and_solving_stays_bounded)
{
    const char *dir = test_temp_dir();
    struct run_result r;
    run_symhv(&r, (const char *const[]){ "--smp", "2", "--kernel", "@symhv-kernel", "--initrd",
                                         "@trap_edge", "--cmdline", "case=3 rounds=20000",
                                         "--timeout", "100", "--solver-timeout", "1000",
                                         "--symex-stall-timeout", "20", "-o", dir, NULL });
    ck_assert_msg(r.status == 0 && !strstr(r.err, "died"), "status %d, stderr:\n%s", r.status,
                  r.err);
    ck_assert_contains(r.out, "trap_edge: checksum differs\n");
    run_result_free(&r);
    ck_assert_int_gt(summary_value(dir, "values concretised (expression too deep)"), 10);
    ck_assert_int_ge(summary_value(dir, "symbolic branches"), 1);
}
END_TEST

/* D4: an orderly symbolic run ends without alarming messages. */
START_TEST(orderly_shutdown_is_quiet)
{
    struct run_result r;
    run_symhv(&r, (const char *const[]){ "--smp", "2", "--kernel", "@symhv-kernel", "--initrd",
                                         "@trap_check", "--timeout", "60", "-o",
                                         test_temp_dir(), NULL });
    ck_assert_int_eq(r.status, 0);
    ck_assert_msg(!strstr(r.err, "died") && !strstr(r.err, "failed") &&
                  !strstr(r.err, "Bad file descriptor"), "stderr:\n%s", r.err);
    run_result_free(&r);
}
END_TEST

/* D5: -o on a full filesystem: one clear message, a non-zero exit, and no empty files
 * left as if they were results. Needs root (a small tmpfs). */
START_TEST(full_disk_is_an_error_not_empty_results)
{
    if (geteuid() != 0) {
        fprintf(stderr, "full_disk_is_an_error_not_empty_results: needs root, not run\n");
        return;
    }
    const char *mnt = test_temp_dir();
    ck_assert_msg(mount("tmpfs", mnt, "tmpfs", 0, "size=16k") == 0, "mount tmpfs on %s: %m", mnt);
    char out[600];
    snprintf(out, sizeof out, "%s/out", mnt);
    /* fill it up first, so the run's very first writes already fail */
    char fill[600];
    snprintf(fill, sizeof fill, "%s/fill", mnt);
    FILE *f = fopen(fill, "wb");
    ck_assert_ptr_nonnull(f);
    static char block[4096];
    while (fwrite(block, 1, sizeof block, f) == sizeof block && fflush(f) == 0)
        ;
    fclose(f);
    struct run_result r;
    run_symhv(&r, (const char *const[]){ "--smp", "2", "--kernel", "@symhv-kernel", "--initrd",
                                         "@magic", "--timeout", "120", "-o", out, NULL });
    int status = r.status;
    char err[4096];
    snprintf(err, sizeof err, "%s", r.err);
    run_result_free(&r);
    /* every file symhv left is whole (none empty) */
    DIR *d = opendir(out);
    int empty = 0;
    for (struct dirent *e; d && (e = readdir(d));) {
        struct stat st;
        char path[1200];
        snprintf(path, sizeof path, "%s/%s", out, e->d_name);
        if (e->d_name[0] != '.' && stat(path, &st) == 0 && S_ISREG(st.st_mode) && st.st_size == 0)
            empty++;
    }
    if (d)
        closedir(d);
    umount(mnt);
    ck_assert_msg(status != 0, "status 0 on a full disk; stderr:\n%s", err);
    ck_assert_contains(err, "No space left on device");
    ck_assert_int_eq(empty, 0);
}
END_TEST

/* More separate symbolic pages than memslots: the pages past the cap are made concrete
 * with their values as constraints, said once and counted, never left to be read
 * natively while the sidecar still holds them symbolic. */
START_TEST(symbolic_pages_past_the_memslot_cap_are_pinned_and_said)
{
    const char *dir = test_temp_dir();
    struct run_result r;
    run_symhv(&r, (const char *const[]){ "--mem", "256M", "--kernel", "@symhv-kernel",
                                         "--initrd", "@many_pages", "--timeout", "200", "-o",
                                         dir, NULL });
    ck_assert_msg(r.status == 0, "status %d; stderr:\n%s", r.status, r.err);
    ck_assert_contains(r.out, "many_pages: not Z\n");
    ck_assert_contains(r.err, "more separate symbolic pages than memslots");
    run_result_free(&r);
    ck_assert_double_gt(summary_value(dir, "pages pinned concrete at the memslot cap"), 0);
}
END_TEST

int main(void)
{
    skip_suite_without_kvm("trap");
    Suite *s = suite_create("trap");
    TCase *tc = tcase_create("trap");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, symbolic_page_traps_and_is_released);
    tcase_add_test(tc, agent_rejects_wild_arguments);
    tcase_add_test(tc, symbolic_run_finds_input_that_replays_to_the_branch);
    tcase_add_test(tc, other_vcpu_keeps_running_during_handoffs);
    tcase_add_test(tc, replay_needs_a_readable_input);
    tcase_add_test(tc, unemulatable_access_pins_the_page);
    tcase_add_test(tc, code_on_a_symbolic_page_runs);
    tcase_add_test(tc, xmm_written_by_the_interpreter_reaches_the_cpu);
    tcase_add_test(tc, deep_expressions_are_cut_and_solving_stays_bounded);
    tcase_add_test(tc, symbolic_pages_past_the_memslot_cap_are_pinned_and_said);
    tcase_add_test(tc, orderly_shutdown_is_quiet);
    tcase_add_test(tc, full_disk_is_an_error_not_empty_results);
    suite_add_tcase(s, tc);
    return run_suite(s);
}
