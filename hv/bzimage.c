#include "bzimage.h"

#include <string.h>

#include "util.h"

/* Offsets in the file's first sector and in the zero page (the setup header sits at
 * the same offset in both). */
enum {
    OFF_E820_ENTRIES = 0x1e8, OFF_SETUP_SECTS = 0x1f1, OFF_VID_MODE = 0x1fa,
    OFF_BOOT_FLAG = 0x1fe, OFF_JUMP = 0x200, OFF_HEADER = 0x202, OFF_VERSION = 0x206,
    OFF_TYPE_OF_LOADER = 0x210, OFF_LOADFLAGS = 0x211, OFF_RAMDISK_IMAGE = 0x218,
    OFF_RAMDISK_SIZE = 0x21c, OFF_CMD_LINE_PTR = 0x228, OFF_INITRD_ADDR_MAX = 0x22c,
    OFF_XLOADFLAGS = 0x236, OFF_CMDLINE_SIZE = 0x238, OFF_PREF_ADDRESS = 0x258,
    OFF_INIT_SIZE = 0x260, OFF_HEADER_LIMIT = 0x290, OFF_E820_TABLE = 0x2d0,
};
#define BZ_MAGIC 0x53726448u /* "HdrS" */
#define BZ_BOOT_FLAG 0xaa55u
#define XLF_KERNEL_64 0x1
#define LOADED_HIGH 0x1
#define E820_MAX 128
#define MIN_LOAD_ADDR 0x100000ull

static uint16_t get16(const uint8_t *p) { uint16_t v; memcpy(&v, p, 2); return v; }
static uint32_t get32(const uint8_t *p) { uint32_t v; memcpy(&v, p, 4); return v; }
static uint64_t get64(const uint8_t *p) { uint64_t v; memcpy(&v, p, 8); return v; }
static void put16(uint8_t *p, uint16_t v) { memcpy(p, &v, 2); }
static void put32(uint8_t *p, uint32_t v) { memcpy(p, &v, 4); }
static void put64(uint8_t *p, uint64_t v) { memcpy(p, &v, 8); }


int bzimage_detect(const uint8_t *file, size_t size)
{
    return size >= OFF_HEADER + 4 && get16(file + OFF_BOOT_FLAG) == BZ_BOOT_FLAG &&
           get32(file + OFF_HEADER) == BZ_MAGIC;
}

int bzimage_parse(const uint8_t *file, size_t size, uint64_t ram_bytes, struct bzimage *out,
                  char *err, size_t err_size)
{
    memset(out, 0, sizeof *out);
    if (!bzimage_detect(file, size))
        return err_printf(err, err_size, "not a bzImage (no boot flag and \"HdrS\" at 0x1fe/0x202)");
    if (size < OFF_INIT_SIZE + 4)
        return err_printf(err, err_size, "bzImage truncated inside its setup header (%zu bytes)", size);
    out->version = get16(file + OFF_VERSION);
    if (out->version < BZ_MIN_VERSION || !(get16(file + OFF_XLOADFLAGS) & XLF_KERNEL_64))
        return err_printf(err, err_size, "bzImage boot protocol %u.%02u without a 64-bit entry "
                    "(symhv needs 2.12 and XLF_KERNEL_64: a 64-bit kernel)",
                    out->version >> 8, out->version & 0xff);
    if (!(file[OFF_LOADFLAGS] & LOADED_HIGH))
        return err_printf(err, err_size, "bzImage is a zImage (loads low): not supported");
    size_t header_end = OFF_JUMP + 2 + file[OFF_JUMP + 1];
    if (header_end > OFF_HEADER_LIMIT || header_end > size)
        return err_printf(err, err_size, "bzImage setup header ends at 0x%zx, past 0x%x where the "
                    "zero page's next fields begin", header_end, OFF_HEADER_LIMIT);
    unsigned sects = file[OFF_SETUP_SECTS] ? file[OFF_SETUP_SECTS] : 4;
    out->kernel_offset = (size_t)(sects + 1) * 512;
    if (out->kernel_offset >= size)
        return err_printf(err, err_size, "bzImage truncated: %zu bytes, its kernel starts at 0x%zx",
                    size, out->kernel_offset);
    out->kernel_size = size - out->kernel_offset;
    out->load_addr = get64(file + OFF_PREF_ADDRESS);
    out->init_size = get32(file + OFF_INIT_SIZE);
    if (out->init_size < out->kernel_size)
        out->init_size = out->kernel_size;
    out->cmdline_max = get32(file + OFF_CMDLINE_SIZE);
    out->initrd_addr_max = get32(file + OFF_INITRD_ADDR_MAX);
    if (out->load_addr < MIN_LOAD_ADDR || out->load_addr & 0xfff)
        return err_printf(err, err_size, "bzImage wants to load at 0x%llx (not a page at or above 1 MiB)",
                    (unsigned long long)out->load_addr);
    uint64_t end; /* the 64-bit pref_address plus init_size can wrap */
    if (__builtin_add_overflow(out->load_addr, out->init_size, &end))
        return err_printf(err, err_size, "bzImage wants to load at 0x%llx and %llu bytes from "
                    "there: past the end of the 64-bit address space",
                    (unsigned long long)out->load_addr, (unsigned long long)out->init_size);
    if (end > ram_bytes)
        return err_printf(err, err_size, "bzImage needs RAM up to 0x%llx: give more --mem",
                    (unsigned long long)end);
    return 0;
}

void bzimage_boot_params(uint8_t params[BZ_BOOT_PARAMS_SIZE], const uint8_t *file,
                         uint64_t cmdline_addr, uint64_t initrd_addr, uint64_t initrd_size,
                         const struct bz_e820 *map, unsigned nmap)
{
    memset(params, 0, BZ_BOOT_PARAMS_SIZE);
    size_t header_end = OFF_JUMP + 2 + file[OFF_JUMP + 1]; /* checked by bzimage_parse */
    memcpy(params + OFF_SETUP_SECTS, file + OFF_SETUP_SECTS, header_end - OFF_SETUP_SECTS);
    put16(params + OFF_VID_MODE, 0xffff); /* "normal" */
    params[OFF_TYPE_OF_LOADER] = 0xff;    /* a loader without an assigned id */
    put32(params + OFF_CMD_LINE_PTR, (uint32_t)cmdline_addr);
    put32(params + OFF_RAMDISK_IMAGE, (uint32_t)initrd_addr);
    put32(params + OFF_RAMDISK_SIZE, (uint32_t)initrd_size);
    if (nmap > E820_MAX)
        nmap = E820_MAX;
    params[OFF_E820_ENTRIES] = (uint8_t)nmap;
    for (unsigned i = 0; i < nmap; i++) {
        uint8_t *e = params + OFF_E820_TABLE + 20 * i;
        put64(e, map[i].addr);
        put64(e + 8, map[i].size);
        put32(e + 16, map[i].type);
    }
}
