/* linux_mm.c: the address space */
#ifndef KERNEL_LINUX_MM_H
#define KERNEL_LINUX_MM_H

#include "kernel.h"
#include "linux_fs.h"

void mm_init(uint64_t image_start, uint64_t image_end);
int64_t mm_brk(uint64_t addr);
int64_t mm_mmap(uint64_t addr, uint64_t len, uint64_t prot, uint64_t flags, int fd,
                uint64_t off);
int64_t mm_munmap(uint64_t addr, uint64_t len);
int64_t mm_mremap(uint64_t old, uint64_t old_len, uint64_t new_len, uint64_t flags,
                  uint64_t new_addr);
int64_t mm_madvise(uint64_t addr, uint64_t len, uint64_t advice);
uint64_t mm_alloc_stack_top(void);   /* the main thread's stack top */
/* System V shared memory, as far as an AFL++ build needs it: the segment of
 * SYMHV_AFL_SHM_ID when the launch image has an afl_map_size, and SYMHV_AFL_CMPLOG_SHM_ID's
 * when it says SYMHV_LAUNCH_AFL_CMPLOG. */
int64_t mm_shmat(uint64_t id, uint64_t addr);
int64_t mm_shmdt(uint64_t addr);
int64_t mm_shmctl(uint64_t id, uint64_t cmd);
/* Where the program attached that segment (0: it did not), its size in *size. */
uint64_t mm_afl_map(uint64_t *size);
/* Where the program attached the CMPLOG map (SYMHV_AFL_CMP_MAP_BYTES), 0: it did not. */
uint64_t mm_afl_cmp_map(void);

#endif
