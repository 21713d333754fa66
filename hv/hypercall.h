/* The hypercall port (SYMHV_HYPERCALL_PORT, see include/symhv/abi.h). */
#ifndef HV_HYPERCALL_H
#define HV_HYPERCALL_H

#include <stdint.h>

#include "vm.h"

/* Handle the hypercall the vCPU is stopped in; returns the value for its eax. */
int32_t hypercall_handle(struct vcpu *v);

#endif
