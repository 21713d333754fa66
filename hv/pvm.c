#include "pvm.h"

#include <stdio.h>
#include <string.h>

#include "guest_mem.h"
#include "log.h"
#include "vcpu.h"

enum { OP_INT3 = 0xcc, OP_FWAIT = 0x9b, VECTOR_BP = 3 };

int pvm_fix_emulation(struct vcpu *v, void *opaque)
{
    (void)opaque;
    struct kvm_regs regs;
    struct kvm_sregs sregs;
    if (vcpu_get_regs(v, &regs) < 0 || vcpu_get_sregs(v, &sregs) < 0 || (sregs.cs.selector & 3))
        return 0; /* only ring 0 is emulated */
    struct guest_as as;
    guest_as_from_sregs(&as, v->vm, &sregs, false);
    uint8_t op;
    if (guest_read(&as, sregs.cs.base + regs.rip, &op, 1) < 0 || (op != OP_INT3 && op != OP_FWAIT))
        return 0;
    regs.rip += 1; /* int3 is a trap: #BP is delivered with RIP after it */
    if (vcpu_set_regs(v, &regs) < 0)
        return 0;
    if (op == OP_INT3 && vcpu_inject_exception(v, VECTOR_BP, false, 0) < 0)
        return 0;
    return 1;
}

int pvm_linux_cmdline(char *cmdline, size_t size, unsigned tsc_khz)
{
    /* in front: whatever follows a "--" in the user's part goes to init */
    char user[2048];
    snprintf(user, sizeof user, "%s", cmdline);
    int n = snprintf(cmdline, size,
                     "noxsave nofsgsbase tsc_early_khz=%u tsc=reliable clearcpuid=popcnt,cx16,smap "
                     "rcupdate.rcu_cpu_stall_suppress=1%s%s",
                     tsc_khz, user[0] ? " " : "", user);
    if (n < 0 || (size_t)n >= size || strlen(user) + 1 >= sizeof user) {
        snprintf(cmdline, size, "%s", user);
        return -1;
    }
    return 0;
}
