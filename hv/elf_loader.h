/* Loading a guest kernel image into guest RAM. Pure functions on byte buffers so the
 * validation can be tested without a VM. */
#ifndef HV_ELF_LOADER_H
#define HV_ELF_LOADER_H

#include <stddef.h>
#include <stdint.h>

struct elf_image {
    uint64_t entry;    /* physical entry address */
    uint64_t low;      /* lowest physical byte loaded */
    uint64_t high;     /* one past the highest physical byte loaded */
    uint64_t pvh_entry; /* 32-bit PVH entry (Xen ELF note 18, as Linux vmlinux has), or 0 */
};

/* Validate an ELF64 x86-64 executable in `file` and copy its PT_LOAD segments (by
 * physical address) into `mem` (guest RAM of `mem_bytes`), zero-filling .bss.
 * Segments must lie within [min_addr, mem_bytes). On error returns -1 and writes a
 * one-line reason to `err`. */
int elf_load(const uint8_t *file, size_t file_size, uint8_t *mem, uint64_t mem_bytes,
             uint64_t min_addr, struct elf_image *out, char *err, size_t err_size);

#endif
