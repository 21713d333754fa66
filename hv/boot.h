/* The symhv boot protocol (include/symhv/abi.h): long-mode page tables, boot GDT,
 * boot info, and each vCPU's initial registers. No firmware is involved. */
#ifndef HV_BOOT_H
#define HV_BOOT_H

#include "vm.h"

/* Write page tables, GDT and boot info into guest RAM. */
void boot_write_memory(struct vm *vm, const struct symhv_boot_info *info);
/* Put vCPU `v` in 64-bit mode at the kernel entry with its id and stack. */
int boot_setup_vcpu(struct vcpu *v);

#endif
