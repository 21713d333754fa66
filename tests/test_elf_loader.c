/* The kernel loader and size parsing, on crafted inputs, without a VM. */
#include <check.h>
#include "check_main.h"
#include <elf.h>
#include <stdlib.h>
#include <string.h>

#include "elf_loader.h"
#include "options.h"

#define MEM_BYTES (8u << 20)
#define MIN_ADDR 0x200000u

/* A minimal ELF64 executable: one code segment at 0x200000 with `code`, and a .bss of
 * `bss` bytes after it. */
struct test_elf {
    Elf64_Ehdr eh;
    Elf64_Phdr ph[2];
    uint8_t code[16];
};

static void make_elf(struct test_elf *e, uint64_t paddr, uint64_t bss)
{
    memset(e, 0, sizeof *e);
    memcpy(e->eh.e_ident, ELFMAG, SELFMAG);
    e->eh.e_ident[EI_CLASS] = ELFCLASS64;
    e->eh.e_ident[EI_DATA] = ELFDATA2LSB;
    e->eh.e_ident[EI_VERSION] = EV_CURRENT;
    e->eh.e_type = ET_EXEC;
    e->eh.e_machine = EM_X86_64;
    e->eh.e_version = EV_CURRENT;
    e->eh.e_entry = 0xffffffff80000004ull; /* virtual, like a higher-half kernel */
    e->eh.e_phoff = offsetof(struct test_elf, ph);
    e->eh.e_phentsize = sizeof(Elf64_Phdr);
    e->eh.e_phnum = 2;
    e->eh.e_ehsize = sizeof(Elf64_Ehdr);
    e->ph[0] = (Elf64_Phdr){ .p_type = PT_LOAD, .p_flags = PF_R | PF_X,
                             .p_offset = offsetof(struct test_elf, code),
                             .p_vaddr = 0xffffffff80000000ull, .p_paddr = paddr,
                             .p_filesz = sizeof e->code, .p_memsz = sizeof e->code + bss };
    e->ph[1] = (Elf64_Phdr){ .p_type = PT_NOTE };
    for (unsigned i = 0; i < sizeof e->code; i++)
        e->code[i] = (uint8_t)(0xc0 + i);
}

static uint8_t *mem;
static char err[256];
static struct elf_image img;

static void setup(void) { mem = calloc(1, MEM_BYTES); }
static void teardown(void) { free(mem); }

static int load(const struct test_elf *e, size_t size)
{
    return elf_load((const uint8_t *)e, size, mem, MEM_BYTES, MIN_ADDR, &img, err, sizeof err);
}

START_TEST(loads_segments_by_physical_address)
{
    struct test_elf e;
    make_elf(&e, 0x300000, 100);
    memset(mem + 0x300000, 0xee, 200); /* stale bytes where .bss goes */
    ck_assert_int_eq(load(&e, sizeof e), 0);
    ck_assert_uint_eq(img.entry, 0x300004);
    ck_assert_uint_eq(img.low, 0x300000);
    ck_assert_uint_eq(img.high, 0x300000 + 16 + 100);
    ck_assert_int_eq(memcmp(mem + 0x300000, e.code, sizeof e.code), 0);
    for (int i = 16; i < 116; i++)
        ck_assert_uint_eq(mem[0x300000 + i], 0); /* .bss zeroed */
    ck_assert_uint_eq(mem[0x300000 + 116], 0xee); /* nothing past it touched */
}
END_TEST

START_TEST(rejects_bad_headers)
{
    struct test_elf e;
    make_elf(&e, 0x300000, 0);
    e.eh.e_ident[EI_CLASS] = ELFCLASS32;
    ck_assert_int_eq(load(&e, sizeof e), -1);
    ck_assert_str_eq(err, "not a 64-bit ELF (class 1)");

    make_elf(&e, 0x300000, 0);
    e.eh.e_machine = EM_AARCH64;
    ck_assert_int_eq(load(&e, sizeof e), -1);
    ck_assert_str_eq(err, "not an x86-64 ELF (machine 183)");

    make_elf(&e, 0x300000, 0);
    e.eh.e_type = ET_DYN;
    ck_assert_int_eq(load(&e, sizeof e), -1);
    ck_assert_str_eq(err, "not a static executable (ELF type 3)");

    make_elf(&e, 0x300000, 0);
    ck_assert_int_eq(load(&e, offsetof(struct test_elf, ph) + 8), -1);
    ck_assert_str_eq(err, "program headers missing or truncated");

    ck_assert_int_eq(load(&e, 10), -1);
    ck_assert_str_eq(err, "not an ELF file (bad magic)");
}
END_TEST

START_TEST(rejects_segments_outside_ram_or_file)
{
    struct test_elf e;
    make_elf(&e, 0x1000, 0);
    ck_assert_int_eq(load(&e, sizeof e), -1);
    ck_assert_str_eq(err, "segment 0 at 0x1000 is below 0x200000 (reserved for boot data)");
    ck_assert_uint_eq(mem[0x1000], 0); /* nothing copied */

    make_elf(&e, MEM_BYTES - 8, 0);
    ck_assert_int_eq(load(&e, sizeof e), -1);
    ck_assert_msg(strstr(err, "does not fit in 8 MiB of guest RAM"), "%s", err);

    make_elf(&e, 0x300000, 0);
    e.ph[0].p_offset = 1u << 30;
    ck_assert_int_eq(load(&e, sizeof e), -1);
    ck_assert_str_eq(err, "segment 0: data beyond the end of the file");

    make_elf(&e, 0x300000, 0);
    e.ph[0].p_memsz = 4;
    ck_assert_int_eq(load(&e, sizeof e), -1);
    ck_assert_str_eq(err, "segment 0: file size exceeds memory size");

    make_elf(&e, 0x300000, 0);
    e.eh.e_entry = 0x1234;
    ck_assert_int_eq(load(&e, sizeof e), -1);
    ck_assert_str_eq(err, "entry point 0x1234 is not in an executable segment");
}
END_TEST

START_TEST(parses_sizes)
{
    uint64_t b;
    ck_assert_int_eq(parse_size("256M", &b), 0);
    ck_assert_uint_eq(b, 256ull << 20);
    ck_assert_int_eq(parse_size("1G", &b), 0);
    ck_assert_uint_eq(b, 1ull << 30);
    ck_assert_int_eq(parse_size("512", &b), 0);
    ck_assert_uint_eq(b, 512ull << 20);
    ck_assert_int_eq(parse_size("65536k", &b), 0);
    ck_assert_uint_eq(b, 64ull << 20);
    ck_assert_int_eq(parse_size("2GiB", &b), 0);
    ck_assert_uint_eq(b, 2ull << 30);
    ck_assert_int_eq(parse_size("", &b), -1);
    ck_assert_int_eq(parse_size("-1M", &b), -1);
    ck_assert_int_eq(parse_size("12T", &b), -1);
    ck_assert_int_eq(parse_size("1Gx", &b), -1);
    ck_assert_int_eq(parse_size("99999999999999999999G", &b), -1);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("elf-loader");
    TCase *tc = tcase_create("loader");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, loads_segments_by_physical_address);
    tcase_add_test(tc, rejects_bad_headers);
    tcase_add_test(tc, rejects_segments_outside_ram_or_file);
    tcase_add_test(tc, parses_sizes);
    suite_add_tcase(s, tc);
    return run_suite(s);
}
