/* base.c: what every part of the kernel stands on */
#ifndef KERNEL_BASE_H
#define KERNEL_BASE_H

#include "kernel.h"
#include "console.h"

/* What the VMM handed over and the bounds of user memory: set at boot (vCPU 0, before
 * the others run), then read-only but for cpus_online. */
struct kernel {
    struct symhv_boot_info *boot;
    const struct symhv_launch *launch;  /* NULL: the initrd is a bare ELF */
    uint64_t user_top;                  /* end of user memory: the initrd / launch image */
    uint64_t heap_start, heap_end;      /* symhv's own ABI: the program's heap */
    volatile unsigned cpus_online;
    bool harness;                       /* symhv fuzz/explore: exits end executions */
};
extern struct kernel kernel;
extern struct cpu cpus[SYMHV_MAX_VCPUS];
struct cpu *this_cpu(void);
bool user_range_ok(uint64_t addr, uint64_t len);
void random_fill(void *buf, uint64_t n); /* the launch image's reproducible random stream */
/* Guest-physical (= user) bulk work, natively by the VMM when it is worth an exit. */
void kcopy(uint64_t dst, uint64_t src, uint64_t len);
void kzero(uint64_t addr, uint64_t len);

#endif
