/* program.c: starting the program (ELF, the Linux initial stack, symbolic sources) */
#ifndef KERNEL_PROGRAM_H
#define KERNEL_PROGRAM_H

#include "kernel.h"
#include "linux_mm.h"
#include "linux_fs.h"

uint64_t program_load(void);               /* -> entry; panics with the reason */
void program_start_sources(void);          /* on the main thread, before its first
                                              instruction: mark or snapshot the inputs */
/* The program looks at file i (open, stat, read...): under the harness, the input's
 * first use takes the snapshot there (the fuzzer's input becomes the file's bytes). */
void program_input_touched(uint32_t file);

#endif
