#include "hypercall.h"

#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>

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
        console_flush(&v->vm->console);
        hv_error("vCPU %u: guest kernel panic: %s", v->index, msg);
        vm_request_stop(v->vm, HV_EXIT_GUEST_CRASH);
        return 0;
    case SYMHV_HC_USER_FAULT:
        console_flush(&v->vm->console);
        hv_error("vCPU %u: guest program crashed: %s at rip 0x%llx, address 0x%llx, "
                 "error code 0x%llx", v->index, vector_name(a0), (unsigned long long)a1,
                 (unsigned long long)a2, (unsigned long long)a3);
        vm_request_stop(v->vm, HV_EXIT_GUEST_CRASH);
        return 0;
    case SYMHV_HC_CPU_ONLINE:
        hv_info("vCPU %u: guest kernel reports vCPU %llu online", v->index,
                (unsigned long long)a0);
        return 0;
    default:
        return -SYMHV_ENOSYS;
    }
}
