/* Local APIC in x2APIC mode: everything is an MSR, no MMIO page to map. */
#include "kernel.h"
#include "apic.h"

#define MSR_APIC_BASE 0x1b
#define APIC_BASE_ENABLE (1ull << 11)
#define APIC_BASE_X2APIC (1ull << 10)
#define X2APIC_TPR 0x808
#define X2APIC_EOI 0x80b
#define X2APIC_SVR 0x80f
#define X2APIC_ICR 0x830
#define X2APIC_LVT_TIMER 0x832
#define X2APIC_TIMER_INIT 0x838
#define X2APIC_TIMER_DIV 0x83e
#define LVT_PERIODIC (1u << 17)
#define ICR_ASSERT (1u << 14)

void apic_init_this_cpu(void)
{
    uint32_t eax = 1, ebx, ecx, edx;
    __asm__ volatile("cpuid" : "+a"(eax), "=b"(ebx), "=c"(ecx), "=d"(edx));
    if (!(ecx & (1u << 21)))
        panic("this vCPU has no x2APIC (CPUID.1:ECX[21])");
    wrmsr(MSR_APIC_BASE, rdmsr(MSR_APIC_BASE) | APIC_BASE_ENABLE | APIC_BASE_X2APIC);
    wrmsr(X2APIC_TPR, 0);
    wrmsr(X2APIC_SVR, 0x100 | VEC_SPURIOUS);
    wrmsr(X2APIC_TIMER_DIV, 0xb); /* divide by 1 */
    wrmsr(X2APIC_LVT_TIMER, LVT_PERIODIC | VEC_TIMER);
    wrmsr(X2APIC_TIMER_INIT, kernel.boot->apic_timer_hz / TIMER_HZ);
}

void apic_eoi(void) { wrmsr(X2APIC_EOI, 0); }

void apic_send_ipi(unsigned cpu, unsigned vector)
{
    wrmsr(X2APIC_ICR, ((uint64_t)cpu << 32) | ICR_ASSERT | vector);
}
