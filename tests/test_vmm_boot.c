/* Real guests on real KVM: SMP bring-up, threads, exit statuses, crash reports. */
#include <check.h>
#include "check_main.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "symhv_run.h"

static const int smp_counts[] = { 1, 2, 4 };

/* Every vCPU comes up in the kernel and runs ring-3 code. */
START_TEST(every_vcpu_reports_in)
{
    char smp[8], online[64], seen[64] = "vcpus seen:";
    int n = smp_counts[_i];
    snprintf(smp, sizeof smp, "%d", n);
    struct run_result r;
    run_symhv(&r, (const char *const[]){ "--smp", smp, "--kernel", "@symhv-kernel",
                                          "--initrd", "@smp_check", "--timeout", "60",
                                          NULL });
    ck_assert_msg(r.status == 0, "status %d, stderr:\n%s\nstdout:\n%s", r.status, r.err, r.out);
    for (int i = 0; i < n; i++) {
        snprintf(online, sizeof online, "symhv-kernel: vCPU %d online\n", i);
        ck_assert_contains(r.out, online);
        snprintf(seen + strlen(seen), sizeof seen - strlen(seen), " %d", i);
    }
    snprintf(seen + strlen(seen), sizeof seen - strlen(seen), " (of %d)\n", n);
    ck_assert_contains(r.out, seen);
    run_result_free(&r);
}
END_TEST

START_TEST(shared_counter_is_exact_on_2_vcpus)
{
    expect_symhv((const char *const[]){ "--smp", "2", "--kernel", "@symhv-kernel", "--initrd",
                                        "@counter", "--cmdline", "threads=16 adds=20000",
                                        "--timeout", "120", NULL },
                 0, "locked counter 320000, atomic counter 320000, expected 320000, joins ok\n",
                 NULL);
}
END_TEST

START_TEST(shared_counter_is_exact_on_4_vcpus)
{
    expect_symhv((const char *const[]){ "--smp", "4", "--kernel", "@symhv-kernel", "--initrd",
                                        "@counter", "--cmdline", "threads=8 adds=5000",
                                        "--timeout", "120", NULL },
                 0, "locked counter 40000, atomic counter 40000, expected 40000, joins ok\n",
                 NULL);
}
END_TEST

START_TEST(demo_finishes_with_exact_counter)
{
    struct run_result r;
    run_symhv(&r, (const char *const[]){ "--smp", "2", "--kernel", "@symhv-kernel",
                                          "--initrd", "@demo", "--timeout", "120", NULL });
    ck_assert_msg(r.status == 0, "status %d, stderr:\n%s\nstdout:\n%s", r.status, r.err, r.out);
    ck_assert_contains(r.out, "demo: 8 threads x 400 rounds on 2 vCPUs\n");
    ck_assert_contains(r.out, "shared counter: 3200 (expected 3200) OK");
    ck_assert_contains(r.out, "vCPU 1: ");
    run_result_free(&r);
}
END_TEST

START_TEST(guest_exit_status_becomes_symhv_status)
{
    expect_symhv((const char *const[]){ "--kernel", "@symhv-kernel", "--initrd", "@crash",
                                        "--cmdline", "exit=42", NULL },
                 42, "crash: starting\n", NULL);
}
END_TEST

START_TEST(hanging_guest_hits_timeout)
{
    expect_symhv((const char *const[]){ "--smp", "2", "--kernel", "@symhv-kernel", "--initrd",
                                        "@crash", "--cmdline", "hang=1", "--timeout", "1", NULL },
                 124, NULL, "guest did not finish within --timeout 1.0 s");
}
END_TEST

/* A kernel with a Xen PHYS32_ENTRY note (as Linux's vmlinux has) boots through PVH:
 * 32-bit entry, ebx = hvm_start_info with magic, memory map and command line. */
START_TEST(pvh_kernel_gets_start_info)
{
    /* on PVM hosts the options Linux needs there come first (pvm.h) */
    const char *want = access("/sys/module/kvm_pvm", F_OK) == 0
                           ? "pvh ok: noxsave nofsgsbase tsc_early_khz="
                           : "pvh ok: console=ttyS0 noxsave\n";
    expect_symhv((const char *const[]){ "-v", "--smp", "2", "--kernel", "@pvh_probe",
                                        "--cmdline", "console=ttyS0 noxsave", "--timeout",
                                        "30", NULL },
                 0, want, "booting it through PVH");
    expect_symhv((const char *const[]){ "--kernel", "@pvh_probe", "--cmdline",
                                        "console=ttyS0 noxsave", "--timeout", "30", NULL },
                 0, " console=ttyS0 noxsave\n", NULL);
}
END_TEST

START_TEST(triple_fault_is_reported_with_registers)
{
    struct run_result r;
    run_symhv(&r, (const char *const[]){ "--kernel", "@triple_fault", "--timeout", "30", NULL });
    ck_assert_int_eq(r.status, 126);
    ck_assert_contains(r.err, "vCPU 0: guest triple fault");
    if (!strstr(r.err, "AMD SVM's KVM resets a vCPU at a triple fault")) { /* elsewhere */
        ck_assert_contains(r.err, "rip 0000000000200007");
        ck_assert_contains(r.err, "instruction at rip: ud2");
    }
    run_result_free(&r);
}
END_TEST

START_TEST(kernel_write_outside_ram_is_reported)
{
    struct run_result r;
    run_symhv(&r, (const char *const[]){ "--kernel", "@wild_kernel", "--timeout", "30", NULL });
    ck_assert_int_eq(r.status, 126);
    ck_assert_contains(r.err, "guest wrote 8 bytes at unmapped guest-physical address "
                              "0xc0000000");
    ck_assert_contains(r.err, "(CPL 0)");
    run_result_free(&r);
}
END_TEST

START_TEST(program_write_outside_ram_is_reported)
{
    struct run_result r;
    run_symhv(&r, (const char *const[]){ "--smp", "2", "--kernel", "@symhv-kernel",
                                          "--initrd", "@crash", "--cmdline", "wild=1",
                                          "--timeout", "30", NULL });
    ck_assert_int_eq(r.status, 126);
    ck_assert_contains(r.err, "guest wrote 8 bytes at unmapped guest-physical address "
                              "0xd0000000");
    ck_assert_contains(r.err, "(CPL 3)");
    run_result_free(&r);
}
END_TEST

START_TEST(program_null_dereference_is_reported)
{
    expect_symhv((const char *const[]){ "--kernel", "@symhv-kernel", "--initrd", "@crash",
                                        "--cmdline", "null=1", "--timeout", "30", NULL },
                 126, NULL, "guest program crashed: page fault (#PF) at rip 0x");
    expect_symhv((const char *const[]){ "--kernel", "@symhv-kernel", "--initrd", "@crash",
                                        "--cmdline", "null=1", "--timeout", "30", NULL },
                 126, NULL, "address 0x0,");
}
END_TEST

START_TEST(kernel_without_program_panics_cleanly)
{
    expect_symhv((const char *const[]){ "--kernel", "@symhv-kernel", "--timeout", "30", NULL },
                 126, NULL, "guest kernel panic: no program");
}
END_TEST

START_TEST(kernel_rejects_non_elf_program)
{
    struct run_result r;
    /* The kernel image itself is an ELF, but a kernel, not a ring-3 program: it links at
     * 2 MiB, below where programs may live (4 MiB). A text file is not ELF at all. */
    run_symhv(&r, (const char *const[]){ "--kernel", "@symhv-kernel", "--initrd",
                                          "@symhv-kernel", "--timeout", "30", NULL });
    ck_assert_int_eq(r.status, 126);
    ck_assert_contains(r.err, "outside user memory 0x400000..");
    run_result_free(&r);

    char path[] = "/tmp/symhv-test-XXXXXX";
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(write(fd, "hello, not an ELF file\n", 23), 23);
    close(fd);
    run_symhv(&r, (const char *const[]){ "--kernel", "@symhv-kernel", "--initrd", path,
                                          "--timeout", "30", NULL });
    unlink(path);
    ck_assert_int_eq(r.status, 126);
    ck_assert_contains(r.err, "initrd is not a static x86-64 ELF64 executable");
    run_result_free(&r);
}
END_TEST

int main(void)
{
    skip_suite_without_kvm("vmm-boot");
    Suite *s = suite_create("vmm-boot");
    TCase *tc = tcase_create("boot");
    tcase_set_timeout(tc, 180);
    tcase_add_loop_test(tc, every_vcpu_reports_in, 0, 3);
    tcase_add_test(tc, shared_counter_is_exact_on_2_vcpus);
    tcase_add_test(tc, shared_counter_is_exact_on_4_vcpus);
    tcase_add_test(tc, demo_finishes_with_exact_counter);
    tcase_add_test(tc, guest_exit_status_becomes_symhv_status);
    tcase_add_test(tc, hanging_guest_hits_timeout);
    tcase_add_test(tc, pvh_kernel_gets_start_info);
    suite_add_tcase(s, tc);
    TCase *crash = tcase_create("crash");
    tcase_set_timeout(crash, 60);
    tcase_add_test(crash, triple_fault_is_reported_with_registers);
    tcase_add_test(crash, kernel_write_outside_ram_is_reported);
    tcase_add_test(crash, program_write_outside_ram_is_reported);
    tcase_add_test(crash, program_null_dereference_is_reported);
    tcase_add_test(crash, kernel_without_program_panics_cleanly);
    tcase_add_test(crash, kernel_rejects_non_elf_program);
    suite_add_tcase(s, crash);
    return run_suite(s);
}
