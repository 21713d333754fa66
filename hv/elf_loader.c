#include "elf_loader.h"

#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util.h"


/* A Linux bzImage starts with the real-mode boot sector: "HdrS" at offset 0x202. */
static int looks_like_bzimage(const uint8_t *file, size_t size)
{
    return size > 0x206 && memcmp(file + 0x202, "HdrS", 4) == 0;
}

/* The PVH entry point: an ELF note named "Xen" of type XEN_ELFNOTE_PHYS32_ENTRY (18)
 * whose descriptor is the 32-bit physical entry address. 0 if absent. The walk is in
 * 64-bit offsets, every size checked against the bytes left before it is used (a 32-bit
 * size rounded up to 4 wraps to 0 near 4 GiB). */
static uint64_t find_pvh_entry(const uint8_t *file, size_t size, const Elf64_Ehdr *eh)
{
    for (unsigned i = 0; i < eh->e_phnum; i++) {
        Elf64_Phdr ph;
        memcpy(&ph, file + eh->e_phoff + i * sizeof ph, sizeof ph);
        if (ph.p_type != PT_NOTE || ph.p_offset > size || size - ph.p_offset < ph.p_filesz)
            continue;
        uint64_t off = ph.p_offset, end = ph.p_offset + ph.p_filesz;
        while (end - off >= 12) {
            uint32_t namesz, descsz, type;
            memcpy(&namesz, file + off, 4);
            memcpy(&descsz, file + off + 4, 4);
            memcpy(&type, file + off + 8, 4);
            uint64_t left = end - off - 12;
            uint64_t name_pad = ((uint64_t)namesz + 3) & ~(uint64_t)3;
            uint64_t desc_pad = ((uint64_t)descsz + 3) & ~(uint64_t)3;
            if (name_pad > left || desc_pad > left - name_pad)
                break;
            uint64_t name = off + 12, desc = name + name_pad;
            if (type == 18 && namesz == 4 && memcmp(file + name, "Xen", 4) == 0 && descsz >= 4) {
                uint64_t entry = 0;
                memcpy(&entry, file + desc, descsz >= 8 ? 8 : 4);
                return entry;
            }
            off = desc + desc_pad;
        }
    }
    return 0;
}

int elf_load(const uint8_t *file, size_t size, uint8_t *mem, uint64_t mem_bytes,
             uint64_t min_addr, struct elf_image *out, char *err, size_t err_size)
{
    if (size < sizeof(Elf64_Ehdr) || memcmp(file, ELFMAG, SELFMAG) != 0) {
        if (looks_like_bzimage(file, size))
            return err_printf(err, err_size, "a Linux boot header (\"HdrS\") without the boot "
                                       "sector's 0xaa55 flag: a damaged bzImage?");
        return err_printf(err, err_size, "not an ELF file (bad magic)");
    }
    Elf64_Ehdr eh;
    memcpy(&eh, file, sizeof eh);
    if (eh.e_ident[EI_CLASS] != ELFCLASS64)
        return err_printf(err, err_size, "not a 64-bit ELF (class %u)", eh.e_ident[EI_CLASS]);
    if (eh.e_ident[EI_DATA] != ELFDATA2LSB)
        return err_printf(err, err_size, "not a little-endian ELF");
    if (eh.e_machine != EM_X86_64)
        return err_printf(err, err_size, "not an x86-64 ELF (machine %u)", eh.e_machine);
    if (eh.e_type != ET_EXEC)
        return err_printf(err, err_size, "not a static executable (ELF type %u)", eh.e_type);
    if (eh.e_phentsize != sizeof(Elf64_Phdr) || eh.e_phnum == 0 ||
        eh.e_phoff > size || (size - eh.e_phoff) / sizeof(Elf64_Phdr) < eh.e_phnum)
        return err_printf(err, err_size, "program headers missing or truncated");

    /* Check everything before copying anything, so a bad image leaves RAM untouched. */
    uint64_t low = UINT64_MAX, high = 0;
    int entry_ok = 0;
    for (unsigned i = 0; i < eh.e_phnum; i++) {
        Elf64_Phdr ph;
        memcpy(&ph, file + eh.e_phoff + i * sizeof ph, sizeof ph);
        if (ph.p_type != PT_LOAD || ph.p_memsz == 0)
            continue;
        if (ph.p_filesz > ph.p_memsz)
            return err_printf(err, err_size, "segment %u: file size exceeds memory size", i);
        if (ph.p_offset > size || size - ph.p_offset < ph.p_filesz)
            return err_printf(err, err_size, "segment %u: data beyond the end of the file", i);
        if (ph.p_paddr < min_addr)
            return err_printf(err, err_size,
                        "segment %u at 0x%llx is below 0x%llx (reserved for boot data)", i,
                        (unsigned long long)ph.p_paddr, (unsigned long long)min_addr);
        if (ph.p_paddr > mem_bytes || mem_bytes - ph.p_paddr < ph.p_memsz)
            return err_printf(err, err_size,
                        "segment %u (0x%llx, %llu bytes) does not fit in %llu MiB of guest "
                        "RAM", i, (unsigned long long)ph.p_paddr,
                        (unsigned long long)ph.p_memsz,
                        (unsigned long long)(mem_bytes >> 20));
        if (ph.p_paddr < low)
            low = ph.p_paddr;
        if (ph.p_paddr + ph.p_memsz > high)
            high = ph.p_paddr + ph.p_memsz;
        /* The entry is a virtual address; translate it through its segment. */
        if ((ph.p_flags & PF_X) && eh.e_entry >= ph.p_vaddr &&
            eh.e_entry - ph.p_vaddr < ph.p_memsz) {
            entry_ok = 1;
            out->entry = ph.p_paddr + (eh.e_entry - ph.p_vaddr);
        }
    }
    if (high == 0)
        return err_printf(err, err_size, "no loadable segments");
    out->pvh_entry = find_pvh_entry(file, size, &eh);
    /* A PVH kernel is entered through its note; e_entry (Linux: startup_64) is unused. */
    if (!entry_ok && !out->pvh_entry)
        return err_printf(err, err_size, "entry point 0x%llx is not in an executable segment",
                    (unsigned long long)eh.e_entry);
    if (out->pvh_entry && (out->pvh_entry < low || out->pvh_entry >= high))
        return err_printf(err, err_size, "PVH entry 0x%llx is outside the loaded image",
                    (unsigned long long)out->pvh_entry);

    for (unsigned i = 0; i < eh.e_phnum; i++) {
        Elf64_Phdr ph;
        memcpy(&ph, file + eh.e_phoff + i * sizeof ph, sizeof ph);
        if (ph.p_type != PT_LOAD || ph.p_memsz == 0)
            continue;
        memcpy(mem + ph.p_paddr, file + ph.p_offset, ph.p_filesz);
        memset(mem + ph.p_paddr + ph.p_filesz, 0, ph.p_memsz - ph.p_filesz);
    }
    out->low = low;
    out->high = high;
    return 0;
}
