/* hv/ without KVM: the memslot layout, the guest page walk, exit dispatch with a kvm_run
 * filled by hand and fake handlers (Firecracker's way of testing its vCPU loop), file
 * names from guest strings, and the atomic writer. */
#include <check.h>
#include "../check_main.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "memory.h"
#include "pagewalk.h"
#include "util.h"
#include "vcpu.h"
#include "vm.h"

/* RAM minus trapped pages, as the memslots will be laid out. */
START_TEST(slot_layout_skips_trapped_pages)
{
    uint64_t pages[4] = { 0 };
    struct mem_range out[5];
    const uint64_t mem = 64 * 4096;
    ck_assert_uint_eq(memory_layout(mem, pages, 0, out), 1);
    ck_assert_uint_eq(out[0].gpa, 0);
    ck_assert_uint_eq(out[0].size, mem);

    pages[0] = 0;
    pages[1] = 4096;      /* adjacent to the first: one hole */
    pages[2] = 10 * 4096;
    pages[3] = mem - 4096; /* the last page */
    ck_assert_uint_eq(memory_layout(mem, pages, 4, out), 2);
    ck_assert_uint_eq(out[0].gpa, 2 * 4096);
    ck_assert_uint_eq(out[0].size, 8 * 4096);
    ck_assert_uint_eq(out[1].gpa, 11 * 4096);
    ck_assert_uint_eq(out[1].size, mem - 12 * 4096);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("unit");
    TCase *tc = tcase_create("hv");
    tcase_add_test(tc, slot_layout_skips_trapped_pages);
    suite_add_tcase(s, tc);
    return run_suite(s);
}
