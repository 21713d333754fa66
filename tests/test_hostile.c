/* The hostile-guest run, kept in CI: a ring-3 program throws wild hypercalls from several
 * threads at once, and a few hundred corrupted kernel images are booted. symhv and its
 * sidecar must stay up (this build has ASan/UBSan: any memory error aborts them) and end
 * every run with a documented status. Seeds are fixed, so a failure reproduces. */
#include <check.h>
#include "check_main.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "symhv_run.h"

static void expect_no_sanitizer_report(const struct run_result *r)
{
    ck_assert_msg(!strstr(r->err, "Sanitizer") && !strstr(r->err, "runtime error"),
                  "sanitizer report:\n%s", r->err);
}

/* Every file name in dir is printable ASCII (guest-chosen names are sanitised). */
static void expect_plain_file_names(const char *dir)
{
    DIR *d = opendir(dir);
    ck_assert_ptr_nonnull(d);
    for (struct dirent *e; (e = readdir(d));)
        for (const unsigned char *c = (const unsigned char *)e->d_name; *c; c++)
            ck_assert_msg(*c > 0x20 && *c < 0x7f, "file name with byte 0x%02x: %s", *c,
                          e->d_name);
    closedir(d);
}

START_TEST(wild_hypercalls_from_several_threads)
{
    static const char *const seeds[] = { "seed=1", "seed=2", "seed=3" };
    const char *dir = test_temp_dir();
    struct run_result r;
    run_symhv(&r, (const char *const[]){ "--smp", "2", "--mem", "256M", "--kernel",
                                         "@symhv-kernel", "--initrd", "@hostile", "--cmdline",
                                         seeds[_i], "--timeout", "120", "-o", dir, NULL });
    expect_no_sanitizer_report(&r);
    ck_assert_msg(r.status == 0, "status %d; stdout:\n%s\nstderr:\n%s", r.status, r.out, r.err);
    ck_assert_contains(r.out, "hostile: survived\n");
    ck_assert_contains(r.out, " 0 wrong answers\n");
    run_result_free(&r);
    expect_plain_file_names(dir);
}
END_TEST

static uint64_t next_random(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

/* Corrupt a few bytes of the kernel image, mostly in its headers (where the loader
 * reads), and boot it: status 0 (it still works), 124 (hangs), 125 (refused) or 126
 * (crashed), never a VMM crash. */
START_TEST(corrupted_kernel_images)
{
    size_t len;
    char *kernel = read_output_file(getenv("GUEST_DIR"), "symhv-kernel", &len);
    ck_assert_uint_gt(len, 4096);
    char *variant = malloc(len);
    const char *dir = test_temp_dir();
    char path[600];
    snprintf(path, sizeof path, "%s/kernel", dir);
    uint64_t s = 0x5eed;
    int counts[256] = { 0 };
    for (int i = 0; i < 250; i++) {
        memcpy(variant, kernel, len);
        int flips = 1 + (int)(next_random(&s) % 6);
        for (int k = 0; k < flips; k++) {
            size_t at = next_random(&s) % 4 ? next_random(&s) % 256 /* ELF and program headers */
                                            : next_random(&s) % len;
            variant[at] = (char)(next_random(&s) % 3 ? next_random(&s) : (uint64_t)0xff);
        }
        FILE *f = fopen(path, "wb");
        ck_assert_ptr_nonnull(f);
        ck_assert_uint_eq(fwrite(variant, 1, len, f), len);
        ck_assert_int_eq(fclose(f), 0);
        struct run_result r;
        /* --timeout 3 plus the stop's grace (VM_STOP_GRACE_S): a run still going after
         * that is a stop that did not work, said with this variant's number */
        char what[32];
        snprintf(what, sizeof what, "variant %d", i);
        run_symhv_within(&r, (const char *const[]){ "--smp", "2", "--mem", "64M", "--kernel",
                                                    path, "--initrd", "@hostile", "--cmdline",
                                                    "rounds=5", "--timeout", "3", NULL },
                         60, what);
        expect_no_sanitizer_report(&r);
        /* a vCPU the stop could not end: symhv exits 124/125 without teardown and says so */
        ck_assert_msg(!strstr(r.err, "did not end within"), "variant %d: a stop did not end; "
                      "stderr:\n%s", i, r.err);
        ck_assert_msg(r.status == 0 || r.status == 124 || r.status == 125 || r.status == 126,
                      "variant %d: status %d; stderr:\n%s", i, r.status, r.err);
        counts[r.status]++;
        run_result_free(&r);
    }
    fprintf(stderr, "corrupted kernels: %d ran, %d timed out, %d refused, %d crashed\n",
            counts[0], counts[124], counts[125], counts[126]);
    ck_assert_int_gt(counts[125], 0); /* the loader really saw broken headers */
    free(variant);
    free(kernel);
}
END_TEST

/* A static Linux program's wild system calls (tests/linux/lx_hostile.c) on symhv's
 * kernel: brk and mm lengths that wrap when rounded to a page, non-canonical FS/GS bases
 * (arch_prctl, clone), and a frame's fpstate flipped to kernel memory by another thread
 * during rt_sigreturn. Linux's answers, never a kernel panic, triple fault or leak. */
START_TEST(hostile_linux_system_calls)
{
    static const char *const modes[] = { "brk", "tls", "mm", "sigret" };
    static const char *const programs[] = { "%lx_hostile_musl", "%lx_hostile_glibc" };
    const char *mode = modes[_i % 4];
    struct run_result r;
    run_symhv(&r, (const char *const[]){ "run", "--smp", "2", "--timeout", "120", "--",
                                         programs[_i / 4], mode, NULL });
    expect_no_sanitizer_report(&r);
    ck_assert_msg(!strstr(r.err, "panic") && !strstr(r.err, "triple fault"),
                  "%s: stderr:\n%s", mode, r.err);
    if (strcmp(mode, "sigret") == 0) {
        /* Linux kills the program (SIGSEGV) when it sees the kernel address; a run in
         * which the flip never landed at the wrong moment ends normally */
        ck_assert_msg(!strstr(r.out, "after sigreturn"), "kernel bytes in xmm0:\n%s", r.out);
        ck_assert_msg(r.status == 0 || (r.status == 126 && strstr(r.err, "SIGSEGV")),
                      "status %d; stdout:\n%s\nstderr:\n%s", r.status, r.out, r.err);
    } else {
        ck_assert_msg(r.status == 0, "%s: status %d; stdout:\n%s\nstderr:\n%s", mode, r.status,
                      r.out, r.err);
    }
    run_result_free(&r);
}
END_TEST

int main(void)
{
    skip_suite_without_kvm("hostile");
    Suite *s = suite_create("hostile");
    TCase *tc = tcase_create("hostile");
    tcase_set_timeout(tc, 600);
    tcase_add_loop_test(tc, wild_hypercalls_from_several_threads, 0, 3);
    tcase_add_test(tc, corrupted_kernel_images);
    tcase_add_loop_test(tc, hostile_linux_system_calls, 0, 8);
    suite_add_tcase(s, tc);
    return run_suite(s);
}
