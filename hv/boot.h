/* Loading a guest: the kernel image and initrd into RAM, the boot protocol's structures,
 * and every vCPU's initial state. Two protocols (README, include/symhv/abi.h):
 *  - symhv's own: every vCPU starts in 64-bit mode at the ELF entry with the boot info
 *    (page tables, GDT and boot info written here, no firmware);
 *  - PVH, for kernels that carry a Xen PHYS32_ENTRY ELF note (Linux's vmlinux with
 *    CONFIG_PVH): vCPU 0 starts in 32-bit protected mode, paging off, at the note's
 *    entry with ebx = struct hvm_start_info; the others wait for INIT/SIPI;
 *  - Linux's bzImage (bzimage.h): vCPU 0 in 64-bit mode at its startup_64 with RSI =
 *    the zero page; the others wait for INIT/SIPI. */
#ifndef HV_BOOT_H
#define HV_BOOT_H

#include <stdint.h>

#include "launch.h"
#include "vm.h"

struct boot_config {
    const char *kernel_path;
    const char *initrd_path; /* may be NULL: a payload, or a cpio archive of the program's
                                files (then it goes into the launch image) */
    const char *cmdline;     /* may be NULL */
    /* symhv's kernel starting a program (symhv/launch.h): used when a program is named
     * (launch.program) or the initrd is a cpio archive; its archives come from here */
    struct launch_config launch;
};

struct boot_info {
    uint64_t entry;
    uint64_t pvh_entry;      /* non-zero: booted through PVH */
    bool is_linux;            /* a Linux kernel (PVH or bzImage): wants a PC (pc.h) */
    uint64_t initrd_addr, initrd_size;
    bool launched;           /* a launch image went to the guest */
};

/* Load and set every vCPU up. 0, or -1 after one error line. */
__attribute__((warn_unused_result))
int boot_load(struct vm *vm, const struct boot_config *cfg, struct boot_info *out);

#endif
