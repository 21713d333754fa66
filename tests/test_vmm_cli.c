/* Bad input gives one clear line and exit status 125, never a crash or a hang. */
#include <check.h>
#include "check_main.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "symhv_run.h"

/* Run symhv with `args`, expect status 125 and `message` on stderr. */
static void expect_setup_error(const char *const args[], const char *message)
{
    struct run_result r;
    run_symhv(&r, args);
    ck_assert_msg(r.status == 125, "status %d for expected error \"%s\", stderr:\n%s",
                  r.status, message, r.err);
    ck_assert_contains(r.err, message);
    ck_assert_msg(strncmp(r.err, "symhv: ", 7) == 0, "error not prefixed: %s", r.err);
    run_result_free(&r);
}

static char *temp_file_with(const void *data, size_t len)
{
    static char path[64];
    snprintf(path, sizeof path, "/tmp/symhv-cli-XXXXXX");
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(write(fd, data, len), (ssize_t)len);
    close(fd);
    return path;
}

START_TEST(help_and_version)
{
    struct run_result r;
    run_symhv(&r, (const char *const[]){ "--help", NULL });
    ck_assert_int_eq(r.status, 0);
    ck_assert_contains(r.out, "usage: symhv [run] [options] -- PROGRAM [ARGS...]");
    ck_assert_contains(r.out, "symhv [run] --kernel FILE");
    ck_assert_contains(r.out, "--sym-file PATH[:SIZE]");
    ck_assert_contains(r.out, "--smp N");
    run_result_free(&r);
    run_symhv(&r, (const char *const[]){ "--version", NULL });
    ck_assert_int_eq(r.status, 0);
    ck_assert_contains(r.out, "symhv ");
    run_result_free(&r);
}
END_TEST

START_TEST(missing_and_unknown_arguments)
{
    expect_setup_error((const char *const[]){ NULL }, "no guest kernel given");
    expect_setup_error((const char *const[]){ "--frobnicate", NULL }, "unknown option");
    expect_setup_error((const char *const[]){ "--kernel", NULL }, "needs a value");
    /* a word that is no option names the program */
    expect_setup_error((const char *const[]){ "--kernel", "@symhv-kernel", "extra", NULL },
                       "program extra: no such file");
}
END_TEST

/* symhv replay takes its input as a file or as --input NAME=FILE (several inputs), as
 * the README writes it; with neither it says so, before KVM is touched. */
START_TEST(replay_needs_an_input)
{
    expect_setup_error((const char *const[]){ "replay", NULL }, "replay needs an input file");
    expect_setup_error((const char *const[]){ "replay", "--timeout", "5", "--kernel",
                                              "@symhv-kernel", NULL },
                       "replay needs an input file");
}
END_TEST

/* Several symbolic inputs in one campaign: one input file holds them all, so each needs
 * its size; said before KVM is touched. */
START_TEST(several_inputs_need_their_sizes)
{
    expect_setup_error((const char *const[]){ "explore", "-o", "/nonexistent/out", "--sym-stdin",
                                              "4", "--", "%lx_klee_musl", "AAA", "@@", NULL },
                       "@@ has no size");
    expect_setup_error((const char *const[]){ "fuzz", "-i", "/nonexistent", "-o", "/nonexistent/out",
                                              "--sym-arg", "1:3", "--sym-file", "/input", "--",
                                              "%lx_klee_musl", "AAA", "/input", NULL },
                       "each needs its size");
    expect_setup_error((const char *const[]){ "explore", "-o", "/nonexistent/out", "--solve-budget",
                                              "soon", "--", "%lx_klee_musl", "@@", NULL },
                       "--solve-budget expects seconds");
    expect_setup_error((const char *const[]){ "run", "--races", "--", "%lx_race_musl", "/x", "1",
                                              NULL },
                       "--races needs two vCPUs or more");
    expect_setup_error((const char *const[]){ "run", "--smp", "2", "--race-rate", "often", "--",
                                              "%lx_race_musl", "/x", "1", NULL },
                       "--race-rate expects a number from 1 to 10000");
    expect_setup_error((const char *const[]){ "replay", "/dev/null", "--sym-arg", "1:3",
                                              "--sym-file", "/input", "--", "%lx_klee_musl",
                                              "AAA", "/input", NULL },
                       "each needs its size");
}
END_TEST

/* KLEE's --sym-args MIN MAX N: three words, checked before KVM is touched. */
START_TEST(sym_args_are_checked)
{
    expect_setup_error((const char *const[]){ "run", "--sym-args", "2", "1", "4", "--",
                                              "%lx_klee_musl", NULL },
                       "--sym-args expects MIN MAX N");
    expect_setup_error((const char *const[]){ "run", "--sym-args", "0", "2", "--",
                                              "%lx_klee_musl", NULL },
                       "--sym-args expects MIN MAX N");
    expect_setup_error((const char *const[]){ "run", "--sym-args", "0", "7", "4", "--sym-arg",
                                              "1:3", "--", "%lx_klee_musl", "AAA", NULL },
                       "with the other symbolic sources more than 8");
    expect_setup_error((const char *const[]){ "run", "--sym-args", "0", "2", "4", NULL },
                       "--sym-args needs a program");
    expect_setup_error((const char *const[]){ "run", "--sym-args", "0", "2", "4", "--sym-args",
                                              "1", "2", "4", "--", "%lx_klee_musl", NULL },
                       "--sym-args: one per run");
}
END_TEST

/* --schedule is refused when malformed, on one vCPU, and in a campaign, each with a
 * line that says why. */
START_TEST(schedule_is_checked)
{
    expect_setup_error((const char *const[]){ "run", "--smp", "2", "--schedule", "w1.f2.p3",
                                              "--", "%lx_klee_musl", NULL },
                       "--schedule expects wPC.fPC.pPAGE");
    expect_setup_error((const char *const[]){ "run", "--schedule", "w1.f2.p3000", "--",
                                              "%lx_klee_musl", NULL },
                       "needs two vCPUs or more");
    expect_setup_error((const char *const[]){ "fuzz", "--smp", "2", "--schedule", "w1.f2.p3000",
                                              "-i", "/nonexistent", "-o", test_temp_dir(), "--",
                                              "%lx_klee_musl", "@@", NULL },
                       "--schedule is for run and replay");
}
END_TEST

/* symhv show, as ktest-tool: a crash of a two-source campaign split into its objects,
 * with what found it and its note; a file with no campaign beside it is one object. */
START_TEST(show_splits_a_test_case)
{
    const char *dir = test_temp_dir();
    char path[512], crashes[400], notes[400];
    snprintf(crashes, sizeof crashes, "%s/crashes", dir);
    snprintf(notes, sizeof notes, "%s/crash-notes", dir);
    ck_assert_int_eq(mkdir(crashes, 0755), 0);
    ck_assert_int_eq(mkdir(notes, 0755), 0);
    const char *name = "id:000000,sig:06,src:solver,time:605,execs:302,op:solver";
    snprintf(path, sizeof path, "%s/%s", crashes, name);
    FILE *f = fopen(path, "wb");
    ck_assert_ptr_nonnull(f);
    ck_assert_int_eq(fwrite("-x\0KLEE\0\0\0\0", 1, 11, f), 11);
    ck_assert_int_eq(fclose(f), 0);
    char note[600];
    snprintf(note, sizeof note, "%s/%s.txt", notes, name);
    f = fopen(note, "w");
    ck_assert_ptr_nonnull(f);
    fputs("guest program killed by SIGABRT at rip 0x401234\n", f);
    ck_assert_int_eq(fclose(f), 0);
    snprintf(note, sizeof note, "%s/fuzzer_stats", dir);
    f = fopen(note, "w");
    ck_assert_ptr_nonnull(f);
    fputs("execs_done        : 302\nsymhv_inputs      : arg1:3,input:8\n", f);
    ck_assert_int_eq(fclose(f), 0);
    struct run_result r;
    run_symhv(&r, (const char *const[]){ "show", path, NULL });
    ck_assert_msg(r.status == 0, "status %d\n%s", r.status, r.err);
    ck_assert_contains(r.out, "object 0: name 'arg1', size 3");
    ck_assert_contains(r.out, "data: \"-x\\x00\"");
    ck_assert_contains(r.out, "object 1: name 'input', size 8");
    ck_assert_contains(r.out, "hex : 4b4c454500000000");
    ck_assert_contains(r.out, "found by : src:solver");
    ck_assert_contains(r.out, "killed by SIGABRT at rip 0x401234");
    run_result_free(&r);
    expect_symhv((const char *const[]){ "show", "/nonexistent/file", NULL }, 125, NULL,
                 "cannot open");
}
END_TEST

/* symhv replay FILE alone: a campaign's file knows its target (fuzzer_stats'
 * symhv_target); a file that is no campaign's says what is missing. */
START_TEST(replay_takes_the_target_from_the_campaign)
{
    const char *dir = test_temp_dir();
    char crashes[400], path[600], stats[600], line[1200];
    snprintf(crashes, sizeof crashes, "%s/crashes", dir);
    ck_assert_int_eq(mkdir(crashes, 0755), 0);
    snprintf(path, sizeof path, "%s/id:000000,sig:06,src:solver", crashes);
    FILE *f = fopen(path, "wb");
    ck_assert_ptr_nonnull(f);
    fputs("-x", f);
    ck_assert_int_eq(fclose(f), 0);
    snprintf(stats, sizeof stats, "%s/fuzzer_stats", dir);
    f = fopen(stats, "w");
    ck_assert_ptr_nonnull(f);
    snprintf(line, sizeof line, "execs_done        : 9\nsymhv_target      : --sym-arg=1:3 -- %s AAA \n",
             linux_path("lx_klee_musl"));
    fputs(line, f);
    ck_assert_int_eq(fclose(f), 0);
    /* the target is there: the run gets as far as the KVM device */
    expect_setup_error((const char *const[]){ "replay", path, "--kvm-device", "/nonexistent/kvm",
                                              NULL },
                       "cannot open /nonexistent/kvm");
    struct run_result r;
    run_symhv(&r, (const char *const[]){ "replay", path, "--kvm-device", "/nonexistent/kvm", NULL });
    ck_assert_contains(r.err, "the target as the campaign in");
    run_result_free(&r);
    /* named relative to the campaign's directory, and from inside crashes/ */
    ck_assert_int_eq(chdir(dir), 0);
    expect_setup_error((const char *const[]){ "replay", strstr(path, "crashes/"), "--kvm-device",
                                              "/nonexistent/kvm", NULL },
                       "cannot open /nonexistent/kvm");
    ck_assert_int_eq(chdir(crashes), 0);
    expect_setup_error((const char *const[]){ "replay", strrchr(path, '/') + 1, "--kvm-device",
                                              "/nonexistent/kvm", NULL },
                       "cannot open /nonexistent/kvm");
    ck_assert_int_eq(unlink(stats), 0);
    expect_setup_error((const char *const[]){ "replay", path, NULL }, "no campaign's file");
}
END_TEST

/* One run's files per output directory, as KLEE: a -o that holds files is refused
 * before anything runs. */
START_TEST(an_output_directory_in_use_is_refused)
{
    const char *dir = test_temp_dir();
    char path[512];
    snprintf(path, sizeof path, "%s/summary.txt", dir);
    FILE *f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fputs("an earlier run\n", f);
    ck_assert_int_eq(fclose(f), 0);
    expect_setup_error((const char *const[]){ "run", "-o", dir, "--sym-stdin", "4", "--",
                                              "%lx_klee_musl", "AAA", "/input", NULL },
                       "holds files already");
}
END_TEST

START_TEST(kvm_device_missing_or_wrong)
{
    expect_setup_error((const char *const[]){ "--kvm-device", "/nonexistent/kvm", "--kernel",
                                              "@symhv-kernel", NULL },
                       "cannot open /nonexistent/kvm: no such device");
    expect_setup_error((const char *const[]){ "--kvm-device", "/dev/null", "--kernel",
                                              "@symhv-kernel", NULL },
                       "/dev/null is not a KVM device");
}
END_TEST

START_TEST(kvm_permission_denied)
{
    if (geteuid() != 0) {
        fprintf(stderr, "kvm_permission_denied: not root, cannot drop privileges; "
                        "checking only that this user gets a clear answer\n");
    }
    /* As an unprivileged user (nobody), /dev/kvm (mode 0600 root here) is closed. */
    char path[] = "/tmp/symhv-kvm-XXXXXX";
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    close(fd);
    ck_assert_int_eq(chmod(path, 0600), 0);
    struct run_result r;
    if (geteuid() == 0)
        run_symhv_as(&r, (const char *const[]){ "--kvm-device", path, "--kernel",
                                                 "/nonexistent", NULL }, 65534);
    else
        run_symhv(&r, (const char *const[]){ "--kvm-device", path, "--kernel", "/nonexistent",
                                              NULL });
    unlink(path);
    ck_assert_int_eq(r.status, 125);
    if (geteuid() == 0)
        ck_assert_contains(r.err, "permission denied (run as root or join the group");
    run_result_free(&r);
}
END_TEST

START_TEST(bad_kernel_images)
{
    expect_setup_error((const char *const[]){ "--kernel", "/nonexistent/vmlinux", NULL },
                       "kernel /nonexistent/vmlinux: cannot open: No such file or directory");
    expect_setup_error((const char *const[]){ "--kernel", "/tmp", NULL },
                       "kernel /tmp: not a regular file");
    char *text = temp_file_with("just some text, no ELF here\n", 28);
    expect_setup_error((const char *const[]){ "--kernel", text, NULL },
                       "not an ELF file (bad magic)");
    unlink(text);
    /* An ELF, but a 32-bit one. */
    unsigned char elf32[64] = { 0x7f, 'E', 'L', 'F', 1, 1, 1 };
    char *e32 = temp_file_with(elf32, sizeof elf32);
    expect_setup_error((const char *const[]){ "--kernel", e32, NULL },
                       "not a 64-bit ELF (class 1)");
    unlink(e32);
    /* A bzImage's header without its boot flag, then an old 32-bit-only protocol. */
    unsigned char bz[0x300] = { 0 };
    memcpy(bz + 0x202, "HdrS", 4);
    char *bzimage = temp_file_with(bz, sizeof bz);
    expect_setup_error((const char *const[]){ "--kernel", bzimage, NULL },
                       "without the boot sector's 0xaa55 flag");
    unlink(bzimage);
    bz[0x1fe] = 0x55, bz[0x1ff] = 0xaa, bz[0x206] = 0x03, bz[0x207] = 0x02;
    bzimage = temp_file_with(bz, sizeof bz);
    expect_setup_error((const char *const[]){ "--kernel", bzimage, NULL },
                       "bzImage boot protocol 2.03 without a 64-bit entry");
    unlink(bzimage);
    expect_setup_error((const char *const[]){ "--kernel", "@symhv-kernel", "--initrd",
                                              "/nonexistent/initrd", NULL },
                       "initrd /nonexistent/initrd: cannot open");
}
END_TEST

START_TEST(memory_size_out_of_range)
{
    expect_setup_error((const char *const[]){ "--mem", "1M", "--kernel", "@symhv-kernel", NULL },
                       "--mem 1 MiB is out of range: symhv needs 32 MiB to 3072 MiB");
    expect_setup_error((const char *const[]){ "--mem", "64G", "--kernel", "@symhv-kernel", NULL },
                       "--mem 65536 MiB is out of range");
    expect_setup_error((const char *const[]){ "--mem", "lots", "--kernel", "@symhv-kernel", NULL },
                       "--mem expects a size like 256M or 1G, got 'lots'");
    /* The kernel must fit: 32 MiB is fine, but a 40 MiB initrd is not. */
    static char big[40 << 20];
    char *initrd = temp_file_with(big, sizeof big);
    expect_setup_error((const char *const[]){ "--mem", "32M", "--kernel", "@symhv-kernel",
                                              "--initrd", initrd, NULL },
                       "too large");
    unlink(initrd);
}
END_TEST

START_TEST(vcpu_count_out_of_range)
{
    expect_setup_error((const char *const[]){ "--smp", "0", "--kernel", "@symhv-kernel", NULL },
                       "--smp 0 is out of range: this host allows 1 to ");
    expect_setup_error((const char *const[]){ "--smp", "5000", "--kernel", "@symhv-kernel",
                                              NULL },
                       "--smp 5000 is out of range");
    expect_setup_error((const char *const[]){ "--smp", "two", "--kernel", "@symhv-kernel", NULL },
                       "--smp expects a number of vCPUs, got 'two'");
    expect_setup_error((const char *const[]){ "--timeout", "-3", "--kernel", "@symhv-kernel",
                                              NULL },
                       "--timeout expects a positive number of seconds");
}
END_TEST

int main(void)
{
    Suite *s = suite_create("vmm-cli");
    TCase *tc = tcase_create("cli");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, help_and_version);
    tcase_add_test(tc, kvm_device_missing_or_wrong);
    tcase_add_test(tc, replay_needs_an_input);
    tcase_add_test(tc, several_inputs_need_their_sizes);
    tcase_add_test(tc, sym_args_are_checked);
    tcase_add_test(tc, schedule_is_checked);
    tcase_add_test(tc, show_splits_a_test_case);
    tcase_add_test(tc, an_output_directory_in_use_is_refused);
    tcase_add_test(tc, replay_takes_the_target_from_the_campaign);
    tcase_add_test(tc, kvm_permission_denied);
    /* symhv opens KVM before it reads the guest's files and sizes the machine */
    if (kvm_usable()) {
        tcase_add_test(tc, missing_and_unknown_arguments);
        tcase_add_test(tc, bad_kernel_images);
        tcase_add_test(tc, memory_size_out_of_range);
        tcase_add_test(tc, vcpu_count_out_of_range);
    } else {
        printf("NOT RUN: 4 vmm-cli tests need KVM, which this machine does not offer\n");
    }
    suite_add_tcase(s, tc);
    return run_suite(s);
}
