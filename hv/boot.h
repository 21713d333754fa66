/* The symhv boot protocol (include/symhv/abi.h): long-mode page tables, boot GDT,
 * boot info, and each vCPU's initial registers. No firmware is involved. */
#ifndef HV_BOOT_H
#define HV_BOOT_H

#include "vm.h"

/* Write page tables, GDT and boot info into guest RAM. */
void boot_write_memory(struct vm *vm, const struct symhv_boot_info *info);
/* Put vCPU `v` in 64-bit mode at the kernel entry with its id and stack. */
int boot_setup_vcpu(struct vcpu *v);

/* PVH, the boot protocol of Linux's vmlinux (CONFIG_PVH) and other kernels that carry a
 * Xen PHYS32_ENTRY ELF note: vCPU 0 starts in 32-bit protected mode, paging off, at the
 * note's entry with ebx = struct hvm_start_info; the other vCPUs wait for the kernel's
 * INIT/SIPI, as on a PC. */
void boot_write_pvh(struct vm *vm, const char *cmdline, uint64_t initrd_addr,
                    uint64_t initrd_size);
int boot_setup_vcpu_pvh(struct vcpu *v);

#endif
