#include "guest_clock.h"

#include <math.h>
#include <string.h>
#include <sys/ioctl.h>
#include <x86intrin.h>

#include "log.h"
#include "vcpu.h"

int guest_clock_init(struct guest_clock *c, struct vm *vm, double slow_down, bool pvh)
{
    memset(c, 0, sizeof *c);
    c->vm = vm;
    c->slow_down = slow_down;
    c->pv_possible = !pvh;
    pthread_mutex_init(&c->lock, NULL);
    if (!slow_down || !pvh)
        return 0;
    struct kvm_device_attr attr = { .group = KVM_VCPU_TSC_CTRL, .attr = KVM_VCPU_TSC_OFFSET };
    if (ioctl(vm->vcpus[0].fd, KVM_HAS_DEVICE_ATTR, &attr) < 0) {
        hv_error_errno("--clock-slow-down needs KVM's per-vCPU TSC offset "
                       "(KVM_VCPU_TSC_OFFSET, Linux 5.16+), which this KVM lacks");
        return -1;
    }
    return 0;
}

/* The guest's symhv_pv_clock record, if its kernel uses it (symhv's does). */
static struct symhv_pv_clock *pv_clock(struct guest_clock *c)
{
    struct symhv_boot_info *info = vm_gpa_to_host(c->vm, SYMHV_BOOT_INFO_ADDR, sizeof *info);
    if (!c->pv_possible || !info || !__atomic_load_n(&info->clock.enabled, __ATOMIC_ACQUIRE))
        return NULL;
    return &info->clock;
}

static void note_clock_write(struct guest_clock *c)
{
    memory_note_write(&c->vm->mem, SYMHV_BOOT_INFO_ADDR, sizeof(struct symhv_boot_info));
}

uint64_t guest_clock_enter(struct guest_clock *c)
{
    uint64_t now = __rdtsc();
    struct symhv_pv_clock *pv = c->slow_down ? pv_clock(c) : NULL;
    if (!pv)
        return now;
    pthread_mutex_lock(&c->lock);
    if (c->active++ == 0) {
        __atomic_store_n(&pv->seq, pv->seq + 1, __ATOMIC_RELEASE);
        pv->base_tsc = now;
        pv->divisor = isinf(c->slow_down) ? 0 : (uint32_t)c->slow_down;
        pv->active = 1;
        __atomic_store_n(&pv->seq, pv->seq + 1, __ATOMIC_RELEASE);
        note_clock_write(c);
    }
    pthread_mutex_unlock(&c->lock);
    return now;
}

void guest_clock_leave(struct guest_clock *c, struct vcpu *v, uint64_t entered_tsc)
{
    if (!c->slow_down)
        return;
    struct symhv_pv_clock *pv = pv_clock(c);
    if (pv) {
        pthread_mutex_lock(&c->lock);
        if (c->active > 0 && --c->active == 0) {
            uint64_t elapsed = __rdtsc() - pv->base_tsc;
            uint64_t hide = elapsed - (pv->divisor ? elapsed / pv->divisor : 0);
            __atomic_store_n(&pv->seq, pv->seq + 1, __ATOMIC_RELEASE);
            pv->hidden += hide;
            pv->active = 0;
            __atomic_store_n(&pv->seq, pv->seq + 1, __ATOMIC_RELEASE);
            note_clock_write(c);
            atomic_fetch_add(&c->hidden_cycles, hide);
        }
        pthread_mutex_unlock(&c->lock);
        return;
    }
    /* other guests: take the interpreted time (or part of it) out of the TSC offset */
    uint64_t host_cycles = __rdtsc() - entered_tsc;
    uint64_t hide = (uint64_t)((double)host_cycles * (1.0 - 1.0 / c->slow_down));
    uint64_t offset;
    struct kvm_device_attr attr = { .group = KVM_VCPU_TSC_CTRL, .attr = KVM_VCPU_TSC_OFFSET,
                                    .addr = (uint64_t)(uintptr_t)&offset };
    if (ioctl(v->fd, KVM_GET_DEVICE_ATTR, &attr) < 0) {
        hv_error_errno("vCPU %u: reading the TSC offset failed", v->index);
        return;
    }
    offset -= hide;
    if (ioctl(v->fd, KVM_SET_DEVICE_ATTR, &attr) < 0) {
        hv_error_errno("vCPU %u: setting the TSC offset failed", v->index);
        return;
    }
    atomic_fetch_add(&c->hidden_cycles, hide);
}
