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

/* An ELF whose PT_NOTE segment is `notes`, the last bytes of an allocation of exactly
 * the file's size: a read past them is an ASan report. */
static uint8_t *elf_with_notes(const uint8_t *notes, size_t len, size_t *size)
{
    struct test_elf e;
    make_elf(&e, 0x300000, 0);
    e.ph[1].p_offset = sizeof e;
    e.ph[1].p_filesz = len;
    *size = sizeof e + len;
    uint8_t *f = malloc(*size);
    memcpy(f, &e, sizeof e);
    memcpy(f + sizeof e, notes, len);
    return f;
}

/* One note: its header (namesz, descsz, type), then `bytes` bytes of name and
 * descriptor as given. Returns where the next note goes. */
static uint8_t *put_note(uint8_t *p, uint32_t namesz, uint32_t descsz, uint32_t type,
                         const void *bytes, size_t nbytes)
{
    memcpy(p, &namesz, 4);
    memcpy(p + 4, &descsz, 4);
    memcpy(p + 8, &type, 4);
    memcpy(p + 12, bytes, nbytes);
    return p + 12 + nbytes;
}

static uint64_t pvh_of(const uint8_t *notes, size_t len)
{
    size_t size;
    uint8_t *f = elf_with_notes(notes, len, &size);
    memset(&img, 0xa5, sizeof img);
    ck_assert_msg(elf_load(f, size, mem, MEM_BYTES, MIN_ADDR, &img, err, sizeof err) == 0,
                  "%s", err);
    free(f);
    return img.pvh_entry;
}

/* The PVH note walk on malformed notes: sizes near 4 GiB (rounded up to 4 they wrapped
 * to 0 in 32 bits: an 8-byte read past the file), a header cut short, a name or a
 * descriptor longer than the segment. The walk stops there, reading nothing outside. */
START_TEST(pvh_note_walk_stays_inside_its_segment)
{
    static const uint8_t xen_entry[] = { 'X', 'e', 'n', 0, 0x08, 0x00, 0x30, 0x00 };
    static const uint8_t gnu[] = { 'G', 'N', 'U', 0, 1, 2, 3, 4, 5, 6, 7, 8 };
    uint8_t notes[128], *p;

    /* well-formed: another note, then Xen's with the entry */
    p = put_note(notes, 4, 8, 3, gnu, sizeof gnu);
    p = put_note(p, 4, 4, 18, xen_entry, sizeof xen_entry);
    ck_assert_uint_eq(pvh_of(notes, (size_t)(p - notes)), 0x300008);

    /* Xen's note with descsz 0xfffffffd and nothing after its name */
    p = put_note(notes, 4, 0xfffffffdu, 18, "Xen", 4);
    ck_assert_uint_eq(pvh_of(notes, (size_t)(p - notes)), 0);
    p = put_note(notes, 4, 0xffffffffu, 18, "Xen", 4);
    ck_assert_uint_eq(pvh_of(notes, (size_t)(p - notes)), 0);

    /* a huge descsz or namesz ends the walk: the Xen note after it is not reached */
    p = put_note(notes, 4, 0xfffffffdu, 1, "GNU", 4);
    p = put_note(p, 4, 4, 18, xen_entry, sizeof xen_entry);
    ck_assert_uint_eq(pvh_of(notes, (size_t)(p - notes)), 0);
    p = put_note(notes, 0xfffffffeu, 0, 1, "", 0);
    p = put_note(p, 4, 4, 18, xen_entry, sizeof xen_entry);
    ck_assert_uint_eq(pvh_of(notes, (size_t)(p - notes)), 0);
    p = put_note(notes, 0xffffffffu, 0xffffffffu, 18, "", 0);
    ck_assert_uint_eq(pvh_of(notes, (size_t)(p - notes)), 0);

    /* cut short: in the header, in the name, in the descriptor */
    put_note(notes, 4, 4, 18, xen_entry, sizeof xen_entry);
    for (size_t len = 0; len < 20; len++)
        ck_assert_uint_eq(pvh_of(notes, len), 0);

    /* a note segment past the end of the file is not read */
    size_t size;
    uint8_t *f = elf_with_notes(notes, 20, &size);
    Elf64_Phdr ph;
    memcpy(&ph, f + offsetof(struct test_elf, ph[1]), sizeof ph);
    ph.p_filesz = 21;
    memcpy(f + offsetof(struct test_elf, ph[1]), &ph, sizeof ph);
    ck_assert_int_eq(elf_load(f, size, mem, MEM_BYTES, MIN_ADDR, &img, err, sizeof err), 0);
    ck_assert_uint_eq(img.pvh_entry, 0);
    free(f);
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
    tcase_add_test(tc, pvh_note_walk_stays_inside_its_segment);
    tcase_add_test(tc, parses_sizes);
    suite_add_tcase(s, tc);
    return run_suite(s);
}
