/* apic.c: the x2APIC (timer, EOI, IPIs) */
#ifndef KERNEL_APIC_H
#define KERNEL_APIC_H

#include "kernel.h"
#include "base.h"

void apic_init_this_cpu(void);
void apic_eoi(void);
void apic_send_ipi(unsigned cpu, unsigned vector);

#endif
