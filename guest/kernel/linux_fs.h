/* linux_fs.c: files and descriptors */
#ifndef KERNEL_LINUX_FS_H
#define KERNEL_LINUX_FS_H

#include "kernel.h"
#include "base.h"

void fs_init(void);
int64_t fs_syscall(struct cpu *c, struct trapframe *f, uint64_t nr, bool *handled);
/* The bytes of file i and its size (program.c, mmap of a file). */
const struct symhv_file *fs_file(uint32_t i);
uint64_t fs_file_data(const struct symhv_file *f);
bool fs_file_is_symbolic(uint32_t i);
void fs_set_size(uint32_t i, uint64_t size);
int fs_mmap_source(int fd, uint64_t off, uint64_t *src, uint64_t *avail, bool *symbolic);
/* The program looks at file i (open, stat, read...): fn(i) (boot.c: the harness's
 * snapshot at the input's first use, program_input_touched). */
void fs_on_input_touched(void (*fn)(uint32_t file));

#endif
