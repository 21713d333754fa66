/* The PC platform pieces a Linux guest looks for and symhv's own kernel does without:
 * an Intel MP table (MP spec 1.4) so it finds every vCPU and the IOAPIC, KVM's PIT
 * (KVM_CREATE_PIT2) for its timer check, a read-only CMOS clock at ports 0x70/0x71, and
 * the reset ports (i8042 0x64 command 0xfe, 0xcf9) that end the run as a reset does.
 * The table and clock encodings are pure functions, unit-tested. */
#ifndef HV_PC_H
#define HV_PC_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

struct vm;

/* Where the MP table goes: the BIOS area, which the boot memory map reserves. */
#define PC_MPTABLE_ADDR 0xf0000ull
#define PC_IOAPIC_ADDR 0xfec00000ull
#define PC_LAPIC_ADDR 0xfee00000ull

/* Write the MP floating pointer and configuration table for ncpus CPUs (APIC ids
 * 0..ncpus-1, the first the boot CPU), an ISA bus, the IOAPIC (id ncpus) with ISA
 * IRQ n on pin n (KVM's default routing), LINT0 ExtINT and LINT1 NMI, into buf to be
 * placed at guest-physical `at`. Returns the bytes written, or 0 if cap is too small. */
size_t pc_mptable(uint8_t *buf, size_t cap, uint64_t at, unsigned ncpus);

/* The CMOS register `index` (0..0x7f) for wall-clock time `now`: BCD, 24-hour, the
 * update never in progress, the battery good. */
uint8_t pc_cmos_read(unsigned index, time_t now);

struct pc {
    /* the CMOS index register, the clock's only state: a guest writes it before each
     * read, and vCPUs racing on it race on a real PC too (atomic, no lock) */
    _Atomic uint8_t cmos_index;
    struct vm *vm; /* set by pc_attach */
};

/* Create the PIT, claim the clock and reset ports, write the MP table. 0, or -1 after
 * one error line. Before the vCPUs start; pc outlives them. */
__attribute__((warn_unused_result)) int pc_attach(struct pc *pc, struct vm *vm);

#endif
