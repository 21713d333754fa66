#include "pc.h"

#include <errno.h>
#include <string.h>
#include <sys/ioctl.h>

#include "log.h"
#include "vm.h"

/* ---- the MP table (Intel MultiProcessor Specification 1.4, chapter 4) --------------- */

enum { MP_PROCESSOR = 0, MP_BUS = 1, MP_IOAPIC = 2, MP_IOINT = 3, MP_LOCALINT = 4 };
enum { MP_INT = 0, MP_NMI = 1, MP_EXTINT = 3 };
#define MP_FLOAT_BYTES 16
#define MP_HEADER_BYTES 44
#define MP_ISA_IRQS 16
#define MP_LAPIC_VERSION 0x14  /* what KVM's local APIC reports */
#define MP_IOAPIC_VERSION 0x11 /* KVM's IOAPIC: 24 pins */

static uint8_t checksum(const uint8_t *p, size_t n)
{
    uint8_t sum = 0;
    for (size_t i = 0; i < n; i++)
        sum = (uint8_t)(sum + p[i]);
    return (uint8_t)(0x100 - sum);
}

static void put16(uint8_t *p, uint16_t v) { memcpy(p, &v, 2); }
static void put32(uint8_t *p, uint32_t v) { memcpy(p, &v, 4); }

static uint8_t *interrupt_entry(uint8_t *e, uint8_t type, uint8_t kind, uint8_t bus_irq,
                                uint8_t dest, uint8_t pin)
{
    e[0] = type;
    e[1] = kind;
    put16(e + 2, 0); /* polarity and trigger: as the bus defines them (ISA: high, edge) */
    e[4] = 0;        /* the ISA bus */
    e[5] = bus_irq;
    e[6] = dest;
    e[7] = pin;
    return e + 8;
}

size_t pc_mptable(uint8_t *buf, size_t cap, uint64_t at, unsigned ncpus)
{
    size_t isa_ints = MP_ISA_IRQS - 1; /* every ISA IRQ but 2, the PIC cascade */
    size_t size = MP_FLOAT_BYTES + MP_HEADER_BYTES + 20 * (size_t)ncpus + 8 + 8 +
                  8 * isa_ints + 2 * 8;
    if (ncpus == 0 || ncpus > 254 || size > cap)
        return 0;
    memset(buf, 0, size);
    uint8_t ioapic_id = (uint8_t)ncpus; /* after the CPUs' APIC ids */

    uint8_t *fp = buf, *hdr = buf + MP_FLOAT_BYTES, *e = hdr + MP_HEADER_BYTES;
    for (unsigned i = 0; i < ncpus; i++) {
        e[0] = MP_PROCESSOR;
        e[1] = (uint8_t)i;                    /* local APIC id (KVM: the vCPU index) */
        e[2] = MP_LAPIC_VERSION;
        e[3] = 0x01 | (i == 0 ? 0x02 : 0);    /* enabled; the first is the boot CPU */
        put32(e + 4, 0x600);                  /* signature: family 6 (informative) */
        put32(e + 8, 0x201);                  /* features: FPU, APIC */
        e += 20;
    }
    e[0] = MP_BUS;
    e[1] = 0;
    memcpy(e + 2, "ISA   ", 6);
    e += 8;
    e[0] = MP_IOAPIC;
    e[1] = ioapic_id;
    e[2] = MP_IOAPIC_VERSION;
    e[3] = 0x01; /* enabled */
    put32(e + 4, (uint32_t)PC_IOAPIC_ADDR);
    e += 8;
    for (uint8_t irq = 0; irq < MP_ISA_IRQS; irq++)
        if (irq != 2) /* KVM routes GSI n to IOAPIC pin n */
            e = interrupt_entry(e, MP_IOINT, MP_INT, irq, ioapic_id, irq);
    e = interrupt_entry(e, MP_LOCALINT, MP_EXTINT, 0, 0xff, 0); /* LINT0 on every CPU */
    e = interrupt_entry(e, MP_LOCALINT, MP_NMI, 0, 0xff, 1);    /* LINT1 */

    size_t table = (size_t)(e - hdr);
    memcpy(hdr, "PCMP", 4);
    put16(hdr + 4, (uint16_t)table);
    hdr[6] = 4; /* spec revision 1.4 */
    memcpy(hdr + 8, "SYMHV   ", 8);
    memcpy(hdr + 16, "SYMHV-VM    ", 12);
    put16(hdr + 34, (uint16_t)(ncpus + 2 + isa_ints + 2));
    put32(hdr + 36, (uint32_t)PC_LAPIC_ADDR);
    hdr[7] = checksum(hdr, table);

    memcpy(fp, "_MP_", 4);
    put32(fp + 4, (uint32_t)(at + MP_FLOAT_BYTES));
    fp[8] = 1; /* length in 16-byte units */
    fp[9] = 4;
    fp[10] = checksum(fp, MP_FLOAT_BYTES);
    return size;
}

/* ---- the CMOS clock ----------------------------------------------------------------- */

enum { CMOS_SECONDS = 0x00, CMOS_MINUTES = 0x02, CMOS_HOURS = 0x04, CMOS_WEEKDAY = 0x06,
       CMOS_DAY = 0x07, CMOS_MONTH = 0x08, CMOS_YEAR = 0x09, CMOS_STATUS_A = 0x0a,
       CMOS_STATUS_B = 0x0b, CMOS_STATUS_C = 0x0c, CMOS_STATUS_D = 0x0d, CMOS_CENTURY = 0x32 };

static uint8_t bcd(int v) { return (uint8_t)(((v / 10) % 10) << 4 | (v % 10)); }

uint8_t pc_cmos_read(unsigned index, time_t now)
{
    struct tm t;
    gmtime_r(&now, &t);
    switch (index & 0x7f) {
    case CMOS_SECONDS: return bcd(t.tm_sec);
    case CMOS_MINUTES: return bcd(t.tm_min);
    case CMOS_HOURS: return bcd(t.tm_hour);
    case CMOS_WEEKDAY: return bcd(t.tm_wday + 1);
    case CMOS_DAY: return bcd(t.tm_mday);
    case CMOS_MONTH: return bcd(t.tm_mon + 1);
    case CMOS_YEAR: return bcd(t.tm_year % 100);
    case CMOS_CENTURY: return bcd((t.tm_year + 1900) / 100);
    case CMOS_STATUS_A: return 0x26;  /* 32.768 kHz base, 1024 Hz rate, no update now */
    case CMOS_STATUS_B: return 0x02;  /* 24-hour, BCD, no interrupts */
    case CMOS_STATUS_C: return 0x00;  /* no interrupt flags */
    case CMOS_STATUS_D: return 0x80;  /* battery good */
    default: return 0;
    }
}

/* ---- the devices -------------------------------------------------------------------- */

#define CMOS_PORT 0x70
#define I8042_PORT 0x60    /* data 0x60, status/command 0x64 */
#define RESET_CONTROL_PORT 0xcf9
enum { I8042_CMD_RESET = 0xfe, RESET_CONTROL_RESET = 0x04 };

static void cmos_pio(struct vcpu *v, uint16_t port, uint8_t *data, unsigned size, bool in,
                     void *opaque)
{
    (void)v;
    struct pc *pc = opaque;
    if (port == CMOS_PORT) {
        if (in)
            memset(data, 0, size);
        else /* bit 7 masks NMIs: nothing to do */
            atomic_store(&pc->cmos_index, (uint8_t)(data[0] & 0x7f));
        return;
    }
    if (in) { /* writes to the clock are ignored: it shows the host's time */
        memset(data, 0, size);
        data[0] = pc_cmos_read(atomic_load(&pc->cmos_index), time(NULL));
    }
}

static void guest_reset(struct vcpu *v)
{
    struct guest_end e = { .kind = GUEST_EXIT, .status = 0,
                           .why = "guest requested a reset (keyboard controller or port 0xcf9)" };
    vm_guest_ended(v, &e);
}

static void i8042_pio(struct vcpu *v, uint16_t port, uint8_t *data, unsigned size, bool in,
                      void *opaque)
{
    (void)opaque;
    if (in) { /* status: no data, input buffer empty (ready for a command) */
        memset(data, 0, size);
        return;
    }
    if (port == I8042_PORT + 4 && data[0] == I8042_CMD_RESET)
        guest_reset(v);
}

static void reset_control_pio(struct vcpu *v, uint16_t port, uint8_t *data, unsigned size,
                              bool in, void *opaque)
{
    (void)port, (void)opaque;
    if (in)
        memset(data, 0, size);
    else if (data[0] & RESET_CONTROL_RESET)
        guest_reset(v);
}

/* The PIT (KVM's) and the CMOS index in a snapshot: Linux's clock events and the next
 * CMOS read come back as they were. */
struct pc_state {
    struct kvm_pit_state2 pit;
    uint8_t cmos_index;
};

static int pc_save(void *opaque, void *buf)
{
    struct pc *pc = opaque;
    struct pc_state *st = buf;
    if (ioctl(pc->vm->vm_fd, KVM_GET_PIT2, &st->pit) < 0) {
        hv_error_errno("KVM_GET_PIT2 failed");
        return -1;
    }
    st->cmos_index = atomic_load(&pc->cmos_index);
    return 0;
}

static int pc_load(void *opaque, const void *buf)
{
    struct pc *pc = opaque;
    const struct pc_state *st = buf;
    if (ioctl(pc->vm->vm_fd, KVM_SET_PIT2, &st->pit) < 0) {
        hv_error_errno("KVM_SET_PIT2 failed");
        return -1;
    }
    atomic_store(&pc->cmos_index, st->cmos_index);
    return 0;
}

int pc_attach(struct pc *pc, struct vm *vm)
{
    pc->vm = vm;
    atomic_init(&pc->cmos_index, 0);
    struct kvm_pit_config pit = { .flags = KVM_PIT_SPEAKER_DUMMY };
    if (ioctl(vm->vm_fd, KVM_CREATE_PIT2, &pit) < 0) {
        hv_error_errno("KVM_CREATE_PIT2 failed");
        return -1;
    }
    uint8_t *at = vm_gpa_to_host(vm, PC_MPTABLE_ADDR, 4096);
    if (!at || !pc_mptable(at, 4096, PC_MPTABLE_ADDR, vm->ncpus)) {
        hv_error("the MP table for %u vCPUs does not fit at 0x%llx", vm->ncpus,
                 (unsigned long long)PC_MPTABLE_ADDR);
        return -1;
    }
    struct vm_state_hook h = { "the PIT and CMOS", sizeof(struct pc_state), pc_save, pc_load, pc };
    if (vm_register_state(vm, &h) < 0 ||
        vm_register_pio(vm, CMOS_PORT, 2, cmos_pio, pc) < 0 ||
        vm_register_pio(vm, I8042_PORT + 4, 1, i8042_pio, NULL) < 0 ||
        vm_register_pio(vm, RESET_CONTROL_PORT, 1, reset_control_pio, NULL) < 0)
        return -1;
    return 0;
}
