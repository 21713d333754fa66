/* Binary-only coverage for programs built without instrumentation (coverage-guided
 * tracing): a one-shot int3 at every basic block the decoder finds in the program's
 * executable segments, removed at its first hit, in guest RAM and in the snapshot alike.
 * symhv's kernel hands each #BP of a program to the VMM (SYMHV_HC_BREAKPOINT): an
 * execution makes one call per block no execution reached before and runs natively
 * everywhere else; a block hit is a byte of the campaign's map (novelty of blocks, not
 * edges or hit counts). (KVM's own #BP exits, KVM_GUESTDBG_USE_SW_BP, never came in the
 * nested rig: QEMU's SVM treats int3 as a software interrupt, not an intercepted #BP.)
 *
 * Blocks: the functions the symbol table names, the targets of direct jumps,
 * conditional branches and calls, and the instruction after each conditional branch, where a linear sweep of the segment's code
 * finds an instruction starting there. Static programs, ET_EXEC at the ELF's addresses
 * or static-pie moved by a load bias (in the guest: where symhv's kernel says it put
 * the program; symhv cov natively: the process's). */
#ifndef HV_BREAKPOINTS_H
#define HV_BREAKPOINTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct vm;
struct vcpu;
struct guest_as;
struct snapshot;
struct breakpoints;

#define BREAKPOINTS_MAX (1u << 20) /* blocks armed at most (said when a program has more) */

/* The blocks of the program at host path `path` (position-independent ones only with
 * `pie_ok`). NULL and a one-line reason in why[] when it cannot be done (no such file,
 * not ELF64 x86-64, PIE, no code). */
struct breakpoints *breakpoints_open(const char *path, bool pie_ok, char *why,
                                     size_t why_size);
/* The ELF's entry point (its own address, before any load bias). */
uint64_t breakpoints_entry(const struct breakpoints *b);
void breakpoints_free(struct breakpoints *b);
size_t breakpoints_count(const struct breakpoints *b);
/* The blocks' addresses, sorted (count of them; symhv cov reports by them). */
const uint64_t *breakpoints_addresses(const struct breakpoints *b);

/* After the snapshot, the VM settled: an int3 at every block not hit yet, written into
 * guest RAM and into the snapshot (addresses moved by `bias`, through `as`, the
 * program's), and the VM's breakpoint hook set. Returns how many were armed. */
long breakpoints_arm(struct breakpoints *b, struct vm *vm, const struct guest_as *as,
                     struct snapshot *snap, uint64_t bias);
/* Before a concolic execution (the VM settled): the original bytes back in guest RAM
 * (not in the snapshot: the restore after the execution arms them again), as the
 * interpreter reads the program's code from RAM. */
void breakpoints_disarm_live(struct breakpoints *b, struct vm *vm);
/* The blocks hit since the last call, one byte each (1: hit) into trace[count], cleared. */
void breakpoints_take_trace(struct breakpoints *b, uint8_t *trace, size_t count);

#endif
