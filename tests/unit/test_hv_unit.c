/* hv/ without KVM: the memslot layout, the guest page walk, exit dispatch with a kvm_run
 * filled by hand and fake handlers (Firecracker's way of testing its vCPU loop), file
 * names from guest strings, and the atomic writer. */
#include <check.h>
#include "../check_main.h"

#include <elf.h>
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "breakpoints.h"
#include "bzimage.h"
#include "memory.h"
#include "pagewalk.h"
#include "pc.h"
#include "uart8250.h"
#include "util.h"
#include "vcpu.h"
#include "vm.h"

/* RAM minus trapped pages, as the memslots will be laid out. */
START_TEST(slot_layout_skips_trapped_pages)
{
    uint64_t pages[4] = { 0 };
    struct mem_range out[5];
    const uint64_t mem = 64 * 4096;
    ck_assert_uint_eq(memory_layout(mem, pages, 0, out), 1);
    ck_assert_uint_eq(out[0].gpa, 0);
    ck_assert_uint_eq(out[0].size, mem);

    pages[0] = 0;
    pages[1] = 4096;      /* adjacent to the first: one hole */
    pages[2] = 10 * 4096;
    pages[3] = mem - 4096; /* the last page */
    ck_assert_uint_eq(memory_layout(mem, pages, 4, out), 2);
    ck_assert_uint_eq(out[0].gpa, 2 * 4096);
    ck_assert_uint_eq(out[0].size, 8 * 4096);
    ck_assert_uint_eq(out[1].gpa, 11 * 4096);
    ck_assert_uint_eq(out[1].size, mem - 12 * 4096);
}
END_TEST


/* ---- the page walker over a hand-built page table ---------------------------------- */

#define PTE_P 1ull
#define PTE_W 2ull
#define PTE_U 4ull
#define PTE_PS 0x80ull
#define PTE_NX (1ull << 63)

static uint8_t *walk_ram;
static const uint64_t walk_ram_bytes = 64 * 4096;

static void put_entry(uint64_t table, unsigned index, uint64_t value)
{
    memcpy(walk_ram + table + index * 8, &value, 8);
}

/* PML4 at 0x1000 -> PDPT 0x2000 -> PD 0x3000 -> PT 0x4000:
 *   va 0x0000 (PT[0])  user, writable     -> 0x10000
 *   va 0x1000 (PT[1])  supervisor only    -> 0x11000
 *   va 0x2000 (PT[2])  user, read-only    -> 0x12000
 *   va 0x3000 (PT[3])  user, no-execute   -> 0x13000
 *   va 0x4000 (PT[4])  not present
 *   va 0x200000 (PD[1]) a 2 MiB user page at gpa 0 (outside the 64-page RAM past 0x40000)
 * and PML4[256] (va 0xffff800000000000) -> the same PDPT, supervisor only. */
static struct x86_paging build_tables(void)
{
    walk_ram = calloc(1, walk_ram_bytes);
    ck_assert_ptr_nonnull(walk_ram);
    put_entry(0x1000, 0, 0x2000 | PTE_P | PTE_W | PTE_U);
    put_entry(0x1000, 256, 0x2000 | PTE_P | PTE_W);
    put_entry(0x2000, 0, 0x3000 | PTE_P | PTE_W | PTE_U);
    put_entry(0x3000, 0, 0x4000 | PTE_P | PTE_W | PTE_U);
    put_entry(0x3000, 1, 0x0 | PTE_P | PTE_W | PTE_U | PTE_PS);
    put_entry(0x4000, 0, 0x10000 | PTE_P | PTE_W | PTE_U);
    put_entry(0x4000, 1, 0x11000 | PTE_P | PTE_W);
    put_entry(0x4000, 2, 0x12000 | PTE_P | PTE_U);
    put_entry(0x4000, 3, 0x13000 | PTE_P | PTE_W | PTE_U | PTE_NX);
    return (struct x86_paging){ .cr0 = 0x80010001, .cr3 = 0x1000, .cr4 = 0x20,
                                .efer = 0xd00 /* LME, LMA, NXE */ };
}

START_TEST(page_walk_checks_what_the_cpu_checks)
{
    struct x86_paging p = build_tables();
    uint64_t pa = 0;
    ck_assert_int_eq(x86_translate(&p, walk_ram, walk_ram_bytes, 0x123, X86_WRITE | X86_USER, &pa), 0);
    ck_assert_uint_eq(pa, 0x10123);
    /* supervisor page: the kernel may, a ring-3 caller may not */
    ck_assert_int_eq(x86_translate(&p, walk_ram, walk_ram_bytes, 0x1008, X86_READ, &pa), 0);
    ck_assert_uint_eq(pa, 0x11008);
    ck_assert_int_eq(x86_translate(&p, walk_ram, walk_ram_bytes, 0x1008, X86_USER, &pa), -1);
    /* read-only: reads yes, writes no (CR0.WP is set) */
    ck_assert_int_eq(x86_translate(&p, walk_ram, walk_ram_bytes, 0x2000, X86_USER, &pa), 0);
    ck_assert_int_eq(x86_translate(&p, walk_ram, walk_ram_bytes, 0x2000, X86_WRITE, &pa), -1);
    /* no-execute */
    ck_assert_int_eq(x86_translate(&p, walk_ram, walk_ram_bytes, 0x3000, X86_USER, &pa), 0);
    ck_assert_int_eq(x86_translate(&p, walk_ram, walk_ram_bytes, 0x3000, X86_FETCH, &pa), -1);
    /* not present */
    ck_assert_int_eq(x86_translate(&p, walk_ram, walk_ram_bytes, 0x4000, X86_READ, &pa), -1);
    /* a 2 MiB page */
    ck_assert_int_eq(x86_translate(&p, walk_ram, walk_ram_bytes, 0x200000 + 0x5678, X86_USER, &pa), 0);
    ck_assert_uint_eq(pa, 0x5678);
    /* the upper half is mapped (supervisor), the hole between the halves is not canonical */
    ck_assert_int_eq(x86_translate(&p, walk_ram, walk_ram_bytes, 0xffff800000000123ull, X86_READ, &pa), 0);
    ck_assert_uint_eq(pa, 0x10123);
    ck_assert_int_eq(x86_translate(&p, walk_ram, walk_ram_bytes, 0xffff800000000123ull, X86_USER, &pa), -1);
    ck_assert(!x86_canonical(&p, 0x8000000000000000ull));
    ck_assert(!x86_canonical(&p, 0x0000800000000000ull));
    ck_assert(x86_canonical(&p, 0x00007fffffffffffull));
    ck_assert_int_eq(x86_translate(&p, walk_ram, walk_ram_bytes, 0x8000000000000123ull, X86_READ, &pa), -1);
    /* a table pointer or a page outside RAM is a failed walk, not a read past the buffer,
     * and told apart from a fault the CPU would take: MMIO (the hypercall page) is mapped */
    put_entry(0x4000, 5, 0x7fff0000ull | PTE_P | PTE_U);
    put_entry(0x1000, 1, 0x7fff0000ull | PTE_P | PTE_U);
    ck_assert_int_eq(x86_translate(&p, walk_ram, walk_ram_bytes, 0x8000000000ull, X86_READ, &pa),
                     X86_OUTSIDE_RAM);
    ck_assert_int_eq(x86_translate(&p, walk_ram, walk_ram_bytes, 0x5000, X86_READ, &pa),
                     X86_OUTSIDE_RAM);
    free(walk_ram);
}
END_TEST

/* ---- exit dispatch: a kvm_run filled by hand, fake devices and policies ------------- */

struct fake_log {
    int pio_calls, ram_reads, ram_writes, ends;
    uint16_t last_port;
    struct guest_end last_end;
    char why[256];
};

static void fake_pio(struct vcpu *v, uint16_t port, uint8_t *data, unsigned size, bool in,
                     void *opaque)
{
    (void)v;
    struct fake_log *log = opaque;
    log->pio_calls++;
    log->last_port = port;
    if (in)
        memset(data, 0x5a, size);
}

static int fake_ram_read(struct vcpu *v, uint64_t gpa, uint8_t *data, unsigned len, void *opaque)
{
    (void)v;
    (void)gpa;
    ((struct fake_log *)opaque)->ram_reads++;
    memset(data, 0x77, len);
    return 0;
}

static int fake_ram_write(struct vcpu *v, uint64_t gpa, const uint8_t *data, unsigned len,
                          void *opaque)
{
    (void)v;
    (void)gpa;
    (void)data;
    (void)len;
    ((struct fake_log *)opaque)->ram_writes++;
    return 0;
}

static void fake_end(struct vcpu *v, const struct guest_end *e, void *opaque)
{
    (void)v;
    struct fake_log *log = opaque;
    log->ends++;
    log->last_end = *e;
    snprintf(log->why, sizeof log->why, "%s", e->why ? e->why : "");
}

static const struct ram_trap_ops fake_trap = { .read = fake_ram_read, .write = fake_ram_write };

struct fake_machine {
    struct vm vm;
    uint8_t run_page[4096] __attribute__((aligned(64)));
    struct fake_log log;
};

static struct fake_machine *fake_machine(void)
{
    struct fake_machine *m = calloc(1, sizeof *m);
    ck_assert_ptr_nonnull(m);
    m->vm.mem.bytes = 16 * 4096;
    m->vm.mem.ram = calloc(1, m->vm.mem.bytes);
    m->vm.ncpus = 1;
    m->vm.vcpus[0].vm = &m->vm;
    m->vm.vcpus[0].run = (struct kvm_run *)m->run_page;
    m->vm.vcpus[0].run_size = sizeof m->run_page;
    ck_assert_int_eq(vm_register_pio(&m->vm, 0x3f8, 8, fake_pio, &m->log), 0);
    vm_set_ram_trap(&m->vm, &fake_trap, &m->log);
    vm_set_end_policy(&m->vm, fake_end, &m->log);
    return m;
}

static void free_machine(struct fake_machine *m)
{
    free(m->vm.mem.ram);
    free(m);
}

START_TEST(port_io_goes_to_the_registered_device)
{
    struct fake_machine *m = fake_machine();
    struct kvm_run *run = m->vm.vcpus[0].run;
    run->exit_reason = KVM_EXIT_IO;
    run->io.direction = KVM_EXIT_IO_IN;
    run->io.port = 0x3fd;
    run->io.size = 1;
    run->io.count = 3;
    run->io.data_offset = 1024;
    ck_assert_int_eq(vcpu_handle_exit(&m->vm.vcpus[0]), 0);
    ck_assert_int_eq(m->log.pio_calls, 3); /* rep insb: once per element */
    ck_assert_uint_eq(m->log.last_port, 0x3fd);
    ck_assert_uint_eq(m->run_page[1024 + 2], 0x5a);

    /* nobody at the port: reads float high, nothing is called */
    run->io.port = 0x80;
    run->io.count = 1;
    m->run_page[1024] = 0;
    ck_assert_int_eq(vcpu_handle_exit(&m->vm.vcpus[0]), 0);
    ck_assert_int_eq(m->log.pio_calls, 3);
    ck_assert_uint_eq(m->run_page[1024], 0xff);

    /* a data area that would leave the kvm_run page is ignored, not followed */
    run->io.port = 0x3f8;
    run->io.count = 100000;
    ck_assert_int_eq(vcpu_handle_exit(&m->vm.vcpus[0]), 0);
    ck_assert_int_eq(m->log.pio_calls, 3);
    ck_assert_int_eq(m->log.ends, 0);
    ck_assert(vm_register_pio(&m->vm, 0x3fc, 2, fake_pio, &m->log) < 0); /* overlaps */
    free_machine(m);
}
END_TEST

START_TEST(ram_exits_go_to_the_trap_and_wild_ones_end_the_guest)
{
    struct fake_machine *m = fake_machine();
    struct kvm_run *run = m->vm.vcpus[0].run;
    run->exit_reason = KVM_EXIT_MMIO;
    run->mmio.phys_addr = 0x2000;
    run->mmio.len = 4;
    run->mmio.is_write = 0;
    ck_assert_int_eq(vcpu_handle_exit(&m->vm.vcpus[0]), 0);
    ck_assert_int_eq(m->log.ram_reads, 1);
    ck_assert_uint_eq(run->mmio.data[3], 0x77);
    run->mmio.is_write = 1;
    ck_assert_int_eq(vcpu_handle_exit(&m->vm.vcpus[0]), 0);
    ck_assert_int_eq(m->log.ram_writes, 1);
    ck_assert_int_eq(m->log.ends, 0);

    /* past the end of RAM (and straddling it): the end policy hears of a crash */
    run->mmio.phys_addr = m->vm.mem.bytes - 2;
    ck_assert_int_eq(vcpu_handle_exit(&m->vm.vcpus[0]), 0);
    ck_assert_int_eq(m->log.ends, 1);
    ck_assert_int_eq(m->log.last_end.kind, GUEST_CRASH);
    ck_assert(m->log.last_end.vmm_saw_it);
    ck_assert_ptr_nonnull(strstr(m->log.why, "outside RAM"));
    ck_assert_int_eq(m->log.ram_writes, 1);
    free_machine(m);
}
END_TEST

static int failing_ram_read(struct vcpu *v, uint64_t gpa, uint8_t *data, unsigned len,
                            void *opaque)
{
    (void)v, (void)gpa, (void)data, (void)len;
    ((struct fake_log *)opaque)->ram_reads++;
    return -1;
}

/* An access to trapped RAM the trap cannot serve is symhv's failure, not the guest's
 * crash: a campaign must never file it as a finding. */
START_TEST(an_unserved_ram_access_is_symhvs_failure)
{
    static const struct ram_trap_ops failing = { .read = failing_ram_read,
                                                 .write = fake_ram_write };
    struct fake_machine *m = fake_machine();
    vm_set_ram_trap(&m->vm, &failing, &m->log);
    struct kvm_run *run = m->vm.vcpus[0].run;
    run->exit_reason = KVM_EXIT_MMIO;
    run->mmio.phys_addr = 0x2000;
    run->mmio.len = 8;
    run->mmio.is_write = 0;
    ck_assert_int_eq(vcpu_handle_exit(&m->vm.vcpus[0]), 0);
    ck_assert_int_eq(m->log.ram_reads, 1);
    ck_assert_int_eq(m->log.ends, 1);
    ck_assert_int_eq(m->log.last_end.kind, GUEST_SYMHV_FAILED);
    ck_assert_ptr_nonnull(strstr(m->log.why, "could not be served"));
    free_machine(m);
}
END_TEST

/* Triple fault, internal error, failed entry, halt, power off, an unknown reason: each
 * reaches the one end policy, none is handled anywhere else. */
START_TEST(every_way_a_guest_ends_reaches_the_end_policy)
{
    static const struct {
        uint32_t reason;
        enum guest_end_kind kind;
        const char *says;
    } cases[] = {
        { KVM_EXIT_SHUTDOWN, GUEST_CRASH, "triple fault" },
        { KVM_EXIT_INTERNAL_ERROR, GUEST_CRASH, "KVM internal error" },
        { KVM_EXIT_FAIL_ENTRY, GUEST_CRASH, "could not enter" },
        { KVM_EXIT_HLT, GUEST_CRASH, "halted" },
        { KVM_EXIT_SYSTEM_EVENT, GUEST_EXIT, "power off" },
        { 9999, GUEST_CRASH, "unexpected KVM exit reason 9999" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct fake_machine *m = fake_machine();
        struct kvm_run *run = m->vm.vcpus[0].run;
        run->exit_reason = cases[i].reason;
        if (cases[i].reason == KVM_EXIT_SYSTEM_EVENT)
            run->system_event.type = KVM_SYSTEM_EVENT_SHUTDOWN;
        ck_assert_int_eq(vcpu_handle_exit(&m->vm.vcpus[0]), 0);
        ck_assert_int_eq(m->log.ends, 1);
        ck_assert_int_eq(m->log.last_end.kind, cases[i].kind);
        ck_assert_msg(strstr(m->log.why, cases[i].says), "exit %u said: %s", cases[i].reason,
                      m->log.why);
        free_machine(m);
    }
}
END_TEST

/* ---- file names from guest strings, and the atomic writer -------------------------- */

START_TEST(guest_names_become_plain_file_names)
{
    char out[32];
    sanitize_file_name("input", out, sizeof out);
    ck_assert_str_eq(out, "input");
    sanitize_file_name("../../etc/passwd", out, sizeof out);
    ck_assert_ptr_null(strchr(out, '/'));
    sanitize_file_name("\xff\x1b[31mred\n", out, sizeof out);
    for (const char *c = out; *c; c++)
        ck_assert_msg(*c > 0x20 && *c < 0x7f, "byte 0x%02x left in '%s'", (unsigned char)*c, out);
    sanitize_file_name("a-very-long-input-name-that-does-not-fit", out, 8);
    ck_assert_uint_le(strlen(out), 7);
}
END_TEST

START_TEST(atomic_write_leaves_whole_files_or_none)
{
    char dir[] = "/tmp/symhv-unit-XXXXXX";
    ck_assert_ptr_nonnull(mkdtemp(dir));
    char path[64], missing[64];
    snprintf(path, sizeof path, "%s/result", dir);
    ck_assert_int_eq(write_file_atomic(dir, "result", "hello", 5), 0);
    struct stat st;
    ck_assert_int_eq(stat(path, &st), 0);
    ck_assert_int_eq(st.st_size, 5);
    /* a directory that is not there: an error, and nothing half-written anywhere */
    snprintf(missing, sizeof missing, "%s/missing", dir);
    ck_assert_int_lt(write_file_atomic(missing, "result", "x", 1), 0);
    unlink(path);
    ck_assert_int_eq(rmdir(dir), 0); /* empty: no temporary files left behind */
}
END_TEST

static uint8_t sum8(const uint8_t *p, size_t n)
{
    uint8_t s = 0;
    while (n--)
        s = (uint8_t)(s + *p++);
    return s;
}

/* What Linux's MP table parser checks: the floating pointer's signature, length and
 * checksum, the table it points at, its checksum and entries. */
START_TEST(mp_table_lists_every_cpu_and_the_ioapic)
{
    static uint8_t buf[4096];
    const uint64_t at = PC_MPTABLE_ADDR;
    size_t n = pc_mptable(buf, sizeof buf, at, 3);
    ck_assert_uint_gt(n, 0);
    ck_assert_int_eq(memcmp(buf, "_MP_", 4), 0);
    ck_assert_uint_eq(buf[8], 1);
    ck_assert_uint_eq(buf[9], 4);
    ck_assert_uint_eq(sum8(buf, 16), 0);
    uint32_t table;
    memcpy(&table, buf + 4, 4);
    ck_assert_uint_eq(table, at + 16);
    const uint8_t *h = buf + (table - at);
    ck_assert_int_eq(memcmp(h, "PCMP", 4), 0);
    uint16_t len, count;
    memcpy(&len, h + 4, 2);
    memcpy(&count, h + 34, 2);
    ck_assert_uint_eq(sum8(h, len), 0);
    ck_assert_uint_eq(16 + len, n);
    unsigned cpus = 0, boot = 0, ioapics = 0, ints = 0, size[5] = { 20, 8, 8, 8, 8 };
    const uint8_t *e = h + 44;
    for (unsigned i = 0; i < count; i++) {
        ck_assert_uint_lt(e[0], 5);
        if (e[0] == 0) {
            ck_assert_uint_eq(e[1], cpus); /* APIC ids 0.. */
            cpus++;
            boot += (e[3] & 2) != 0;
        }
        if (e[0] == 2) {
            ioapics++;
            ck_assert_uint_eq(e[1], 3); /* after the CPUs */
            uint32_t addr;
            memcpy(&addr, e + 4, 4);
            ck_assert_uint_eq(addr, PC_IOAPIC_ADDR);
        }
        if (e[0] == 3 && e[5] == 4)
            ck_assert_uint_eq(e[7], 4); /* COM1's IRQ 4 on pin 4 */
        ints += e[0] == 3;
        e += size[e[0]];
    }
    ck_assert_uint_eq((size_t)(e - h), len);
    ck_assert_uint_eq(cpus, 3);
    ck_assert_uint_eq(boot, 1);
    ck_assert_uint_eq(ioapics, 1);
    ck_assert_uint_eq(ints, 15);
    ck_assert_uint_eq(pc_mptable(buf, 100, at, 3), 0); /* too small: nothing */
    ck_assert_uint_eq(pc_mptable(buf, sizeof buf, at, 0), 0);
}
END_TEST

START_TEST(cmos_clock_reads_the_time_in_bcd)
{
    time_t t = 1764634567; /* 2025-12-02 00:16:07 UTC, a Tuesday */
    ck_assert_uint_eq(pc_cmos_read(0x00, t), 0x07);
    ck_assert_uint_eq(pc_cmos_read(0x02, t), 0x16);
    ck_assert_uint_eq(pc_cmos_read(0x04, t), 0x00);
    ck_assert_uint_eq(pc_cmos_read(0x06, t), 0x03);
    ck_assert_uint_eq(pc_cmos_read(0x07, t), 0x02);
    ck_assert_uint_eq(pc_cmos_read(0x08, t), 0x12);
    ck_assert_uint_eq(pc_cmos_read(0x09, t), 0x25);
    ck_assert_uint_eq(pc_cmos_read(0x32, t), 0x20);
    ck_assert_uint_eq(pc_cmos_read(0x0a, t) & 0x80, 0); /* no update in progress */
    ck_assert_uint_eq(pc_cmos_read(0x0b, t), 0x02);     /* 24 hours, BCD */
    ck_assert_uint_eq(pc_cmos_read(0x0d, t), 0x80);     /* battery good */
    ck_assert_uint_eq(pc_cmos_read(0x80 | 0x09, t), 0x25); /* the NMI bit is not an index bit */
}
END_TEST

/* The probes Linux's 8250 driver makes (autoconfig, the THRE test at startup) and the
 * interrupt-driven transmit it then does. */
START_TEST(uart_passes_the_16550a_probes_and_interrupts)
{
    struct uart8250 u;
    uart8250_init(&u);
    uart8250_write(&u, 7, 0xa5); /* scratch */
    ck_assert_uint_eq(uart8250_read(&u, 7), 0xa5);
    uart8250_write(&u, 3, 0x80); /* DLAB: the divisor */
    uart8250_write(&u, 0, 0x01);
    uart8250_write(&u, 1, 0x00);
    ck_assert_uint_eq(uart8250_read(&u, 0), 0x01);
    uart8250_write(&u, 3, 0x03); /* 8N1, DLAB off */
    ck_assert_uint_eq(uart8250_read(&u, 1), 0); /* IER again */
    uart8250_write(&u, 4, 0x1a); /* loopback with RTS and OUT2: MSR shows CTS and DCD */
    ck_assert_uint_eq(uart8250_read(&u, 6) & 0xf0, 0x90);
    ck_assert_int_eq(uart8250_write(&u, 0, 'x'), -1); /* looped back, not sent */
    ck_assert_uint_eq(uart8250_read(&u, 5) & 0x01, 1);
    ck_assert_uint_eq(uart8250_read(&u, 0), 'x');
    ck_assert_uint_eq(uart8250_read(&u, 5) & 0x61, 0x60); /* empty, transmitter idle */
    uart8250_write(&u, 2, 0x01); /* FIFO on: IIR's top bits say 16550A */
    ck_assert_uint_eq(uart8250_read(&u, 2) & 0xc0, 0xc0);
    uart8250_write(&u, 4, 0x0b); /* DTR, RTS, OUT2: the interrupt line is connected */
    ck_assert(!uart8250_irq(&u));
    uart8250_write(&u, 1, 0x02); /* THRE interrupt on: THR is empty, so it is pending */
    ck_assert(uart8250_irq(&u));
    ck_assert_uint_eq(uart8250_read(&u, 2) & 0x0f, 0x02);
    ck_assert(!uart8250_irq(&u)); /* acknowledged by that IIR read */
    ck_assert_uint_eq(uart8250_read(&u, 2) & 0x0f, 0x01);
    ck_assert_int_eq(uart8250_write(&u, 0, 'y'), 'y'); /* sent, THR empty again */
    ck_assert(uart8250_irq(&u));
    uart8250_write(&u, 1, 0x00); /* transmit done: interrupt off */
    ck_assert(!uart8250_irq(&u));
    uart8250_write(&u, 1, 0x02); /* re-enabled while empty: raised again (the THRE test) */
    ck_assert(uart8250_irq(&u));
    uart8250_write(&u, 1, 0x01); /* received data interrupts */
    ck_assert(uart8250_receive(&u, 'z'));
    ck_assert_uint_eq(uart8250_read(&u, 2) & 0x0f, 0x04);
    ck_assert_uint_eq(uart8250_read(&u, 0), 'z');
    ck_assert(!uart8250_irq(&u));
    for (int i = 0; i < UART_RX_MAX; i++)
        ck_assert(uart8250_receive(&u, (uint8_t)i));
    ck_assert(!uart8250_receive(&u, 0xff)); /* full: an overrun, said once in LSR */
    ck_assert_uint_eq(uart8250_read(&u, 5) & 0x02, 0x02);
    ck_assert_uint_eq(uart8250_read(&u, 5) & 0x02, 0);
}
END_TEST

/* Input from outside waits for the driver (receive interrupt on, no loopback), and a
 * FIFO clear hands back the line's unread bytes, not the loopback's. */
START_TEST(uart_input_survives_fifo_clears)
{
    struct uart8250 u;
    uint8_t out[UART_RX_MAX];
    uart8250_init(&u);
    ck_assert(!uart8250_line_ready(&u)); /* no driver yet */
    uart8250_write(&u, 1, 0x01);
    ck_assert(uart8250_line_ready(&u));
    uart8250_write(&u, 4, 0x10); /* loopback: the line is disconnected */
    ck_assert(!uart8250_line_ready(&u));
    uart8250_write(&u, 0, 'L');
    uart8250_write(&u, 4, 0x08);
    ck_assert(uart8250_receive(&u, 'a'));
    ck_assert(uart8250_receive(&u, 'b'));
    uart8250_write(&u, 2, 0x03); /* FIFO on, receive FIFO cleared */
    ck_assert_uint_eq(uart8250_read(&u, 5) & 0x01, 0); /* empty for the guest */
    ck_assert_uint_eq(uart8250_take_cleared(&u, out), 2);
    ck_assert_mem_eq(out, "ab", 2);
    ck_assert_uint_eq(uart8250_take_cleared(&u, out), 0);
}
END_TEST

/* A minimal 64-bit bzImage: the setup header of protocol 2.15 and a kernel of 64 KiB. */
static uint8_t *fake_bzimage(size_t *size)
{
    *size = 5 * 512 + 65536;
    uint8_t *f = calloc(1, *size);
    f[0x1f1] = 4; /* setup sectors */
    f[0x1fe] = 0x55, f[0x1ff] = 0xaa;
    f[0x200] = 0xeb, f[0x201] = 0x6a; /* the jump: the header ends at 0x26c */
    memcpy(f + 0x202, "HdrS", 4);
    f[0x206] = 0x0f, f[0x207] = 0x02; /* 2.15 */
    f[0x211] = 0x01;                  /* LOADED_HIGH */
    uint32_t cmdline_size = 2047, initrd_max = 0x7fffffff, init_size = 1 << 20;
    uint64_t pref = 0x1000000;
    memcpy(f + 0x22c, &initrd_max, 4);
    f[0x236] = 0x01;                  /* XLF_KERNEL_64 */
    memcpy(f + 0x238, &cmdline_size, 4);
    memcpy(f + 0x258, &pref, 8);
    memcpy(f + 0x260, &init_size, 4);
    return f;
}

/* Binary-only coverage's blocks: the entry, the targets and fall-throughs of conditional
 * branches where an instruction starts, never inside one (an int3 there would change the
 * instruction); position-independent programs and other files are refused in a line. */
START_TEST(breakpoints_go_at_instruction_starts_only)
{
    static const uint8_t code[] = {
        0x74, 0x03,       /* 0x400078 je 0x40007d: inside the mov below, no block */
        0x74, 0x01,       /* 0x40007a je 0x40007d */
        0xb0, 0xc3,       /* 0x40007c mov al, 0xc3 */
        0xc3,             /* 0x40007e ret */
    };
    struct {
        Elf64_Ehdr eh;
        Elf64_Phdr ph;
        uint8_t code[sizeof code];
    } __attribute__((packed)) img = {
        .eh = { .e_ident = { ELFMAG0, ELFMAG1, ELFMAG2, ELFMAG3, ELFCLASS64, ELFDATA2LSB, EV_CURRENT },
                .e_type = ET_EXEC, .e_machine = EM_X86_64, .e_version = EV_CURRENT,
                .e_entry = 0x400078, .e_phoff = sizeof(Elf64_Ehdr), .e_ehsize = sizeof(Elf64_Ehdr),
                .e_phentsize = sizeof(Elf64_Phdr), .e_phnum = 1 },
        .ph = { .p_type = PT_LOAD, .p_flags = PF_R | PF_X, .p_offset = 0x78, .p_vaddr = 0x400078,
                .p_filesz = sizeof code, .p_memsz = sizeof code },
    };
    ck_assert_uint_eq(offsetof(__typeof__(img), code), 0x78);
    memcpy(img.code, code, sizeof code);
    char dir[] = "/tmp/symhv-bp-XXXXXX", path[64], why[256];
    ck_assert_ptr_nonnull(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/prog", dir);
    FILE *f = fopen(path, "wb");
    ck_assert(f && fwrite(&img, 1, sizeof img, f) == sizeof img);
    ck_assert_int_eq(fclose(f), 0);
    struct breakpoints *b = breakpoints_open(path, false, why, sizeof why);
    ck_assert_msg(b != NULL, "%s", why);
    ck_assert_uint_eq(breakpoints_count(b), 3); /* 0x400078, 0x40007a, 0x40007c */
    breakpoints_free(b);
    img.eh.e_type = ET_DYN;
    f = fopen(path, "wb");
    ck_assert(f && fwrite(&img, 1, sizeof img, f) == sizeof img);
    ck_assert_int_eq(fclose(f), 0);
    ck_assert_ptr_null(breakpoints_open(path, false, why, sizeof why));
    ck_assert_ptr_nonnull(strstr(why, "position-independent"));
    b = breakpoints_open(path, true, why, sizeof why); /* symhv cov runs it natively */
    ck_assert_msg(b != NULL, "%s", why);
    ck_assert_uint_eq(breakpoints_count(b), 3);
    breakpoints_free(b);
    f = fopen(path, "wb");
    ck_assert(f && fputs("#!/bin/sh\n", f) >= 0);
    ck_assert_int_eq(fclose(f), 0);
    ck_assert_ptr_null(breakpoints_open(path, true, why, sizeof why));
    ck_assert_ptr_nonnull(strstr(why, "no ELF64 x86-64 program"));
    unlink(path);
    rmdir(dir);
}
END_TEST

START_TEST(bzimage_header_is_checked_and_the_zero_page_filled)
{
    size_t size;
    uint8_t *f = fake_bzimage(&size);
    struct bzimage bz;
    char err[256];
    ck_assert_int_eq(bzimage_parse(f, size, 64 << 20, &bz, err, sizeof err), 0);
    ck_assert_uint_eq(bz.version, 0x020f);
    ck_assert_uint_eq(bz.kernel_offset, 5 * 512);
    ck_assert_uint_eq(bz.kernel_size, 65536);
    ck_assert_uint_eq(bz.load_addr, 0x1000000);
    ck_assert_uint_eq(bz.init_size, 1 << 20);
    ck_assert_uint_eq(bz.cmdline_max, 2047);

    static uint8_t zp[BZ_BOOT_PARAMS_SIZE];
    const struct bz_e820 map[2] = { { 0, 0x9f000, 1 }, { 0x100000, 63 << 20, 1 } };
    bzimage_boot_params(zp, f, 0x11000, 0x3000000, 4096, map, 2);
    ck_assert_int_eq(memcmp(zp + 0x202, "HdrS", 4), 0); /* the header copied */
    ck_assert_uint_eq(zp[0x210], 0xff);                  /* type_of_loader */
    uint32_t v;
    memcpy(&v, zp + 0x228, 4);
    ck_assert_uint_eq(v, 0x11000);
    memcpy(&v, zp + 0x218, 4);
    ck_assert_uint_eq(v, 0x3000000);
    memcpy(&v, zp + 0x21c, 4);
    ck_assert_uint_eq(v, 4096);
    ck_assert_uint_eq(zp[0x1e8], 2);
    uint64_t addr;
    memcpy(&addr, zp + 0x2d0 + 20, 8);
    ck_assert_uint_eq(addr, 0x100000);

    /* what is wrong with bad images, in one line each */
    ck_assert_int_eq(bzimage_parse(f, size, 16 << 20, &bz, err, sizeof err), -1);
    ck_assert_msg(strstr(err, "give more --mem"), "%s", err);
    ck_assert_int_eq(bzimage_parse(f, 0x240, 64 << 20, &bz, err, sizeof err), -1);
    ck_assert_msg(strstr(err, "truncated"), "%s", err);
    ck_assert_int_eq(bzimage_parse(f, 5 * 512, 64 << 20, &bz, err, sizeof err), -1);
    ck_assert_msg(strstr(err, "truncated"), "%s", err);
    f[0x236] = 0; /* no 64-bit entry */
    ck_assert_int_eq(bzimage_parse(f, size, 64 << 20, &bz, err, sizeof err), -1);
    ck_assert_msg(strstr(err, "64-bit"), "%s", err);
    f[0x236] = 1;
    f[0x201] = 0xff; /* a header past its sector */
    ck_assert_int_eq(bzimage_parse(f, size, 64 << 20, &bz, err, sizeof err), -1);
    f[0x201] = 0x6a;
    f[0x202] = 'X'; /* wrong magic */
    ck_assert(!bzimage_detect(f, size));
    ck_assert_int_eq(bzimage_parse(f, size, 64 << 20, &bz, err, sizeof err), -1);
    ck_assert_msg(strstr(err, "not a bzImage"), "%s", err);
    free(f);
}
END_TEST

/* A preferred address near the top of the 64-bit space: the RAM the image needs is
 * beyond it (pref_address + init_size wrapped, and the message said "up to 0xf000");
 * near the top of RAM: the real end. */
START_TEST(bzimage_load_address_beyond_ram_is_told_unwrapped)
{
    size_t size;
    uint8_t *f = fake_bzimage(&size);
    struct bzimage bz;
    char err[256];
    uint64_t pref = 0xfffffffffffff000ull;
    memcpy(f + 0x258, &pref, 8);
    ck_assert_int_eq(bzimage_parse(f, size, 64 << 20, &bz, err, sizeof err), -1);
    ck_assert_str_eq(err, "bzImage wants to load at 0xfffffffffffff000 and 1048576 bytes from "
                          "there: past the end of the 64-bit address space");
    uint32_t init_size = 0xfffff000u; /* the last byte exactly: no wrap, too much RAM */
    memcpy(f + 0x260, &init_size, 4);
    pref = 0xffffffff00000000ull;
    memcpy(f + 0x258, &pref, 8);
    ck_assert_int_eq(bzimage_parse(f, size, 64 << 20, &bz, err, sizeof err), -1);
    ck_assert_str_eq(err, "bzImage needs RAM up to 0xfffffffffffff000: give more --mem");
    init_size = 1 << 20;
    memcpy(f + 0x260, &init_size, 4);
    pref = 0x3f80000; /* 63.5 MiB: its 1 MiB ends past 64 MiB */
    memcpy(f + 0x258, &pref, 8);
    ck_assert_int_eq(bzimage_parse(f, size, 64 << 20, &bz, err, sizeof err), -1);
    ck_assert_str_eq(err, "bzImage needs RAM up to 0x4080000: give more --mem");
    ck_assert_int_eq(bzimage_parse(f, size, 65 << 20, &bz, err, sizeof err), 0);
    free(f);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("unit");
    TCase *tc = tcase_create("hv");
    tcase_add_test(tc, slot_layout_skips_trapped_pages);
    tcase_add_test(tc, page_walk_checks_what_the_cpu_checks);
    tcase_add_test(tc, port_io_goes_to_the_registered_device);
    tcase_add_test(tc, ram_exits_go_to_the_trap_and_wild_ones_end_the_guest);
    tcase_add_test(tc, every_way_a_guest_ends_reaches_the_end_policy);
    tcase_add_test(tc, an_unserved_ram_access_is_symhvs_failure);
    tcase_add_test(tc, guest_names_become_plain_file_names);
    tcase_add_test(tc, atomic_write_leaves_whole_files_or_none);
    tcase_add_test(tc, mp_table_lists_every_cpu_and_the_ioapic);
    tcase_add_test(tc, cmos_clock_reads_the_time_in_bcd);
    tcase_add_test(tc, uart_passes_the_16550a_probes_and_interrupts);
    tcase_add_test(tc, uart_input_survives_fifo_clears);
    tcase_add_test(tc, bzimage_header_is_checked_and_the_zero_page_filled);
    tcase_add_test(tc, bzimage_load_address_beyond_ram_is_told_unwrapped);
    tcase_add_test(tc, breakpoints_go_at_instruction_starts_only);
    suite_add_tcase(s, tc);
    return run_suite(s);
}
