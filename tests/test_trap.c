/* Symbolic pages on a real guest: pages leave the memslots and really trap; concrete
 * reads are emulated, writes concretise, the page comes back; wild agent arguments get
 * error codes and the VMM stays up. */
#include <check.h>
#include "check_main.h"

#include "symbolic.h"
#include "symhv_run.h"

START_TEST(symbolic_page_traps_and_is_released)
{
    expect_symhv((const char *const[]){ "-v", "--smp", "2", "--kernel", "@symhv-kernel",
                                        "--initrd", "@trap_check", "--timeout", "60", NULL },
                 0, "trap_check: data ok, counter advanced by more than 0\n",
                 "symbolic memory: 1 pages marked, 1 released, 1 reads emulated, "
                 "50 writes concretised");
}
END_TEST

START_TEST(agent_rejects_wild_arguments)
{
    expect_symhv((const char *const[]){ "-v", "--smp", "2", "--kernel", "@symhv-kernel",
                                        "--initrd", "@trap_check", "--timeout", "60", NULL },
                 0, "trap_check: input id 0, errors -22 -14 -14 -22 -14 -14\n",
                 "input 0 'input': 50 bytes at 0x");
}
END_TEST

/* RAM minus symbolic pages, as the memslots will be laid out. */
START_TEST(slot_layout_skips_symbolic_pages)
{
    static struct sym_page pages[4];
    struct mem_range out[5];
    const uint64_t mem = 64 * 4096;
    ck_assert_uint_eq(symmem_layout(mem, pages, 0, out), 1);
    ck_assert_uint_eq(out[0].gpa, 0);
    ck_assert_uint_eq(out[0].size, mem);

    pages[0].gpa = 0;
    pages[1].gpa = 4096;      /* adjacent to the first: one hole */
    pages[2].gpa = 10 * 4096;
    pages[3].gpa = mem - 4096; /* the last page */
    ck_assert_uint_eq(symmem_layout(mem, pages, 4, out), 2);
    ck_assert_uint_eq(out[0].gpa, 2 * 4096);
    ck_assert_uint_eq(out[0].size, 8 * 4096);
    ck_assert_uint_eq(out[1].gpa, 11 * 4096);
    ck_assert_uint_eq(out[1].size, mem - 12 * 4096);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("trap");
    TCase *tc = tcase_create("trap");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, slot_layout_skips_symbolic_pages);
    tcase_add_test(tc, symbolic_page_traps_and_is_released);
    tcase_add_test(tc, agent_rejects_wild_arguments);
    suite_add_tcase(s, tc);
    return run_suite(s);
}
