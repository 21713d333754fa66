/* Symbolic pages on a real guest: pages leave the memslots and really trap; concrete
 * reads are emulated, writes concretise, the page comes back; wild agent arguments get
 * error codes and the VMM stays up. */
#include <check.h>
#include "check_main.h"

#include <stdio.h>

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

int main(void)
{
    Suite *s = suite_create("trap");
    TCase *tc = tcase_create("trap");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, symbolic_page_traps_and_is_released);
    tcase_add_test(tc, agent_rejects_wild_arguments);
    tcase_add_test(tc, symbolic_run_finds_input_that_replays_to_the_branch);
    tcase_add_test(tc, other_vcpu_keeps_running_during_handoffs);
    tcase_add_test(tc, replay_needs_a_readable_input);
    suite_add_tcase(s, tc);
    return run_suite(s);
}
