#include "boot.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

#include "bzimage.h"
#include "cpio.h"
#include "elf_loader.h"
#include "log.h"
#include "pvm.h"
#include "util.h"
#include "vcpu.h"

enum {
    PTE_P = 1 << 0, PTE_RW = 1 << 1, PTE_US = 1 << 2, PTE_PS = 1 << 7,
};
#define CR0_PE (1ull << 0)
#define CR0_MP (1ull << 1)
#define CR0_ET (1ull << 4)
#define CR0_NE (1ull << 5)
#define CR0_WP (1ull << 16)
#define CR0_PG (1ull << 31)
#define CR4_PAE (1ull << 5)
#define CR4_OSFXSR (1ull << 9)
#define CR4_OSXMMEXCPT (1ull << 10)
#define EFER_SCE (1ull << 0)
#define EFER_LME (1ull << 8)
#define EFER_LMA (1ull << 10)
#define EFER_NXE (1ull << 11)

static void put64(struct vm *vm, uint64_t gpa, uint64_t value)
{
    memcpy(vm->mem.ram + gpa, &value, sizeof value);
}

/* GDT: null, 64-bit code (0x08), data (0x10), 32-bit code (0x18, for PVH). */
static void write_gdt(struct vm *vm)
{
    put64(vm, SYMHV_BOOT_GDT_ADDR + 0, 0);
    put64(vm, SYMHV_BOOT_GDT_ADDR + 8, 0x00af9b000000ffffull);
    put64(vm, SYMHV_BOOT_GDT_ADDR + 16, 0x00cf93000000ffffull);
    put64(vm, SYMHV_BOOT_GDT_ADDR + 24, 0x00cf9b000000ffffull);
}

/* Identity map of the low 4 GiB with 2 MiB pages: 1 PML4 entry, 4 PDPT entries,
 * 4 page directories. User-accessible; the kernel narrows that itself. */
static void write_identity_map(struct vm *vm)
{
    memset(vm->mem.ram + SYMHV_BOOT_PML4_ADDR, 0, 6 * 4096);
    put64(vm, SYMHV_BOOT_PML4_ADDR, SYMHV_BOOT_PDPT_ADDR | PTE_P | PTE_RW | PTE_US);
    for (uint64_t i = 0; i < 4; i++) {
        uint64_t pd = SYMHV_BOOT_PD_ADDR + i * 4096;
        put64(vm, SYMHV_BOOT_PDPT_ADDR + i * 8, pd | PTE_P | PTE_RW | PTE_US);
        for (uint64_t j = 0; j < 512; j++) {
            uint64_t phys = (i << 30) | (j << 21);
            put64(vm, pd + j * 8, phys | PTE_P | PTE_RW | PTE_US | PTE_PS);
        }
    }
}

static void write_symhv_boot(struct vm *vm, const struct symhv_boot_info *info)
{
    write_identity_map(vm);
    write_gdt(vm);
    memcpy(vm->mem.ram + SYMHV_BOOT_INFO_ADDR, info, sizeof *info);
}

/* Linux's memory map (PVH's and bzImage's): RAM below LOW_RAM_END and above 1 MiB. */
#define LOW_RAM_END 0x9f000ull

/* PVH start info (xen/include/public/arch-x86/hvm/start_info.h), version 1. */
#define PVH_START_INFO_ADDR 0x9000ull
#define PVH_MODLIST_ADDR 0x9100ull
#define PVH_MEMMAP_ADDR 0x9200ull
#define PVH_CMDLINE_ADDR 0x9400ull
#define PVH_MAGIC 0x336ec578u
#define PVH_CS 0x18

struct hvm_start_info {
    uint32_t magic, version, flags, nr_modules;
    uint64_t modlist_paddr, cmdline_paddr, rsdp_paddr, memmap_paddr;
    uint32_t memmap_entries, reserved;
};
struct hvm_modlist_entry {
    uint64_t paddr, size, cmdline_paddr, reserved;
};
struct hvm_memmap_entry {
    uint64_t addr, size;
    uint32_t type, reserved; /* type 1: RAM, 2: reserved (e820) */
};

static void write_pvh_boot(struct vm *vm, const char *cmdline, uint64_t initrd_addr,
                           uint64_t initrd_size)
{
    write_gdt(vm);
    struct hvm_memmap_entry map[3] = {
        { 0, LOW_RAM_END, 1, 0 },                             /* low RAM */
        { LOW_RAM_END, 0x100000 - LOW_RAM_END, 2, 0 },        /* the VGA/BIOS hole (the MP
                                                                 table, pc.h) */
        { 0x100000, vm->mem.bytes - 0x100000, 1, 0 },         /* the rest of RAM */
    };
    memcpy(vm->mem.ram + PVH_MEMMAP_ADDR, map, sizeof map);
    struct hvm_start_info si = {
        .magic = PVH_MAGIC,
        .version = 1,
        .memmap_paddr = PVH_MEMMAP_ADDR,
        .memmap_entries = 3,
    };
    size_t n = cmdline ? strlen(cmdline) : 0;
    memcpy(vm->mem.ram + PVH_CMDLINE_ADDR, cmdline ? cmdline : "", n + 1);
    si.cmdline_paddr = PVH_CMDLINE_ADDR;
    if (initrd_addr) {
        struct hvm_modlist_entry mod = { initrd_addr, initrd_size, 0, 0 };
        memcpy(vm->mem.ram + PVH_MODLIST_ADDR, &mod, sizeof mod);
        si.nr_modules = 1;
        si.modlist_paddr = PVH_MODLIST_ADDR;
    }
    memcpy(vm->mem.ram + PVH_START_INFO_ADDR, &si, sizeof si);
}

/* Linux's COMMAND_LINE_SIZE on x86 */
#define LINUX_CMDLINE_MAX 2048

/* The command line a Linux kernel gets: the user's, and on PVM hosts what Linux needs
 * there (pvm.h), said in one line. */
static int linux_cmdline(struct vm *vm, const char *user, unsigned tsc_khz,
                         char out[LINUX_CMDLINE_MAX])
{
    if (user && strlen(user) >= LINUX_CMDLINE_MAX) {
        hv_error("--cmdline is longer than Linux takes (%d bytes)", LINUX_CMDLINE_MAX - 1);
        return -1;
    }
    snprintf(out, LINUX_CMDLINE_MAX, "%s", user ? user : "");
    if (!vm->pvm_host)
        return 0;
    size_t user_len = strlen(out);
    if (pvm_linux_cmdline(out, LINUX_CMDLINE_MAX, tsc_khz) < 0) {
        hv_error("--cmdline leaves no room for the options Linux needs on this PVM host");
        return -1;
    }
    hv_notice("PVM host: adding to Linux's command line: %.*s",
            (int)(strlen(out) - user_len - (user_len > 0)), out);
    return 0;
}

/* Guest RAM below the initrd that a kernel and its program need at least. */
#define MIN_RAM_BELOW_INITRD (16ull << 20)

/* Copy bytes to the top of RAM, starting on a SYMHV_INITRD_ALIGN boundary. */
static int put_on_top(struct vm *vm, uint64_t low, const uint8_t *bytes, size_t size,
                      const char *what, uint64_t *addr)
{
    uint64_t at = size <= vm->mem.bytes ? (vm->mem.bytes - size) & ~(SYMHV_INITRD_ALIGN - 1) : 0;
    if (size > vm->mem.bytes || at < low + MIN_RAM_BELOW_INITRD) {
        hv_error("%s (%zu KiB) does not fit in guest RAM beside the kernel: give more --mem",
                 what, size >> 10);
        return -1;
    }
    memcpy(vm->mem.ram + at, bytes, size);
    *addr = at;
    return 0;
}

/* The initrd: a payload as it is, or (a program named, or a cpio initrd for symhv's
 * kernel) the launch image that holds the program and its files. */
static int place_initrd(struct vm *vm, const struct boot_config *cfg, uint64_t kernel_end,
                        struct symhv_boot_info *info, struct boot_info *out)
{
    char err[512];
    size_t size = 0;
    uint8_t *initrd = NULL;
    uint64_t room = vm->mem.bytes > kernel_end + MIN_RAM_BELOW_INITRD
                        ? vm->mem.bytes - kernel_end - MIN_RAM_BELOW_INITRD : 0;
    if (cfg->initrd_path) {
        initrd = read_file(cfg->initrd_path, room, &size, err, sizeof err);
        if (!initrd) {
            hv_error("initrd %s: %s", cfg->initrd_path, err);
            return -1;
        }
    }
    /* a PVH kernel (Linux) takes its initramfs as it is */
    bool archive = initrd && cpio_is_newc(initrd, size) && !out->pvh_entry;
    const struct launch_config *lc = &cfg->launch;
    if (!lc->program && !archive) {
        if (lc->nsources || lc->nenv) {
            free(initrd);
            hv_error("--sym-file, --sym-stdin, --sym-arg and --env need a program: symhv run "
                     "[OPTIONS] -- PROGRAM [ARGS] (or a cpio --initrd with /init)");
            return -1;
        }
        int rc = 0;
        if (initrd) {
            rc = put_on_top(vm, kernel_end, initrd, size, cfg->initrd_path, &info->initrd_addr);
            info->initrd_size = size;
        }
        free(initrd);
        return rc;
    }
    free(initrd); /* the launch image reads the archive itself */
    if (out->pvh_entry) {
        hv_error("a program to start needs symhv's kernel (this one boots through PVH: give it "
                 "an initramfs with --initrd and no program)");
        return -1;
    }
    struct launch_config with_archive = *lc;
    const char *archives[1] = { cfg->initrd_path };
    if (cfg->initrd_path) {
        with_archive.archives = archives;
        with_archive.narchives = 1;
    }
    with_archive.max_bytes = room;
    with_archive.ncpus = vm->ncpus;
    struct launch_image img;
    if (launch_build(&with_archive, &img, err, sizeof err) < 0) {
        hv_error("%s", err);
        return -1;
    }
    int rc = put_on_top(vm, kernel_end, img.bytes, img.len, "the program and its files",
                        &info->initrd_addr);
    info->initrd_size = img.len;
    info->launch_addr = info->initrd_addr;
    info->launch_size = img.len;
    out->launched = rc == 0;
    launch_image_free(&img);
    return rc;
}

static void flat_segment(struct kvm_segment *s, uint16_t selector, uint8_t type, int code)
{
    memset(s, 0, sizeof *s);
    s->base = 0;
    s->limit = 0xffffffff;
    s->selector = selector;
    s->type = type;
    s->present = 1;
    s->s = 1;
    s->g = 1;
    s->l = code ? 1 : 0;
    s->db = code ? 0 : 1;
}

static int setup_vcpu(struct vcpu *v, uint64_t entry)
{
    struct kvm_sregs sregs;
    if (ioctl(v->fd, KVM_GET_SREGS, &sregs) < 0) {
        hv_error_errno("vCPU %u: KVM_GET_SREGS failed", v->index);
        return -1;
    }
    flat_segment(&sregs.cs, SYMHV_BOOT_CS, 0xb, 1);
    flat_segment(&sregs.ds, SYMHV_BOOT_DS, 0x3, 0);
    sregs.es = sregs.fs = sregs.gs = sregs.ss = sregs.ds;
    sregs.gdt.base = SYMHV_BOOT_GDT_ADDR;
    sregs.gdt.limit = 3 * 8 - 1;
    sregs.idt.base = 0;
    sregs.idt.limit = 0;
    sregs.cr0 = CR0_PE | CR0_MP | CR0_ET | CR0_NE | CR0_WP | CR0_PG;
    sregs.cr3 = SYMHV_BOOT_PML4_ADDR;
    sregs.cr4 = CR4_PAE | CR4_OSFXSR | CR4_OSXMMEXCPT;
    sregs.efer = EFER_SCE | EFER_LME | EFER_LMA | EFER_NXE;
    if (ioctl(v->fd, KVM_SET_SREGS, &sregs) < 0) {
        hv_error_errno("vCPU %u: KVM_SET_SREGS (long mode) failed", v->index);
        return -1;
    }

    struct kvm_regs regs;
    memset(&regs, 0, sizeof regs);
    regs.rip = entry;
    regs.rdi = SYMHV_BOOT_INFO_ADDR;
    regs.rsi = v->index;
    regs.rsp = SYMHV_STACKS_ADDR + (uint64_t)(v->index + 1) * SYMHV_STACK_SIZE;
    regs.rflags = 0x2;
    if (ioctl(v->fd, KVM_SET_REGS, &regs) < 0) {
        hv_error_errno("vCPU %u: KVM_SET_REGS failed", v->index);
        return -1;
    }

    struct kvm_fpu fpu;
    memset(&fpu, 0, sizeof fpu);
    fpu.fcw = 0x37f;
    fpu.mxcsr = 0x1f80;
    if (ioctl(v->fd, KVM_SET_FPU, &fpu) < 0) {
        hv_error_errno("vCPU %u: KVM_SET_FPU failed", v->index);
        return -1;
    }

    /* With an in-kernel irqchip KVM parks every vCPU but 0 in wait-for-SIPI; we set
     * each vCPU's state ourselves, so all of them start runnable. */
    struct kvm_mp_state mp = { .mp_state = KVM_MP_STATE_RUNNABLE };
    if (ioctl(v->fd, KVM_SET_MP_STATE, &mp) < 0) {
        hv_error_errno("vCPU %u: KVM_SET_MP_STATE failed", v->index);
        return -1;
    }
    return 0;
}

/* The boot CPU of a Linux boot protocol (the others wait for INIT/SIPI): flat segments
 * with these selectors, this mode, these registers. */
struct boot_cpu {
    uint16_t cs, ds;
    bool long_mode;    /* else 32-bit protected mode, paging off */
    struct kvm_regs regs;
};

static int setup_boot_cpu(struct vcpu *v, const struct boot_cpu *b)
{
    if (v->index != 0)
        return 0; /* waits in KVM for the kernel's INIT/SIPI */
    struct kvm_sregs sregs;
    if (ioctl(v->fd, KVM_GET_SREGS, &sregs) < 0) {
        hv_error_errno("vCPU %u: KVM_GET_SREGS failed", v->index);
        return -1;
    }
    flat_segment(&sregs.cs, b->cs, 0xb, 1);
    if (!b->long_mode) {
        sregs.cs.l = 0; /* 32-bit code */
        sregs.cs.db = 1;
    }
    flat_segment(&sregs.ds, b->ds, 0x3, 0);
    sregs.es = sregs.fs = sregs.gs = sregs.ss = sregs.ds;
    sregs.gdt.base = SYMHV_BOOT_GDT_ADDR;
    sregs.gdt.limit = 4 * 8 - 1;
    sregs.cr0 = CR0_PE | CR0_ET | (b->long_mode ? CR0_NE | CR0_PG : 0);
    sregs.cr3 = b->long_mode ? SYMHV_BOOT_PML4_ADDR : 0;
    sregs.cr4 = b->long_mode ? CR4_PAE : 0;
    sregs.efer = b->long_mode ? EFER_LME | EFER_LMA : 0;
    if (ioctl(v->fd, KVM_SET_SREGS, &sregs) < 0) {
        hv_error_errno("vCPU %u: KVM_SET_SREGS (%s) failed", v->index,
                       b->long_mode ? "long mode" : "32-bit protected mode");
        return -1;
    }
    if (ioctl(v->fd, KVM_SET_REGS, &b->regs) < 0) {
        hv_error_errno("vCPU %u: KVM_SET_REGS failed", v->index);
        return -1;
    }
    return 0;
}

/* ---- bzImage (bzimage.h) ---- */

#define BZ_PARAMS_ADDR 0x10000ull  /* the zero page, in low RAM */
#define BZ_CMDLINE_ADDR 0x11000ull
#define BZ_CS 0x10                 /* the boot protocol's __BOOT_CS and __BOOT_DS */
#define BZ_DS 0x18

static int boot_bzimage(struct vm *vm, const struct boot_config *cfg, const uint8_t *file,
                        size_t size, unsigned tsc_khz, struct boot_info *out)
{
    char err[256];
    struct bzimage bz;
    if (bzimage_parse(file, size, vm->mem.bytes, &bz, err, sizeof err) < 0) {
        hv_error("kernel %s: %s", cfg->kernel_path, err);
        return -1;
    }
    if (cfg->launch.program || cfg->launch.nsources || cfg->launch.nenv) {
        hv_error("a program to start needs symhv's kernel (a bzImage takes an initramfs with "
                 "--initrd and no program)");
        return -1;
    }
    memcpy(vm->mem.ram + bz.load_addr, file + bz.kernel_offset, bz.kernel_size);
    char cmdline[LINUX_CMDLINE_MAX];
    if (linux_cmdline(vm, cfg->cmdline, tsc_khz, cmdline) < 0)
        return -1;
    if (bz.cmdline_max && strlen(cmdline) > bz.cmdline_max) {
        hv_error("the command line (%zu bytes) is longer than this kernel takes (%u)",
                 strlen(cmdline), bz.cmdline_max);
        return -1;
    }
    memcpy(vm->mem.ram + BZ_CMDLINE_ADDR, cmdline, strlen(cmdline) + 1);

    uint64_t kernel_end = bz.load_addr + bz.init_size;
    if (cfg->initrd_path) {
        /* as high as the kernel allows, above what it needs while it decompresses */
        uint64_t top = vm->mem.bytes < (uint64_t)bz.initrd_addr_max + 1 ? vm->mem.bytes
                                                                       : (uint64_t)bz.initrd_addr_max + 1;
        uint64_t room = top > kernel_end ? top - kernel_end : 0;
        size_t isize;
        uint8_t *initrd = read_file(cfg->initrd_path, room, &isize, err, sizeof err);
        if (!initrd) {
            hv_error("initrd %s: %s (room for %llu KiB above the kernel)", cfg->initrd_path, err,
                     (unsigned long long)(room >> 10));
            return -1;
        }
        uint64_t at = (top - isize) & ~(SYMHV_INITRD_ALIGN - 1);
        if (at < kernel_end) {
            free(initrd);
            hv_error("initrd %s (%zu KiB) does not fit above the kernel: give more --mem",
                     cfg->initrd_path, isize >> 10);
            return -1;
        }
        memcpy(vm->mem.ram + at, initrd, isize);
        free(initrd);
        out->initrd_addr = at;
        out->initrd_size = isize;
    }
    const struct bz_e820 map[3] = {
        { 0, LOW_RAM_END, 1 },
        { LOW_RAM_END, 0x100000 - LOW_RAM_END, 2 },
        { 0x100000, vm->mem.bytes - 0x100000, 1 },
    };
    bzimage_boot_params(vm->mem.ram + BZ_PARAMS_ADDR, file, BZ_CMDLINE_ADDR, out->initrd_addr,
                        out->initrd_size, map, 3);
    write_identity_map(vm);
    put64(vm, SYMHV_BOOT_GDT_ADDR + 0, 0);
    put64(vm, SYMHV_BOOT_GDT_ADDR + 8, 0);
    put64(vm, SYMHV_BOOT_GDT_ADDR + BZ_CS, 0x00af9b000000ffffull); /* 64-bit code */
    put64(vm, SYMHV_BOOT_GDT_ADDR + BZ_DS, 0x00cf93000000ffffull); /* data */
    out->entry = bz.load_addr + 0x200; /* startup_64 */
    out->is_linux = true;
    hv_info("kernel is a bzImage (boot protocol %u.%02u): loaded at 0x%llx, entry 0x%llx",
            bz.version >> 8, bz.version & 0xff, (unsigned long long)bz.load_addr,
            (unsigned long long)out->entry);
    const struct boot_cpu cpu = { BZ_CS, BZ_DS, true,
                                  { .rip = out->entry, .rsi = BZ_PARAMS_ADDR, .rflags = 0x2 } };
    for (unsigned i = 0; i < vm->ncpus; i++)
        if (setup_boot_cpu(&vm->vcpus[i], &cpu) < 0)
            return -1;
    return 0;
}

int boot_load(struct vm *vm, const struct boot_config *cfg, struct boot_info *out)
{
    /* the TSC's rate: symhv's kernel gets it in its boot info, Linux on PVM hosts on its
     * command line */
    int khz = ioctl(vm->vcpus[0].fd, KVM_GET_TSC_KHZ, 0);
    if (khz <= 0) {
        hv_error_errno("KVM_GET_TSC_KHZ failed");
        return -1;
    }
    char err[256];
    size_t size;
    uint8_t *file = read_file(cfg->kernel_path, vm->mem.bytes, &size, err, sizeof err);
    if (!file) {
        hv_error("kernel %s: %s", cfg->kernel_path, err);
        return -1;
    }
    if (bzimage_detect(file, size)) {
        *out = (struct boot_info){ 0 };
        int rc = boot_bzimage(vm, cfg, file, size, (unsigned)khz, out);
        free(file);
        return rc;
    }
    struct elf_image img;
    int rc = elf_load(file, size, vm->mem.ram, vm->mem.bytes, SYMHV_KERNEL_MIN_ADDR, &img,
                      err, sizeof err);
    free(file);
    if (rc < 0) {
        hv_error("kernel %s: %s", cfg->kernel_path, err);
        return -1;
    }
    *out = (struct boot_info){ .entry = img.entry, .pvh_entry = img.pvh_entry,
                               .is_linux = img.pvh_entry != 0 };

    struct symhv_boot_info info = {
        .magic = SYMHV_BOOT_MAGIC,
        .version = SYMHV_BOOT_VERSION,
        .ncpus = vm->ncpus,
        .mem_bytes = vm->mem.bytes,
        .kernel_end = img.high,
        .apic_timer_hz = SYMHV_APIC_TIMER_HZ,
    };
    if (cfg->cmdline && !out->pvh_entry) { /* Linux's is checked by linux_cmdline */
        if (strlen(cfg->cmdline) >= sizeof info.cmdline) {
            hv_error("--cmdline is longer than %zu bytes", sizeof info.cmdline - 1);
            return -1;
        }
        strcpy(info.cmdline, cfg->cmdline);
    }
    info.tsc_khz = (uint64_t)khz;

    if (place_initrd(vm, cfg, page_ceil(img.high), &info, out) < 0)
        return -1;
    out->initrd_addr = info.initrd_addr;
    out->initrd_size = info.initrd_size;
    if (out->pvh_entry) {
        hv_info("kernel has a PVH entry at 0x%llx: booting it through PVH",
                (unsigned long long)out->pvh_entry);
        char cmdline[LINUX_CMDLINE_MAX];
        if (linux_cmdline(vm, cfg->cmdline, (unsigned)khz, cmdline) < 0)
            return -1;
        write_pvh_boot(vm, cmdline, info.initrd_addr, info.initrd_size);
    } else {
        write_symhv_boot(vm, &info);
    }
    const struct boot_cpu pvh = { PVH_CS, SYMHV_BOOT_DS, false,
                                  { .rip = out->pvh_entry, .rbx = PVH_START_INFO_ADDR, .rflags = 0x2 } };
    for (unsigned i = 0; i < vm->ncpus; i++)
        if ((out->pvh_entry ? setup_boot_cpu(&vm->vcpus[i], &pvh)
                            : setup_vcpu(&vm->vcpus[i], out->entry)) < 0)
            return -1;
    return 0;
}
