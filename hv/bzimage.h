/* Linux's bzImage and its 64-bit boot protocol (Documentation/arch/x86/boot.rst), as
 * distribution kernels ship (/boot/vmlinuz-*): the setup header is checked and read
 * here, the protected-mode kernel goes to its preferred address, and the zero page
 * (struct boot_params) carries the command line, the initrd and the memory map. Pure
 * (no VM), unit-tested; boot.c places the pieces and starts vCPU 0 in long mode at
 * load address + 0x200 with RSI = the zero page. */
#ifndef HV_BZIMAGE_H
#define HV_BZIMAGE_H

#include <stddef.h>
#include <stdint.h>

#define BZ_BOOT_PARAMS_SIZE 4096
#define BZ_MIN_VERSION 0x020c /* 2.12: XLF_KERNEL_64, the 64-bit entry */

struct bzimage {
    uint16_t version;         /* boot protocol */
    size_t kernel_offset;     /* the protected-mode kernel in the file ... */
    size_t kernel_size;       /* ... and its size */
    uint64_t load_addr;       /* where it goes: the preferred address */
    uint64_t init_size;       /* bytes it needs from there while it decompresses */
    uint32_t cmdline_max;     /* longest command line it takes */
    uint32_t initrd_addr_max; /* highest address the initrd's last byte may have */
};

struct bz_e820 {
    uint64_t addr, size;
    uint32_t type; /* 1 RAM, 2 reserved */
};

/* Does the file start like a bzImage (boot flag and "HdrS")? */
int bzimage_detect(const uint8_t *file, size_t size);
/* Check and read the header for a guest with ram_bytes of RAM. 0, or -1 and a message
 * in err (one line: what is wrong with the image). */
int bzimage_parse(const uint8_t *file, size_t size, uint64_t ram_bytes, struct bzimage *out,
                  char *err, size_t err_size);
/* The zero page: the file's setup header, what the loader fills in, the memory map. */
void bzimage_boot_params(uint8_t params[BZ_BOOT_PARAMS_SIZE], const uint8_t *file,
                         uint64_t cmdline_addr, uint64_t initrd_addr, uint64_t initrd_size,
                         const struct bz_e820 *map, unsigned nmap);

#endif
