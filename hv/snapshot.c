#include "snapshot.h"

#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

#include "log.h"
#include "vcpu.h"
#include "vm.h"

/* The MSRs a guest kernel sets that the other state does not hold (EFER, the APIC base,
 * FS and GS bases are in sregs): the system-call entry, the swapped GS base, PAT, TSC_AUX,
 * KVM's paravirtual clock and interrupts (where the guest enabled them), the LAPIC's TSC
 * deadline (set after the LAPIC: KVM takes it only in that timer mode; a deadline that
 * has passed fires at once). Not the TSC: guest time goes on across restores, as the
 * guest clock's accounting (guest_clock.c) expects. */
#define MSR_IA32_TSC_DEADLINE 0x6e0u
static const uint32_t msrs_wanted[] = {
    0x174, 0x175, 0x176,                /* SYSENTER CS/ESP/EIP */
    0x1a0,                              /* MISC_ENABLE */
    0x277,                              /* PAT */
    0xc0000081, 0xc0000082, 0xc0000083, 0xc0000084, /* STAR, LSTAR, CSTAR, SFMASK */
    0xc0000102, 0xc0000103,             /* KERNEL_GS_BASE, TSC_AUX */
    0x11, 0x12,                         /* KVM's old wall and system clocks */
    0x4b564d00, 0x4b564d01, 0x4b564d02, 0x4b564d03, 0x4b564d04, /* KVM's new ones, async
                                           PF, steal time, PV EOI */
    MSR_IA32_TSC_DEADLINE,              /* last: see above */
};
#define MAX_MSRS (sizeof msrs_wanted / sizeof msrs_wanted[0])

struct msr_list {
    struct kvm_msrs hdr;
    struct kvm_msr_entry e[MAX_MSRS];
};

struct cpu_state {
    struct msr_list msrs;
    unsigned nmsrs_before_lapic; /* msrs.e[0..n): before KVM_SET_LAPIC; the rest after */
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
    uint32_t msr_index[MAX_MSRS]; /* msrs_wanted that this KVM has, in that order */
    unsigned nmsrs;
    void *devices[VM_MAX_STATE_HOOKS]; /* vm->state_hooks' saved states */
    struct cpu_state cpus[SYMHV_MAX_VCPUS];
    struct kvm_irqchip chips[3];
    uint8_t *ram;
    uint64_t ram_bytes;
};

static const unsigned chip_ids[3] = { KVM_IRQCHIP_PIC_MASTER, KVM_IRQCHIP_PIC_SLAVE,
                                      KVM_IRQCHIP_IOAPIC };

/* Which of msrs_wanted this KVM saves (KVM_GET_MSR_INDEX_LIST): into s->msr_index. */
static int pick_msrs(struct vm *vm, struct snapshot *s)
{
    struct { struct kvm_msr_list hdr; uint32_t index[1024]; } list = { .hdr.nmsrs = 1024 };
    if (ioctl(vm->kvm_fd, KVM_GET_MSR_INDEX_LIST, &list) < 0) {
        hv_error_errno("KVM_GET_MSR_INDEX_LIST failed");
        return -1;
    }
    s->nmsrs = 0;
    for (unsigned w = 0; w < MAX_MSRS; w++)
        for (unsigned i = 0; i < list.hdr.nmsrs && i < 1024; i++)
            if (list.index[i] == msrs_wanted[w]) {
                s->msr_index[s->nmsrs++] = msrs_wanted[w];
                break;
            }
    return 0;
}

static int save_msrs(struct vcpu *v, const struct snapshot *snap, struct cpu_state *s)
{
    s->msrs.hdr.nmsrs = snap->nmsrs;
    s->nmsrs_before_lapic = 0;
    for (unsigned i = 0; i < snap->nmsrs; i++) {
        s->msrs.e[i] = (struct kvm_msr_entry){ .index = snap->msr_index[i] };
        if (snap->msr_index[i] != MSR_IA32_TSC_DEADLINE)
            s->nmsrs_before_lapic = i + 1;
    }
    int n = ioctl(v->fd, KVM_GET_MSRS, &s->msrs);
    if (n < 0 || (unsigned)n != snap->nmsrs) {
        hv_error_errno("vCPU %u: KVM_GET_MSRS read %d of %u MSRs (stopped at 0x%x)", v->index,
                       n, snap->nmsrs, n >= 0 && (unsigned)n < snap->nmsrs ? snap->msr_index[n] : 0);
        return -1;
    }
    return 0;
}

/* msrs.e[from, to) back into the vCPU. */
static int load_msrs(struct vcpu *v, const struct cpu_state *s, unsigned from, unsigned to)
{
    if (from >= to)
        return 0;
    struct msr_list part = { .hdr.nmsrs = to - from };
    memcpy(part.e, s->msrs.e + from, (to - from) * sizeof part.e[0]);
    int n = ioctl(v->fd, KVM_SET_MSRS, &part);
    if (n < 0 || (unsigned)n != to - from) {
        hv_error_errno("vCPU %u: KVM_SET_MSRS wrote %d of %u MSRs (stopped at 0x%x)", v->index, n,
                       to - from, n >= 0 && (unsigned)n < to - from ? part.e[n].index : 0);
        return -1;
    }
    return 0;
}

static int save_cpu(struct vcpu *v, const struct snapshot *snap, struct cpu_state *s, bool xsave)
{
    if (save_msrs(v, snap, s) < 0)
        return -1;
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
        load_msrs(v, s, 0, s->nmsrs_before_lapic) < 0 ||
        vcpu_ioctl(v, KVM_SET_LAPIC, &s->lapic, "KVM_SET_LAPIC") < 0 ||
        load_msrs(v, s, s->nmsrs_before_lapic, s->msrs.hdr.nmsrs) < 0 ||
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
    if (pick_msrs(vm, s) < 0)
        goto fail;
    for (unsigned i = 0; i < vm->ncpus; i++)
        if (save_cpu(&vm->vcpus[i], s, &s->cpus[i], s->xsave) < 0)
            goto fail;
    for (unsigned i = 0; i < vm->nstate_hooks; i++) {
        const struct vm_state_hook *h = &vm->state_hooks[i];
        s->devices[i] = malloc(h->size);
        if (!s->devices[i] || h->save(h->opaque, s->devices[i]) < 0) {
            hv_error("the snapshot could not hold the state of %s", h->name);
            goto fail;
        }
    }
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
    for (unsigned i = 0; i < vm->nstate_hooks; i++) {
        const struct vm_state_hook *h = &vm->state_hooks[i];
        if (h->load(h->opaque, s->devices[i]) < 0) {
            hv_error("the state of %s could not be restored", h->name);
            return -1;
        }
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
    for (unsigned i = 0; i < VM_MAX_STATE_HOOKS; i++)
        free(s->devices[i]);
    free(s->ram);
    free(s);
}

void snapshot_poke(struct snapshot *s, uint64_t gpa, const void *src, size_t len)
{
    if (gpa < s->ram_bytes && len <= s->ram_bytes - gpa)
        memcpy(s->ram + gpa, src, len);
}

struct kvm_regs *snapshot_regs(struct snapshot *s, unsigned vcpu) { return &s->cpus[vcpu].regs; }
const struct kvm_sregs *snapshot_sregs(const struct snapshot *s, unsigned vcpu)
{
    return &s->cpus[vcpu].sregs;
}
