#include "hypercall.h"

#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>

#include "engine.h"
#include "fuzzer.h"
#include "log.h"
#include "vcpu.h"

/* Longest single console write; longer guest writes are split by the guest library. */
#define HC_WRITE_MAX (64 * 1024)
#define HC_MESSAGE_MAX 1024

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

/* Read a NUL-terminated guest string of at most max-1 bytes. */
static int read_guest_string(struct vcpu *v, uint64_t gva, char *buf, size_t max)
{
    size_t n = 0;
    while (n + 1 < max) {
        if (vcpu_read_virt(v, gva + n, &buf[n], 1) < 0)
            return -1;
        if (buf[n] == 0)
            return 0;
        n++;
    }
    buf[n] = 0;
    return 0;
}

static int32_t hc_write(struct vcpu *v, uint64_t buf, uint64_t len)
{
    static const size_t chunk = 4096;
    char tmp[4096];
    if (len > HC_WRITE_MAX)
        return -SYMHV_EINVAL;
    for (uint64_t done = 0; done < len; done += chunk) {
        size_t n = len - done < chunk ? (size_t)(len - done) : chunk;
        if (vcpu_read_virt(v, buf + done, tmp, n) < 0)
            return -SYMHV_EFAULT;
        console_write(&v->vm->console, tmp, n);
    }
    return (int32_t)len;
}

static int32_t hc_make_symbolic(struct vcpu *v, uint64_t buf, uint64_t len, uint64_t name_gva)
{
    char name[SYMHV_INPUT_NAME_MAX + 1];
    if (len == 0 || len > SYMHV_SYMBOLIC_MAX_BYTES || buf + len < buf)
        return -SYMHV_EINVAL;
    if (read_guest_string(v, name_gva, name, sizeof name) < 0)
        return -SYMHV_EFAULT;
    if (name[0] == 0 || strlen(name) == SYMHV_INPUT_NAME_MAX)
        return -SYMHV_EINVAL; /* empty, or longer than the limit */
    /* Check every page first, so a bad range marks nothing. */
    if (vcpu_for_each_chunk(v, buf, len, NULL, NULL) < 0)
        return -SYMHV_EFAULT;
    int id = engine_make_symbolic(v, buf, len, name);
    if (id >= 0)
        hv_info("vCPU %u: input %d '%s': %llu bytes at 0x%llx are symbolic", v->index, id,
                name, (unsigned long long)len, (unsigned long long)buf);
    return id;
}

struct example_copy {
    uint64_t src;
};

static int copy_chunk(struct vcpu *v, uint64_t gpa, uint64_t n, uint64_t off, void *ctx)
{
    struct example_copy *c = ctx;
    uint8_t tmp[4096];
    uint64_t sgpa;
    /* Source bytes one page at a time; read straight from RAM: no trap. */
    for (uint64_t i = 0; i < n;) {
        if (vcpu_translate(v, c->src + off + i, &sgpa) < 0 || !vm_gpa_to_host(v->vm, sgpa, 1))
            return -1;
        uint64_t m = 4096 - (sgpa & 4095);
        if (m > n - i)
            m = n - i;
        if (!vm_gpa_to_host(v->vm, sgpa, m))
            return -1;
        memcpy(tmp + i, v->vm->mem + sgpa, m);
        i += m;
    }
    if (v->vm->fuzzer)
        fuzzer_note_host_write(v->vm);
    memcpy(v->vm->mem + gpa, tmp, n);
    if (!symmem_any(v->vm, gpa, n))
        return 0;
    return engine_concretise(v, gpa, n);
}

int32_t hypercall_handle(struct vcpu *v)
{
    struct kvm_regs regs;
    if (ioctl(v->fd, KVM_GET_REGS, &regs) < 0) {
        hv_error_errno("vCPU %u: KVM_GET_REGS for hypercall failed", v->index);
        vm_request_stop(v->vm, HV_EXIT_SETUP_ERROR);
        return -SYMHV_EINVAL;
    }
    uint64_t nr = regs.rdi, a0 = regs.rsi, a1 = regs.rcx, a2 = regs.r8, a3 = regs.r9;
    char msg[HC_MESSAGE_MAX];

    switch (nr) {
    case SYMHV_HC_NOP:
        return 0;
    case SYMHV_HC_WRITE:
        return hc_write(v, a0, a1);
    case SYMHV_HC_EXIT:
        console_flush(&v->vm->console);
        hv_info("guest exited with status %llu", (unsigned long long)a0);
        vm_request_stop(v->vm, (int)(a0 & 0xff));
        return 0;
    case SYMHV_HC_PANIC:
        if (read_guest_string(v, a0, msg, sizeof msg) < 0)
            snprintf(msg, sizeof msg, "(unreadable message at 0x%llx)",
                     (unsigned long long)a0);
        if (v->vm->fuzzer) { /* an execution that crashed the kernel */
            fuzzer_end_execution(v, HV_EXIT_GUEST_CRASH, "kernel panic");
            return 0;
        }
        console_flush(&v->vm->console);
        hv_error("vCPU %u: guest kernel panic: %s", v->index, msg);
        vm_request_stop(v->vm, HV_EXIT_GUEST_CRASH);
        return 0;
    case SYMHV_HC_USER_FAULT:
        if (v->vm->fuzzer) {
            snprintf(msg, sizeof msg, "%s at rip 0x%llx, address 0x%llx", vector_name(a0),
                     (unsigned long long)a1, (unsigned long long)a2);
            fuzzer_end_execution(v, HV_EXIT_GUEST_CRASH, msg);
            return 0;
        }
        console_flush(&v->vm->console);
        hv_error("vCPU %u: guest program crashed: %s at rip 0x%llx, address 0x%llx, "
                 "error code 0x%llx", v->index, vector_name(a0), (unsigned long long)a1,
                 (unsigned long long)a2, (unsigned long long)a3);
        vm_request_stop(v->vm, HV_EXIT_GUEST_CRASH);
        return 0;
    case SYMHV_HC_MAKE_SYMBOLIC:
        if (v->vm->fuzzer) /* symhv fuzz decides which executions are concolic */
            return -SYMHV_EINVAL;
        return hc_make_symbolic(v, a0, a1, a2);
    case SYMHV_HC_KILL:
        if (read_guest_string(v, a1, msg, sizeof msg) < 0)
            return -SYMHV_EFAULT;
        console_flush(&v->vm->console);
        hv_error("vCPU %u: guest ended the run with status %llu: %s", v->index,
                 (unsigned long long)a0, msg);
        vm_request_stop(v->vm, (int)(a0 & 0xff));
        return 0;
    case SYMHV_HC_REPORT_BUG:
        if (read_guest_string(v, a0, msg, sizeof msg) < 0)
            return -SYMHV_EFAULT;
        console_flush(&v->vm->console);
        hv_error("vCPU %u: bug reported by the guest: %s", v->index, msg);
        engine_report_bug(v, msg);
        return 0;
    case SYMHV_HC_GET_EXAMPLE: {
        struct example_copy c = { a1 };
        if (a2 == 0 || a2 > SYMHV_SYMBOLIC_MAX_BYTES || a0 + a2 < a0 || a1 + a2 < a1)
            return -SYMHV_EINVAL;
        if (vcpu_for_each_chunk(v, a1, a2, NULL, NULL) < 0 || vcpu_for_each_chunk(v, a0, a2, NULL, NULL) < 0)
            return -SYMHV_EFAULT;
        return vcpu_for_each_chunk(v, a0, a2, copy_chunk, &c) < 0 ? -SYMHV_EFAULT : 0;
    }
    case SYMHV_HC_PRINT_EXPR: /* natively: the value is concrete (see agent.h) */
        if (read_guest_string(v, a0, msg, SYMHV_INPUT_NAME_MAX + 1) < 0)
            return -SYMHV_EFAULT;
        engine_print_expr(v, msg, a1);
        return 0;
    case SYMHV_HC_ASSUME:
        if ((uint32_t)a0 != 0)
            return 0;
        console_flush(&v->vm->console);
        hv_error("vCPU %u: symhv_assume is false on this input: run ended", v->index);
        vm_request_stop(v->vm, 0);
        return 0;
    case SYMHV_HC_FUZZ_START:
        if (v->vm->fuzzer)
            return fuzzer_hc_start(v, a0, a1, a2, a3);
        return engine_fuzz_input(v, a0, a1); /* one execution: symhv run / replay */
    case SYMHV_HC_FUZZ_END:
        if (v->vm->fuzzer) {
            fuzzer_end_execution(v, (int)(uint32_t)a0, NULL);
            return 0;
        }
        console_flush(&v->vm->console);
        if ((uint32_t)a0)
            hv_error("vCPU %u: the fuzz target ended its execution with status %u", v->index,
                     (unsigned)(uint32_t)a0);
        else
            hv_info("vCPU %u: the fuzz target finished its execution", v->index);
        vm_request_stop(v->vm, (uint32_t)a0 ? HV_EXIT_GUEST_CRASH : 0);
        return 0;
    case SYMHV_HC_CPU_ONLINE:
        hv_info("vCPU %u: guest kernel reports vCPU %llu online", v->index,
                (unsigned long long)a0);
        return 0;
    default:
        return -SYMHV_ENOSYS;
    }
}
