/* A symhv virtual machine: one KVM VM with guest RAM in a memfd, an in-kernel irqchip
 * and up to SYMHV_MAX_VCPUS vCPUs, each run by its own host thread (see vcpu.h). */
#ifndef HV_VM_H
#define HV_VM_H

#include <linux/kvm.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "console.h"
#include "symbolic.h"
#include "symhv/abi.h"

/* symhv's own exit statuses; any other status is the guest's (see README). */
enum {
    HV_EXIT_TIMEOUT = 124,     /* --timeout elapsed */
    HV_EXIT_SETUP_ERROR = 125, /* bad arguments, bad image, no KVM ... */
    HV_EXIT_GUEST_CRASH = 126, /* triple fault, KVM internal error, wild access, panic */
    HV_EXIT_SIGNAL = 130,      /* interrupted by SIGINT/SIGTERM */
};

#define HV_MEM_MIN_BYTES (32ull << 20)
/* RAM stays below the 3 GiB mark: the top of the low 4 GiB holds the LAPIC/IOAPIC. */
#define HV_MEM_MAX_BYTES (3ull << 30)

struct vm_config {
    const char *kvm_path;    /* normally /dev/kvm */
    const char *kernel_path;
    const char *initrd_path; /* may be NULL */
    const char *cmdline;     /* may be NULL */
    uint64_t mem_bytes;
    unsigned ncpus;
    double timeout_s;        /* 0: no limit */
    const char *output_dir;  /* where a symbolic run writes its results */
    const char *replay_path; /* NULL, or an input file to replay concretely */
    const char *seed_path;   /* NULL, or the first concrete input of a symbolic run */
    unsigned solver_timeout_ms; /* per solver query */
    const char *symex_socket; /* NULL: start symhv-symex; else attach to it there */
    const struct fuzz_config *fuzz; /* `symhv fuzz`, else NULL */
    double clock_slow_down;  /* 0: off; guest time of an interpreted vCPU runs this many
                                times slower (INFINITY: stands still) */
};

struct vm;
struct fuzz_config;

struct vcpu {
    struct vm *vm;
    unsigned index;
    int fd;
    struct kvm_run *run;
    size_t run_size;
    pthread_t thread;
    atomic_bool thread_started; /* read by vm_request_stop() from any thread */
};

struct vm {
    int kvm_fd;
    int vm_fd;
    int mem_fd;            /* memfd backing guest RAM, shareable with other processes */
    uint8_t *mem;          /* host mapping of guest RAM, guest-physical 0 .. mem_bytes */
    uint64_t mem_bytes;
    unsigned ncpus;
    uint64_t entry;        /* kernel entry point (symhv boot protocol) */
    uint64_t pvh_entry;    /* non-zero: boot the kernel through PVH (boot.h) */
    struct kvm_cpuid2 *cpuid; /* KVM's supported CPUID, patched per vCPU */
    struct console console;
    struct vcpu vcpus[SYMHV_MAX_VCPUS];

    /* Stop protocol: the first vm_request_stop() wins and sets exit_status;
     * every vCPU thread sees `stopping` and leaves its run loop. */
    atomic_int stopping;
    int exit_status;       /* written once by the winner of `stopping` */

    /* Pause protocol (vm_pause): while `pausers` > 0 no vCPU enters KVM_RUN. */
    pthread_mutex_t run_lock;
    pthread_cond_t run_cond;
    int pausers;           /* guarded by run_lock */
    int in_guest;          /* vCPU threads inside KVM_RUN; guarded by run_lock */

    /* Memslot changes delete a slot before its pieces come back, so a KVM_TRANSLATE
     * (which walks guest page tables through the memslots) on another vCPU's thread
     * must not overlap one: translations read-lock, slot changes write-lock. */
    pthread_rwlock_t slots_lock;

    struct symbolic_mem symbolic;
    struct engine *engine; /* the concolic engine (engine.h) */
    struct fuzzer *fuzzer; /* `symhv fuzz` (fuzzer.h), else NULL */
};

/* Open KVM, create the VM, its RAM, irqchip and vCPUs, load kernel and initrd.
 * On failure prints one error line and returns -1 (vm_destroy() is still safe). */
int vm_create(struct vm *vm, const struct vm_config *cfg);
/* Run every vCPU on its own thread until the guest exits, crashes, times out or a
 * signal arrives. Returns symhv's exit status. */
int vm_run(struct vm *vm, double timeout_s);
void vm_destroy(struct vm *vm);

/* Ask every vCPU thread to stop; the first caller's status is the run's status. */
void vm_request_stop(struct vm *vm, int exit_status);
bool vm_is_stopping(struct vm *vm);

/* Get every other vCPU out of KVM_RUN and keep it out until vm_resume(): for changes
 * KVM cannot make under running vCPUs (splitting memslots). Callable from a vCPU
 * thread (which must not be inside KVM_RUN) or any other thread; nests. */
void vm_pause(struct vm *vm);
void vm_resume(struct vm *vm);
/* vCPU threads bracket KVM_RUN with these; enter returns false if the VM stops. */
bool vm_enter_guest(struct vm *vm, struct vcpu *v);
void vm_leave_guest(struct vm *vm);

/* Host pointer for guest-physical [gpa, gpa+len), or NULL if that leaves RAM. */
void *vm_gpa_to_host(struct vm *vm, uint64_t gpa, uint64_t len);

#endif
