/* Run a snippet of x86-64 code natively with a given register file, for comparing the
 * interpreter against the real CPU. */
#ifndef TESTS_NATIVE_H
#define TESTS_NATIVE_H

#include <stddef.h>
#include <stdint.h>

struct cpu_state {
    uint64_t gpr[16];   /* rax rcx rdx rbx rsp rbp rsi rdi r8..r15 */
    uint64_t rflags;
    uint64_t pad;
    uint8_t xmm[16][16];
} __attribute__((aligned(16)));

struct native_runner;

struct native_runner *native_new(void);
void native_free(struct native_runner *r);
/* Place the snippet; returns its address (the interpreter runs it from there too). */
uint64_t native_load(struct native_runner *r, const uint8_t *code, size_t len);
/* Run the loaded snippet on `st` (in and out). */
void native_run(struct native_runner *r, struct cpu_state *st);
/* Is [addr, addr+len) inside the runner's code page? */
int native_owns(const struct native_runner *r, uint64_t addr, size_t len);

#endif
