/* The hypercall port (SYMHV_HYPERCALL_PORT, include/symhv/abi.h): a device on the port
 * bus whose calls are dispatched through a table of handlers, as KLEE dispatches its
 * special functions. The core's own numbers (console write, exit, panic, crashed
 * program, kill, assume, fuzz_end of a single run ...) are registered here; the
 * symbolic engine and the fuzzer register theirs when they attach (later wins). */
#ifndef HV_HYPERCALL_H
#define HV_HYPERCALL_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "guest_mem.h"
#include "vm.h"

struct console;

struct hc_call {
    struct vcpu *v;
    uint32_t nr;             /* without SYMHV_HC_FROM_USER */
    uint64_t arg[4];
    bool user;               /* ring 3, or forwarded for it: pointers get user rights */
    struct guest_as as;      /* the caller's address space, with those rights */
};

/* Returns the value for the caller's eax: >= 0, or -SYMHV_E*. */
typedef int64_t (*hc_fn)(struct hc_call *c, void *opaque);

#define HC_TABLE_SIZE 64
#define HC_MAX_NOTES 64 /* distinct guest-kernel notes shown (SYMHV_HC_LOG) */

struct hypercalls {
    struct vm *vm;
    struct console *console;
    struct { hc_fn fn; void *opaque; } table[HC_TABLE_SIZE];
    /* vCPUs whose "online" report was logged: once each, not again after every snapshot
     * restore of a fuzzing campaign (atomic bits) */
    uint64_t online_reported[(SYMHV_MAX_VCPUS + 63) / 64];
    pthread_mutex_t notes_lock;  /* guards notes: the hashes of the notes shown */
    uint64_t notes[HC_MAX_NOTES];
    unsigned nnotes;
};

/* Claim the port and register the core's numbers. 0 or -1. */
__attribute__((warn_unused_result))
int hypercalls_attach(struct hypercalls *h, struct vm *vm, struct console *console);
/* One owner per number: a second registration is a wiring bug (aborts). */
void hypercall_register(struct hypercalls *h, unsigned nr, hc_fn fn, void *opaque);

/* The longest guest string a hypercall reads (messages, bug reports). */
#define HC_MESSAGE_MAX 1024

/* For handlers: a NUL-terminated guest string; -1 if unreadable. */
int hc_read_string(struct hc_call *c, uint64_t va, char *buf, size_t max);
/* End the run from a hypercall: flush the console, then the VM's end policy. */
void hc_end(struct hc_call *c, const struct guest_end *e);

#endif
