/* The wire protocol between the VMM (symhv) and its symbolic sidecar (symhv-symex).
 *
 * Shared memory, no sockets: symhv creates
 *  - the guest RAM memfd (the sidecar maps it and reads/writes guest memory directly),
 *  - a "ring" memfd holding `struct sc_shared`: one request/reply slot per vCPU plus a
 *    control slot, and the symbolic-byte bitmap (one bit per byte of guest RAM),
 *  - two eventfds per slot, the doorbells: VMM -> sidecar and sidecar -> VMM. Each side
 *    rings and waits through its own io_uring (ipc/doorbell.h), so a round trip is one
 *    io_uring_enter per side.
 *
 * A slot is owned by one VMM thread (vCPU i's thread uses slot i, the main thread the
 * control slot) and served by one sidecar thread, so slots are served in parallel.
 * The VMM fills a request, rings; the sidecar replies in the same slot, rings back.
 *
 * The bitmap is written only by the sidecar (atomically, as its shadow changes) and
 * read by the VMM, which keeps its own per-page copy for the memslot layout: a reply
 * lists the pages whose bits may have changed and the VMM re-reads them.
 */
#ifndef SYMHV_SIDECAR_H
#define SYMHV_SIDECAR_H

#include <stdint.h>

#include "symhv/abi.h"

#define SC_MAGIC 0x7343796dU /* "myCs" */
#define SC_VERSION 1
#define SC_MAX_EXTENTS 272   /* a 1 MiB input spans at most 257 pages */
#define SC_MAX_PAGES 1024    /* pages listed in one reply; more: SC_PAGES_OVERFLOW */
#define SC_MESSAGE_MAX 512

/* vCPU state in the interpreter's register order (rax rcx rdx rbx rsp rbp rsi rdi
 * r8..r15). cr3/cr4/efer let the sidecar walk the guest page tables. */
struct sc_cpu {
    uint64_t gpr[16];
    uint64_t rip, rflags, fs_base, gs_base;
    uint64_t cr0, cr3, cr4, efer, cpl;
    uint8_t xmm[16][16];
};

struct sc_extent {          /* guest-physical bytes [gpa, gpa+len) = input[offset..) */
    uint64_t gpa;
    uint32_t len, offset;
};

enum sc_op {
    SC_OP_NONE = 0,
    SC_OP_MAKE_SYMBOLIC,    /* name, input_len, extents: declare input, mark bytes */
    SC_OP_CONCRETISE,       /* gpa, len: concrete bytes were written there */
    SC_OP_HANDOFF,          /* cpu: interpret until registers are concrete; cpu out */
    SC_OP_FINISH,           /* solve the branch flips, write the output directory */
    SC_OP_QUIT,             /* reply, then exit */
    SC_OP_RESET,            /* forget inputs, shadow and path (next fuzzing round) */
};

enum sc_status {
    SC_OK = 0,
    SC_FAILED = 1,          /* message says why */
};

/* Why a handoff ended. */
enum sc_stop {
    SC_STOP_CONCRETE = 0,   /* registers and flags hold no symbolic value */
    SC_STOP_NATIVE,         /* an instruction the interpreter does not model: the CPU
                               runs it (its operands were concretised) */
    SC_STOP_LIMIT,          /* step limit: concretised */
    SC_STOP_CANCELLED,      /* the VMM asked (VM stopping): concretised */
};

/* Totals a FINISH reply carries for the run summary. */
struct sc_stats {
    uint64_t instructions, stops_native, parallel_peak;
    uint64_t constraints, branches, flipped_sat, flipped_unsat, flipped_unknown;
    uint64_t assumptions, expressions_printed;
    double interpreter_seconds, solver_seconds;
};

struct sc_slot {
    /* request: written by the VMM before it rings */
    uint32_t op, vcpu;
    uint64_t gpa, len;                  /* CONCRETISE */
    char name[SYMHV_INPUT_NAME_MAX + 1]; /* MAKE_SYMBOLIC */
    uint32_t input_len, nextents;
    struct sc_extent extents[SC_MAX_EXTENTS];
    struct sc_cpu cpu;                  /* HANDOFF: in, and out */
    uint32_t cancel;                    /* atomic: VMM -> sidecar, stop interpreting */

    /* reply: written by the sidecar before it rings back */
    int32_t status;
    uint32_t stop;                      /* enum sc_stop */
    int32_t input_id;
    uint32_t npages;                    /* pages whose symbolic bits may have changed */
    uint32_t pages_overflow;            /* more than SC_MAX_PAGES: VMM rescans all RAM */
    uint64_t pages[SC_MAX_PAGES];
    uint64_t instructions;
    struct sc_stats stats;              /* FINISH */
    char message[SC_MESSAGE_MAX];

    /* progress: the concrete state after the last instruction the interpreter
     * retired, so the VMM can resume the vCPU there if the sidecar dies mid-handoff.
     * checkpoint_seq is odd while the sidecar writes `checkpoint` (a seqlock). */
    uint64_t checkpoint_seq;
    struct sc_cpu checkpoint;
};

struct sc_shared {
    uint32_t magic, version;
    uint32_t nslots;                    /* vCPUs + 1 (the last one is the control slot) */
    uint32_t ready;                     /* sidecar -> VMM: set once all threads serve */
    uint64_t mem_bytes;
    uint64_t bitmap_offset;             /* from the start of the mapping */
    struct sc_slot slots[];
};

/* Bytes of the ring memfd for `nslots` slots and `mem_bytes` of guest RAM. */
static inline uint64_t sc_bitmap_offset(uint32_t nslots)
{
    uint64_t n = sizeof(struct sc_shared) + (uint64_t)nslots * sizeof(struct sc_slot);
    return (n + 4095) & ~4095ull;
}
static inline uint64_t sc_shared_size(uint32_t nslots, uint64_t mem_bytes)
{
    return sc_bitmap_offset(nslots) + ((mem_bytes / 8 + 4095) & ~4095ull);
}

/* Attaching to a sidecar that is already running (symhv-symex --listen PATH, then
 * symhv --symex-socket PATH): symhv connects to the unix socket and sends one message,
 * a struct sc_attach as data and, as SCM_RIGHTS, the descriptors in the order of the
 * SC_FD_* numbers below (guest RAM, slots, the doorbells slot by slot). The sidecar
 * learns symhv's pid from the socket (SO_PEERCRED) and symhv learns the sidecar's. */
struct sc_attach {
    uint32_t magic, version;
    uint32_t nslots, solver_timeout_ms;
    uint64_t mem_bytes;
    char output_dir[4096];
};

/* File descriptors symhv hands symhv-symex (dup'ed to these numbers). */
enum {
    SC_FD_GUEST_MEM = 3,
    SC_FD_SHARED = 4,
    SC_FD_DOORBELLS = 5,   /* slot i: to-sidecar = 5 + 2i, to-VMM = 6 + 2i */
};

#endif
