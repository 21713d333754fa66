#include "snapshot.h"

#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

#include "log.h"
#include "vcpu.h"
#include "vm.h"

struct cpu_state {
    struct kvm_regs regs;
    struct kvm_sregs sregs;
    struct kvm_fpu fpu;
    struct kvm_xsave *xsave;   /* when KVM has it: AVX state too */
    struct kvm_xcrs xcrs;
    struct kvm_lapic_state lapic;
    struct kvm_mp_state mp;
    struct kvm_vcpu_events events;
};

struct snapshot {
    unsigned ncpus;
    bool xsave;
    struct cpu_state cpus[SYMHV_MAX_VCPUS];
    struct kvm_irqchip chips[3];
    uint8_t *ram;
    uint64_t ram_bytes;
};

static const unsigned chip_ids[3] = { KVM_IRQCHIP_PIC_MASTER, KVM_IRQCHIP_PIC_SLAVE,
                                      KVM_IRQCHIP_IOAPIC };

static int save_cpu(struct vcpu *v, struct cpu_state *s, bool xsave)
{
    /* through the sync area: it may hold registers KVM has yet to load */
    if (vcpu_get_regs(v, &s->regs) < 0 || vcpu_get_sregs(v, &s->sregs) < 0 ||
        vcpu_ioctl(v, KVM_GET_FPU, &s->fpu, "KVM_GET_FPU") < 0 ||
        vcpu_ioctl(v, KVM_GET_LAPIC, &s->lapic, "KVM_GET_LAPIC") < 0 ||
        vcpu_ioctl(v, KVM_GET_MP_STATE, &s->mp, "KVM_GET_MP_STATE") < 0 ||
        vcpu_ioctl(v, KVM_GET_VCPU_EVENTS, &s->events, "KVM_GET_VCPU_EVENTS") < 0)
        return -1;
    if (xsave) {
        s->xsave = calloc(1, sizeof *s->xsave);
        if (!s->xsave || vcpu_ioctl(v, KVM_GET_XSAVE, s->xsave, "KVM_GET_XSAVE") < 0 ||
            vcpu_ioctl(v, KVM_GET_XCRS, &s->xcrs, "KVM_GET_XCRS") < 0)
            return -1;
    }
    return 0;
}

static int load_cpu(struct vcpu *v, struct cpu_state *s)
{
    /* registers and sregs go through kvm_run when they can (vcpu_load_regs) */
    if ((s->xsave ? vcpu_ioctl(v, KVM_SET_XCRS, &s->xcrs, "KVM_SET_XCRS") < 0 ||
                        vcpu_ioctl(v, KVM_SET_XSAVE, s->xsave, "KVM_SET_XSAVE") < 0
                  : vcpu_ioctl(v, KVM_SET_FPU, &s->fpu, "KVM_SET_FPU") < 0) ||
        vcpu_ioctl(v, KVM_SET_LAPIC, &s->lapic, "KVM_SET_LAPIC") < 0 ||
        vcpu_ioctl(v, KVM_SET_MP_STATE, &s->mp, "KVM_SET_MP_STATE") < 0 ||
        vcpu_ioctl(v, KVM_SET_VCPU_EVENTS, &s->events, "KVM_SET_VCPU_EVENTS") < 0 ||
        vcpu_load_regs(v, &s->regs, &s->sregs) < 0)
        return -1;
    vcpu_state_replaced(v);
    return 0;
}

struct snapshot *snapshot_take(struct vm *vm)
{
    struct snapshot *s = calloc(1, sizeof *s);
    if (!s) {
        hv_error("out of memory for a snapshot");
        return NULL;
    }
    s->ncpus = vm->ncpus;
    s->xsave = vm->has_xsave;
    s->ram_bytes = vm->mem.bytes;
    s->ram = malloc(vm->mem.bytes);
    if (!s->ram) {
        hv_error("cannot allocate %llu MiB for the snapshot", (unsigned long long)(vm->mem.bytes >> 20));
        goto fail;
    }
    for (unsigned i = 0; i < vm->ncpus; i++)
        if (save_cpu(&vm->vcpus[i], &s->cpus[i], s->xsave) < 0)
            goto fail;
    for (int i = 0; i < 3; i++) {
        s->chips[i].chip_id = chip_ids[i];
        if (ioctl(vm->vm_fd, KVM_GET_IRQCHIP, &s->chips[i]) < 0) {
            hv_error_errno("KVM_GET_IRQCHIP (chip %u) failed", chip_ids[i]);
            goto fail;
        }
    }
    if (memory_dirty_start(&vm->mem) < 0) {
        hv_error("KVM cannot log dirty pages here: no snapshot");
        goto fail;
    }
    /* after switching the log on: nothing is missed between the copy and the log */
    memcpy(s->ram, vm->mem.ram, vm->mem.bytes);
    if (memory_dirty_reset(&vm->mem) < 0)
        goto fail;
    return s;
fail:
    snapshot_free(s);
    return NULL;
}

struct restore_ctx {
    struct snapshot *s;
    struct vm *vm;
    uint64_t pages;
};

static void restore_page(void *ctx, uint64_t gpa)
{
    struct restore_ctx *r = ctx;
    if (gpa + SYMHV_PAGE_SIZE <= r->s->ram_bytes) {
        memcpy(r->vm->mem.ram + gpa, r->s->ram + gpa, SYMHV_PAGE_SIZE);
        r->pages++;
    }
}

int snapshot_restore(struct snapshot *s, struct vm *vm, uint64_t *pages)
{
    struct restore_ctx r = { s, vm, 0 };
    int rc = memory_dirty_collect(&vm->mem, restore_page, &r);
    if (rc < 0) { /* a dirty log was lost: everything back */
        memcpy(vm->mem.ram, s->ram, s->ram_bytes);
        r.pages = s->ram_bytes / SYMHV_PAGE_SIZE;
    }
    *pages = r.pages;
    for (int i = 0; i < 3; i++)
        if (ioctl(vm->vm_fd, KVM_SET_IRQCHIP, &s->chips[i]) < 0) {
            hv_error_errno("KVM_SET_IRQCHIP (chip %u) failed", s->chips[i].chip_id);
            return -1;
        }
    for (unsigned i = 0; i < s->ncpus; i++)
        if (load_cpu(&vm->vcpus[i], &s->cpus[i]) < 0)
            return -1;
    return 0;
}

void snapshot_free(struct snapshot *s)
{
    if (!s)
        return;
    for (unsigned i = 0; i < s->ncpus; i++)
        free(s->cpus[i].xsave);
    free(s->ram);
    free(s);
}

struct kvm_regs *snapshot_regs(struct snapshot *s, unsigned vcpu) { return &s->cpus[vcpu].regs; }
const struct kvm_sregs *snapshot_sregs(const struct snapshot *s, unsigned vcpu)
{
    return &s->cpus[vcpu].sregs;
}
