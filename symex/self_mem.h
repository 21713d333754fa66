/* A memory interface over this very process's memory, for running the interpreter on
 * host code (tests, benchmarks, in-process harnesses). Reads and writes go through
 * process_vm_readv/writev, so a bad address is an error, not a crash. */
#ifndef SYMEX_SELF_MEM_H
#define SYMEX_SELF_MEM_H

#include "interp.h"

extern const struct sx_mem_ops sx_self_mem;

/* Atomic compare-exchange of a 1, 2, 4 or 8-byte value at host pointer p: stores
 * `desired` if it holds `expected`; *old gets the value found. Returns 1 if stored.
 * For memory interfaces whose guest memory is mapped in this process. */
int sx_host_cmpxchg(void *p, size_t len, uint64_t expected, uint64_t desired, uint64_t *old);

int sx_self_read(void *opaque, uint64_t addr, void *buf, size_t len);
int sx_self_write(void *opaque, uint64_t addr, const void *buf, size_t len);
int sx_self_cmpxchg(void *opaque, uint64_t addr, size_t len, uint64_t expected,
                    uint64_t desired, uint64_t *old);

#endif
