#include "hypercall.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "console.h"
#include "symhv/stack.h"
#include "log.h"
#include "vcpu.h"

/* Longest single console write; longer guest writes are split by the guest library. */
#define HC_WRITE_MAX (64 * 1024)
#define HC_READ_MAX (64 * 1024)

static const char *vector_name(uint64_t vector)
{
    static const char *const names[] = {
        "divide error (#DE)", "debug (#DB)", "NMI", "breakpoint (#BP)", "overflow (#OF)",
        "bound range (#BR)", "invalid opcode (#UD)", "device not available (#NM)",
        "double fault (#DF)", "coprocessor overrun", "invalid TSS (#TS)",
        "segment not present (#NP)", "stack fault (#SS)", "general protection (#GP)",
        "page fault (#PF)", "reserved", "x87 error (#MF)", "alignment check (#AC)",
        "machine check (#MC)", "SIMD error (#XM)",
    };
    return vector < sizeof names / sizeof names[0] ? names[vector] : "exception";
}

/* The signal Linux sends a process for this exception. */
static int vector_signal(uint64_t vector)
{
    switch (vector) {
    case 0: case 16: case 19: return 8;  /* SIGFPE */
    case 1: case 3: return 5;            /* SIGTRAP */
    case 6: return 4;                    /* SIGILL */
    case 17: return 7;                   /* SIGBUS */
    default: return 11;                  /* SIGSEGV */
    }
}

int hc_read_string(struct hc_call *c, uint64_t va, char *buf, size_t max)
{
    return guest_read_string(&c->as, va, buf, max);
}

void hc_end(struct hc_call *c, const struct guest_end *e)
{
    vm_guest_ended(c->v, e);
}

static int64_t hc_nop(struct hc_call *c, void *h)
{
    (void)c, (void)h;
    return 0;
}

static int64_t hc_write(struct hc_call *c, void *opaque)
{
    struct hypercalls *h = opaque;
    char tmp[4096];
    uint64_t buf = c->arg[0], len = c->arg[1];
    int stream = c->arg[2] == 2 ? 2 : 1;
    if (len > HC_WRITE_MAX)
        return -SYMHV_EINVAL;
    if (len && guest_for_each_chunk(&c->as, buf, len, false, NULL, NULL) < 0)
        return -SYMHV_EFAULT;
    for (uint64_t done = 0; done < len; done += sizeof tmp) {
        size_t n = len - done < sizeof tmp ? (size_t)(len - done) : sizeof tmp;
        if (guest_read(&c->as, buf + done, tmp, n) < 0)
            return -SYMHV_EFAULT;
        console_write_stream(h->console, stream, tmp, n);
    }
    return (int64_t)len;
}

/* The agent's print (any caller): the guest's output, always stdout. */
static int64_t hc_print(struct hc_call *c, void *opaque)
{
    c->arg[2] = 1;
    return hc_write(c, opaque);
}

static int64_t hc_exit(struct hc_call *c, void *h)
{
    (void)h;
    hv_info("guest exited with status %llu", (unsigned long long)c->arg[0]);
    hc_end(c, &(struct guest_end){ .kind = GUEST_EXIT, .status = (int)(c->arg[0] & 0xff) });
    return 0;
}

static int64_t hc_panic(struct hc_call *c, void *h)
{
    (void)h;
    char msg[HC_MESSAGE_MAX], why[HC_MESSAGE_MAX + 64];
    if (hc_read_string(c, c->arg[0], msg, sizeof msg) < 0)
        snprintf(msg, sizeof msg, "(unreadable message at 0x%llx)", (unsigned long long)c->arg[0]);
    snprintf(why, sizeof why, "guest kernel panic: %s", msg);
    hc_end(c, &(struct guest_end){ .kind = GUEST_CRASH, .why = why, .signal = 6 });
    return 0;
}

static int64_t hc_user_fault(struct hc_call *c, void *h)
{
    (void)h;
    char why[256];
    snprintf(why, sizeof why, "guest program crashed: %s at rip 0x%llx, address 0x%llx, "
             "error code 0x%llx", vector_name(c->arg[0]), (unsigned long long)c->arg[1],
             (unsigned long long)c->arg[2], (unsigned long long)c->arg[3]);
    hc_end(c, &(struct guest_end){ .kind = GUEST_CRASH, .why = why,
                                   .signal = vector_signal(c->arg[0]) });
    return 0;
}

/* A signal's name, "SIGSEGV" (or its number). */
static void signal_name(int sig, char *buf, size_t size)
{
    const char *abbrev = sig > 0 && sig < 65 ? sigabbrev_np(sig) : NULL;
    if (abbrev)
        snprintf(buf, size, "SIG%s", abbrev);
    else
        snprintf(buf, size, "signal %d", sig);
}

static int read_guest(void *ctx, uint64_t va, void *buf, unsigned len)
{
    return guest_read(ctx, va, buf, len);
}

/* Return addresses as text, "0x.. 0x..", up to the first 0 and as many as fit into buf:
 * how many went in. */
static unsigned frames_text(const uint64_t *frames, unsigned n, char *buf, size_t size)
{
    size_t used = 0;
    unsigned f = 0;
    buf[0] = 0;
    for (; f < n && frames[f]; f++) {
        int w = snprintf(buf + used, size - used, "%s0x%llx", f ? " " : "",
                         (unsigned long long)frames[f]);
        if (w < 0 || (size_t)w >= size - used)
            break;
        used += (size_t)w;
    }
    return f;
}

/* The crash's call stack (symhv/stack.h) as text: up to STACK_FRAMES return addresses
 * from the STACK_SCAN_WORDS words above rsp. */
#define STACK_FRAMES 5
#define STACK_SCAN_WORDS 256
static unsigned stack_trace(const struct guest_as *as, uint64_t rip, uint64_t rsp, char *buf,
                            size_t size)
{
    uint64_t frames[STACK_FRAMES];
    unsigned found = symhv_stack_frames(read_guest, (void *)as, rip, rsp, STACK_SCAN_WORDS,
                                        frames, STACK_FRAMES);
    return frames_text(frames, found, buf, size);
}

/* A program died of a signal: its kernel hands over its registers. The return
 * addresses on its stack tell crashes at one place apart (every abort() is one rip). */
static int64_t hc_user_crash(struct hc_call *c, void *h)
{
    (void)h;
    struct symhv_user_regs regs;
    if (guest_read(&c->as, c->arg[0], &regs, sizeof regs) < 0)
        return -SYMHV_EFAULT;
    int sig = c->arg[1] > 0 && c->arg[1] < 65 ? (int)c->arg[1] : 0;
    char why[448], name[32], stack[STACK_FRAMES * 20], from[STACK_FRAMES * 20 + 16] = "";
    signal_name(sig, name, sizeof name);
    if (stack_trace(&c->as, regs.rip, regs.rsp, stack, sizeof stack) > 0)
        snprintf(from, sizeof from, ", stack %s", stack);
    if (regs.vector < 32)
        snprintf(why, sizeof why, "guest program crashed: %s at rip 0x%llx, address 0x%llx, "
                 "error code 0x%llx (%s)%s", vector_name(regs.vector), (unsigned long long)regs.rip,
                 (unsigned long long)c->arg[2], (unsigned long long)regs.error, name, from);
    else
        snprintf(why, sizeof why, "guest program killed by %s at rip 0x%llx%s", name,
                 (unsigned long long)regs.rip, from);
    hc_end(c, &(struct guest_end){ .kind = GUEST_CRASH, .why = why, .signal = sig,
                                   .program_regs = &regs });
    return 0;
}

/* A program `symhv-agent run` ran in a Linux guest died of a signal: what the agent read
 * of it through ptrace (the call comes from the agent's address space, not the
 * program's). Described as hc_user_crash describes one, so crashes are told apart alike. */
static int64_t hc_program_crash(struct hc_call *c, void *h)
{
    (void)h;
    struct symhv_program_crash pc;
    if (guest_read(&c->as, c->arg[0], &pc, sizeof pc) < 0)
        return -SYMHV_EFAULT;
    char program[sizeof pc.program];
    size_t i = 0;
    for (; i < sizeof program - 1 && pc.program[i]; i++) /* the guest's bytes, printable */
        program[i] = pc.program[i] > ' ' && pc.program[i] < 0x7f ? pc.program[i] : '?';
    program[i] = 0;
    int sig = pc.signal > 0 && pc.signal < 65 ? (int)pc.signal : 0;
    char name[32], stack[SYMHV_CRASH_FRAMES * 20], from[SYMHV_CRASH_FRAMES * 20 + 16] = "";
    signal_name(sig, name, sizeof name);
    if (frames_text(pc.frames, SYMHV_CRASH_FRAMES, stack, sizeof stack) > 0)
        snprintf(from, sizeof from, ", stack %s", stack);
    char why[448];
    snprintf(why, sizeof why, "guest program %s killed by %s at rip 0x%llx, address 0x%llx%s",
             program[0] ? program : "(unnamed)", name, (unsigned long long)pc.regs.rip,
             (unsigned long long)pc.address, from);
    hc_end(c, &(struct guest_end){ .kind = GUEST_CRASH, .why = why, .signal = sig,
                                   .program_regs = &pc.regs, .program_insn = pc.insn,
                                   .program_insn_len = pc.insn_len < sizeof pc.insn
                                                           ? pc.insn_len : sizeof pc.insn });
    return 0;
}

/* A program hit an int3: one of the VMM's breakpoints (vm_set_breakpoint_hook)? */
static int64_t hc_breakpoint(struct hc_call *c, void *h)
{
    (void)h;
    breakpoint_fn bp = atomic_load(&c->v->vm->breakpoint_hook);
    return bp && bp(c->v, c->arg[0], atomic_load(&c->v->vm->breakpoint_opaque)) ? 1 : 0;
}

/* Bulk work for a guest kernel, natively. */
static int64_t hc_kcopy(struct hc_call *c, void *h)
{
    (void)h;
    return guest_move_phys(c->v->vm, c->v, c->arg[0], c->arg[1], c->arg[2]) < 0 ? -SYMHV_EFAULT : 0;
}

static int64_t hc_kzero(struct hc_call *c, void *h)
{
    (void)h;
    return guest_zero_phys(c->v->vm, c->v, c->arg[0], c->arg[1]) < 0 ? -SYMHV_EFAULT : 0;
}

/* The guest kernel's notes, each distinct one once (a guest repeating itself, or one
 * that runs many times from a snapshot, is not a flood). */
static int64_t hc_log(struct hc_call *c, void *opaque)
{
    struct hypercalls *h = opaque;
    char msg[HC_MESSAGE_MAX];
    if (hc_read_string(c, c->arg[0], msg, sizeof msg) < 0)
        return -SYMHV_EFAULT;
    uint64_t hash = 1469598103934665603ull;
    for (const char *p = msg; *p; p++)
        hash = (hash ^ (uint8_t)*p) * 1099511628211ull;
    bool say = false, last = false;
    pthread_mutex_lock(&h->notes_lock);
    unsigned k = 0;
    while (k < h->nnotes && h->notes[k] != hash)
        k++;
    if (k == h->nnotes && h->nnotes < HC_MAX_NOTES) {
        h->notes[h->nnotes++] = hash;
        say = true;
        last = h->nnotes == HC_MAX_NOTES;
    }
    pthread_mutex_unlock(&h->notes_lock);
    if (say)
        hv_error("guest kernel: %s", msg);
    if (last)
        hv_error("guest kernel: (its further notes are not shown)");
    return 0;
}

static int64_t hc_read_console(struct hc_call *c, void *opaque)
{
    struct hypercalls *h = opaque;
    uint64_t buf = c->arg[0], len = c->arg[1] < HC_READ_MAX ? c->arg[1] : HC_READ_MAX;
    if (!len)
        return 0;
    if (guest_for_each_chunk(&c->as, buf, len, true, NULL, NULL) < 0)
        return -SYMHV_EFAULT;
    char *tmp = malloc(len);
    if (!tmp)
        return -SYMHV_EINVAL;
    long n = console_read(h->console, tmp, len, c->v->vm);
    int64_t rc = n < 0 ? -SYMHV_EFAULT : n;
    if (n > 0 && guest_write(&c->as, buf, tmp, (size_t)n) < 0)
        rc = -SYMHV_EFAULT;
    free(tmp);
    return rc;
}

static int64_t hc_cpu_online(struct hc_call *c, void *opaque)
{
    struct hypercalls *h = opaque;
    unsigned i = c->v->index;
    uint64_t bit = 1ull << (i % 64);
    if (__atomic_fetch_or(&h->online_reported[i / 64], bit, __ATOMIC_RELAXED) & bit)
        return 0;
    hv_info("vCPU %u: guest kernel reports vCPU %llu online", c->v->index,
            (unsigned long long)c->arg[0]);
    return 0;
}

static int64_t hc_kill(struct hc_call *c, void *h)
{
    (void)h;
    char msg[HC_MESSAGE_MAX], why[HC_MESSAGE_MAX + 64];
    if (hc_read_string(c, c->arg[1], msg, sizeof msg) < 0)
        return -SYMHV_EFAULT;
    snprintf(why, sizeof why, "guest ended the run with status %llu: %s",
             (unsigned long long)(c->arg[0] & 0xff), msg);
    hc_end(c, &(struct guest_end){ .kind = GUEST_EXIT, .status = (int)(c->arg[0] & 0xff), .why = why });
    return 0;
}

/* Run natively, the condition is concrete (a symbolic one is the interpreter's). */
static int64_t hc_assume(struct hc_call *c, void *h)
{
    (void)h;
    if ((uint32_t)c->arg[0] != 0)
        return 0;
    hc_end(c, &(struct guest_end){ .kind = GUEST_EXIT, .status = 0,
                                   .why = "symhv_assume is false on this input: run ended" });
    return 0;
}

void hypercall_register(struct hypercalls *h, unsigned nr, hc_fn fn, void *opaque)
{
    if (nr < HC_TABLE_SIZE && h->table[nr].fn) { /* one owner per number: a wiring bug */
        hv_error("hypercall %u registered twice", nr);
        abort();
    }
    if (nr < HC_TABLE_SIZE) {
        h->table[nr].fn = fn;
        h->table[nr].opaque = opaque;
    }
}

/* The agent instruction: `in eax, dx` (32 bits) from the port. */
/* One call: the registers say which and with what; the result goes to `data`. */
static void dispatch(struct hypercalls *h, struct vcpu *v, uint8_t *data, unsigned size)
{
    int32_t result = -SYMHV_ENOSYS;
    struct kvm_regs regs;
    struct kvm_sregs sregs;
    if (size != 4 || vcpu_get_regs(v, &regs) < 0 || vcpu_get_sregs(v, &sregs) < 0) {
        memset(data, 0xff, size);
        return;
    }
    bool cpl3 = (sregs.cs.selector & 3) == 3;
    struct hc_call c = {
        .v = v,
        .nr = (uint32_t)(regs.rdi & ~(uint64_t)SYMHV_HC_FROM_USER),
        .arg = { regs.rsi, regs.rcx, regs.r8, regs.r9 },
        .user = cpl3 || (regs.rdi & SYMHV_HC_FROM_USER),
    };
    guest_as_from_sregs(&c.as, v->vm, &sregs, c.user);
    c.as.caller = v;
    /* numbers past 32 bits, and the core's numbers from user callers, do not exist */
    if ((regs.rdi >> 32) == 0 && c.nr < HC_TABLE_SIZE && h->table[c.nr].fn &&
        !(c.user && c.nr < SYMHV_HC_AGENT_FIRST)) {
        int64_t r = h->table[c.nr].fn(&c, h->table[c.nr].opaque);
        result = r < INT32_MIN ? -SYMHV_EINVAL : r > INT32_MAX ? INT32_MAX : (int32_t)r;
    }
    memcpy(data, &result, 4);
}

static void hc_pio(struct vcpu *v, uint16_t port, uint8_t *data, unsigned size, bool in,
                   void *opaque)
{
    (void)port;
    if (in) /* writes to the port mean nothing */
        dispatch(opaque, v, data, size);
}

/* A read of the hypercall page's first word is a call; anything else reads as 0xff. */
static void hc_mmio(struct vcpu *v, uint64_t gpa, uint8_t *data, unsigned len, bool is_write,
                    void *opaque)
{
    if (is_write)
        return;
    if (gpa != SYMHV_HC_MMIO_ADDR) {
        memset(data, 0xff, len);
        return;
    }
    dispatch(opaque, v, data, len);
}

int hypercalls_attach(struct hypercalls *h, struct vm *vm, struct console *console)
{
    memset(h, 0, sizeof *h);
    pthread_mutex_init(&h->notes_lock, NULL);
    h->vm = vm;
    h->console = console;
    hypercall_register(h, SYMHV_HC_NOP, hc_nop, h);
    hypercall_register(h, SYMHV_HC_WRITE, hc_write, h);
    hypercall_register(h, SYMHV_HC_PRINT, hc_print, h);
    hypercall_register(h, SYMHV_HC_EXIT, hc_exit, h);
    hypercall_register(h, SYMHV_HC_PANIC, hc_panic, h);
    hypercall_register(h, SYMHV_HC_USER_FAULT, hc_user_fault, h);
    hypercall_register(h, SYMHV_HC_CPU_ONLINE, hc_cpu_online, h);
    hypercall_register(h, SYMHV_HC_KILL, hc_kill, h);
    hypercall_register(h, SYMHV_HC_ASSUME, hc_assume, h);
    hypercall_register(h, SYMHV_HC_USER_CRASH, hc_user_crash, h);
    hypercall_register(h, SYMHV_HC_PROGRAM_CRASH, hc_program_crash, h);
    hypercall_register(h, SYMHV_HC_BREAKPOINT, hc_breakpoint, h);
    hypercall_register(h, SYMHV_HC_KCOPY, hc_kcopy, h);
    hypercall_register(h, SYMHV_HC_KZERO, hc_kzero, h);
    hypercall_register(h, SYMHV_HC_LOG, hc_log, h);
    hypercall_register(h, SYMHV_HC_READ_CONSOLE, hc_read_console, h);
    if (vm_register_pio(vm, SYMHV_HYPERCALL_PORT, 1, hc_pio, h) < 0)
        return -1;
    /* RAM tops out below it (3 GiB): the page never overlaps RAM */
    return vm_register_mmio(vm, SYMHV_HC_MMIO_ADDR, SYMHV_HC_MMIO_SIZE, hc_mmio, h);
}
