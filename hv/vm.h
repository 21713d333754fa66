/* A symhv virtual machine, and only the machine: one KVM VM with guest RAM in a memfd
 * (memory.h), an in-kernel irqchip, and vCPUs each run by its own host thread (vcpu.h).
 *
 * The machine knows no device, hypercall, engine or fuzzer. They attach themselves
 * (run.c is the composition root) through three hooks the vCPU loop dispatches to:
 *  - the port I/O bus: devices claim port ranges (vm_register_pio);
 *  - the RAM trap: guest RAM taken out of the memslots exits to the handler installed
 *    by whoever trapped it (vm_set_ram_trap);
 *  - the end policy: every way a guest can end (exit, kill, panic, crashed program,
 *    triple fault, KVM internal error, access outside RAM ...) reaches one function
 *    (vm_guest_ended); a plain run stops, a fuzzing campaign records and restores.
 *
 * Locks, in the only order they are taken:
 *   a feature's lock (engine, fuzzer, sidecar client) -> vm.run_lock -> memory.lock
 *   console.lock and the log are leaves. run_lock is held only for bookkeeping; a
 *   thread waiting in vm_pause sleeps on run_cond without any other lock of the VM.
 * Error convention (hv/): a function that fails prints one line with context where it
 * fails (log.h) and returns -1; callers only propagate.
 */
#ifndef HV_VM_H
#define HV_VM_H

#include <linux/kvm.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "memory.h"
#include "symhv/abi.h"

/* symhv's own exit statuses; any other status is the guest's (see README). */
enum {
    HV_EXIT_TIMEOUT = 124,     /* --timeout elapsed */
    HV_EXIT_SETUP_ERROR = 125, /* bad arguments, bad image, no KVM, unwritable output;
                                  symhv could not complete the run itself */
    HV_EXIT_GUEST_CRASH = 126, /* triple fault, KVM internal error, wild access, panic */
    HV_EXIT_SIGNAL = 130,      /* interrupted by SIGINT/SIGTERM */
};

#define HV_MEM_MIN_BYTES (32ull << 20)
/* RAM stays below the 3 GiB mark: the top of the low 4 GiB holds the LAPIC/IOAPIC. */
#define HV_MEM_MAX_BYTES (3ull << 30)

struct vm_config {
    const char *kvm_path;    /* normally /dev/kvm */
    uint64_t mem_bytes;
    unsigned ncpus;
};

struct vm;
struct vcpu;

struct vcpu {
    struct vm *vm;
    unsigned index;
    int fd;
    struct kvm_run *run;
    size_t run_size;
    bool sync_regs;             /* run->s.regs holds regs and sregs after each exit */
    bool sync_stale;            /* ... except after vcpu_state_replaced() and
                                   before the first KVM_RUN */
    pthread_t thread;
    atomic_bool thread_started; /* read by kicks from any thread */
    atomic_bool in_kvm_run;     /* inside the KVM_RUN ioctl: what a stop that does not end
                                   reports */
    /* the vCPU thread only: */
    bool completion_due;        /* the last exit wants a KVM_RUN to complete (I/O in,
                                   MMIO) before the state can be saved or replaced */
    bool stepping;              /* single-stepping (vcpu_single_step): off again at any
                                   other exit and when its state is replaced */
    bool settle_completion;     /* finishing its pending exit for a settle (counted as in
                                   the guest meanwhile) */
};

/* ---- the port I/O bus ---- */
typedef void (*pio_fn)(struct vcpu *v, uint16_t port, uint8_t *data, unsigned size, bool in,
                       void *opaque);
#define VM_MAX_PIO 16
struct pio_range {
    uint16_t base, len;
    pio_fn fn;
    void *opaque;
};

/* ---- the MMIO bus: guest-physical ranges outside RAM that devices serve ---- */
typedef void (*mmio_fn)(struct vcpu *v, uint64_t gpa, uint8_t *data, unsigned len,
                        bool is_write, void *opaque);
#define VM_MAX_MMIO 8
struct mmio_range {
    uint64_t base, len;
    mmio_fn fn;
    void *opaque;
};

/* ---- the RAM trap ---- */
struct ram_trap_ops {
    /* A read of [gpa, gpa+len) exited (before the instruction retires): fill data, or
     * take the vCPU elsewhere. A write exited after it retired: data holds the bytes.
     * 0, or -1 to end the guest (a crash). */
    int (*read)(struct vcpu *v, uint64_t gpa, uint8_t *data, unsigned len, void *opaque);
    int (*write)(struct vcpu *v, uint64_t gpa, const uint8_t *data, unsigned len, void *opaque);
    /* The VMM wrote concrete bytes over [gpa, gpa+len), some of it trapped (caller: the
     * vCPU whose thread wrote, or NULL for the main thread). */
    void (*overwritten)(struct vcpu *caller, uint64_t gpa, uint64_t len, void *opaque);
    /* KVM could not emulate an instruction (KVM_EXIT_INTERNAL_ERROR, emulation): if it
     * touched trapped RAM, make it runnable and return 1 (retry); 0: not ours. */
    int (*cannot_emulate)(struct vcpu *v, void *opaque);
};

/* ---- the end policy ---- */
enum guest_end_kind {
    GUEST_EXIT,   /* the guest ended itself: status is its exit status */
    GUEST_CRASH,  /* the guest or its program crashed */
    GUEST_SYMHV_FAILED, /* symhv itself could not go on (an access to trapped RAM it
                           could not serve): no finding about the guest */
};
struct guest_end {
    enum guest_end_kind kind;
    int status;          /* GUEST_EXIT: the guest's status */
    const char *why;     /* one line: what happened */
    bool vmm_saw_it;     /* the VMM saw the crash itself (triple fault, KVM error, wild
                            access): the vCPU's state is worth showing */
    int signal;          /* GUEST_CRASH: the signal a Linux process would have died of
                            (AFL++ names crash files by it: sig:NN), 0 if none fits */
    const struct symhv_user_regs *program_regs; /* a crashed program's registers, as its
                            kernel saved them (SYMHV_HC_USER_CRASH), or NULL */
    const uint8_t *program_insn; /* the bytes at its rip when its memory is not the
                            caller's (SYMHV_HC_PROGRAM_CRASH), else NULL */
    unsigned program_insn_len;
};
typedef void (*guest_end_fn)(struct vcpu *v, const struct guest_end *e, void *opaque);

/* ---- an instruction KVM could not emulate, on no trapped RAM: 1 if the hook made the
 * vCPU runnable again (it emulated the instruction itself), 0 if not its case ---- */
typedef int (*emulation_fix_fn)(struct vcpu *v, void *opaque);

/* ---- a vCPU's KVM_RUN returned for a kick (vm_kick), or after one instruction of a
 * single step (vcpu_single_step): called on its thread, outside the guest, before it
 * goes back in (or parks for a pause) ---- */
typedef void (*kick_fn)(struct vcpu *v, void *opaque);

/* ---- an int3 a program hit at pc, forwarded by symhv's kernel (SYMHV_HC_BREAKPOINT),
 * on v's thread: true if the hook's (the instruction is back), false if the program's
 * own ---- */
typedef bool (*breakpoint_fn)(struct vcpu *v, uint64_t pc, void *opaque);

/* ---- a device's state that a snapshot holds (the VMM's own devices, KVM's PIT): save
 * writes `size` bytes, load takes them back; both while the VM is settled; 0 or -1 after
 * a message ---- */
struct vm_state_hook {
    const char *name;
    size_t size;
    int (*save)(void *opaque, void *buf);
    int (*load)(void *opaque, const void *buf);
    void *opaque;
};
#define VM_MAX_STATE_HOOKS 4

struct vm {
    int kvm_fd;
    int vm_fd;
    struct memory mem;
    unsigned ncpus;
    struct kvm_cpuid2 *cpuid;     /* KVM's supported CPUID, patched per vCPU */
    bool has_xsave;               /* KVM_GET/SET_XSAVE exist */
    struct vcpu vcpus[SYMHV_MAX_VCPUS];

    /* the hooks (set before the vCPUs start, read-only afterwards) */
    struct pio_range pio[VM_MAX_PIO];
    unsigned npio;
    struct mmio_range mmio[VM_MAX_MMIO];
    unsigned nmmio;
    const struct ram_trap_ops *ram_trap;
    void *ram_trap_opaque;
    guest_end_fn end_fn;
    void *end_opaque;
    emulation_fix_fn emulation_fix;
    void *emulation_fix_opaque;
    kick_fn kick_hook, step_hook;
    void *kick_opaque;            /* both hooks' */
    _Atomic(breakpoint_fn) breakpoint_hook; /* set while the vCPUs are settled */
    void *_Atomic breakpoint_opaque;
    struct vm_state_hook state_hooks[VM_MAX_STATE_HOOKS];
    unsigned nstate_hooks;
    bool pvm_host;                /* KVM is backed by kvm_pvm (ring 0 emulated) */
    _Atomic unsigned completion_traps; /* pages trapped while a vCPU finishes a read on
                                          them (vcpu.c): brief; an instruction KVM cannot
                                          emulate on one waits for its end */

    /* Stop: the first vm_request_stop() wins and sets exit_status; every vCPU thread
     * sees `stopping` and leaves its loop. */
    atomic_int stopping;
    int exit_status;

    /* Pause (all guarded by run_lock): while pausers > 0 no vCPU enters KVM_RUN; while
     * settlers > 0 a vCPU reaching the top of its loop completes its pending exit and
     * counts itself in `parked`. */
    pthread_mutex_t run_lock;
    pthread_cond_t run_cond;
    int pausers, settlers;
    int in_guest;                 /* vCPU threads inside KVM_RUN */
    int parked;                   /* vCPU threads settled and waiting */
    int live_threads;             /* vCPU threads started and not finished */
};

/* Open KVM, create the VM, its RAM, irqchip and vCPUs. On failure prints one error
 * line and returns -1 (vm_destroy() is still safe). */
__attribute__((warn_unused_result)) int vm_create(struct vm *vm, const struct vm_config *cfg);
void vm_destroy(struct vm *vm);

/* Devices and features hook in (before vcpus_start). */
__attribute__((warn_unused_result))
int vm_register_pio(struct vm *vm, uint16_t base, uint16_t len, pio_fn fn, void *opaque);
__attribute__((warn_unused_result))
int vm_register_mmio(struct vm *vm, uint64_t base, uint64_t len, mmio_fn fn, void *opaque);
__attribute__((warn_unused_result))
int vm_register_state(struct vm *vm, const struct vm_state_hook *h);
/* Set an ISA interrupt line (GSI `irq`) of the in-kernel irqchip to `level`; an edge
 * is a change. Any thread; a failure is reported, not returned (a lost interrupt). */
void vm_irq_line(struct vm *vm, unsigned irq, bool level);
void vm_set_ram_trap(struct vm *vm, const struct ram_trap_ops *ops, void *opaque);
void vm_set_end_policy(struct vm *vm, guest_end_fn fn, void *opaque);
void vm_set_emulation_fix(struct vm *vm, emulation_fix_fn fn, void *opaque);
/* kick: called at kicks; step: at single-step exits (KVM_EXIT_DEBUG). */
void vm_set_kick_hooks(struct vm *vm, kick_fn kick, kick_fn step, void *opaque);
void vm_set_breakpoint_hook(struct vm *vm, breakpoint_fn fn, void *opaque);

/* vm_join() waits for the vCPU threads (vcpus_start, vcpu.h) after a stop. A thread
 * that has not ended VM_STOP_GRACE_S after it (kicked again half-way) is named with
 * where it stands, and -1 returned: the caller must not free what it may still use. */
#define VM_STOP_GRACE_S 20
int vm_join(struct vm *vm);
/* Make a running KVM_RUN of v return soon (stop, pause). Any thread. */
void vm_kick(struct vcpu *v);

/* The guest ended on vCPU v (v's thread): hand it to the end policy (without one set,
 * the VM stops with the guest's status or HV_EXIT_GUEST_CRASH; dump.h has the plain
 * run's policy, which also shows the vCPU's state). */
void vm_guest_ended(struct vcpu *v, const struct guest_end *e);

/* Ask every vCPU thread to stop; the first caller's status is the run's status. */
void vm_request_stop(struct vm *vm, int exit_status);
bool vm_is_stopping(struct vm *vm);

/* Stop the world: one mechanism with two depths.
 * vm_pause: returns once no vCPU is inside KVM_RUN; vCPUs wait before entering it until
 *   vm_resume. For changes KVM cannot make under running vCPUs (memslots). From any
 *   thread, vCPU threads included (the caller must not be inside KVM_RUN); nests.
 * vm_pause_settled: returns true once every vCPU thread is parked at the top of its
 *   loop with its pending exit completed, so its whole state (registers, LAPIC, events,
 *   memory) can be read and replaced from the calling thread; false if the VM stops.
 *   Not from a vCPU thread. vm_resume_settled ends it.
 * vm_begin_settle: a vCPU thread that wants the world settled (e.g. it ended a fuzzing
 *   execution) starts it without waiting; the thread that then calls
 *   vm_wait_settled/vm_resume_settled owns that pause. */
void vm_pause(struct vm *vm);
void vm_resume(struct vm *vm);
bool vm_pause_settled(struct vm *vm);
void vm_begin_settle(struct vm *vm);
bool vm_wait_settled(struct vm *vm);
void vm_resume_settled(struct vm *vm);
/* Is a settled pause wanted? (a vCPU busy elsewhere, e.g. interpreted, should return) */
bool vm_settle_requested(struct vm *vm);

/* vCPU threads bracket KVM_RUN with these (vcpu.c). vm_enter_guest parks while paused
 * and says what to do: run the guest (then vm_leave_guest after KVM_RUN), stop, or
 * complete the pending exit for a settle (then vm_leave_guest and ask again). */
enum vm_gate { VM_GATE_RUN, VM_GATE_STOP, VM_GATE_COMPLETE };
enum vm_gate vm_enter_guest(struct vm *vm, struct vcpu *v);
void vm_thread_starting(struct vm *vm);
void vm_leave_guest(struct vm *vm);
void vm_thread_done(struct vm *vm);

/* Host pointer for guest-physical [gpa, gpa+len), or NULL if that leaves RAM. */
static inline void *vm_gpa_to_host(struct vm *vm, uint64_t gpa, uint64_t len)
{
    return memory_host(&vm->mem, gpa, len);
}

#endif
