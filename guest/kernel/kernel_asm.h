/* Constants shared between entry.S and C. */
#ifndef KERNEL_ASM_H
#define KERNEL_ASM_H
#define TRAPFRAME_SIZE (22 * 8)

#endif
