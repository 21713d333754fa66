/* The program's address space: [USER_AREA_START, kernel.user_top) of the identity map, always
 * present and writable. mmap and brk only hand out address ranges, so nothing here
 * touches a page table and no access ever page-faults; the price is that protection
 * inside user memory is not enforced (mprotect is accepted and does nothing, PROT_NONE
 * guard pages do not fault, unmapped ranges inside the area stay readable). Fresh RAM
 * is zero, and every range given back (munmap, MADV_DONTNEED, a shrinking brk) is zeroed
 * then, so a new mapping always reads zero. Layout:
 *
 *   USER_AREA_START .. image .. brk ->        <- mmap | main stack (8 MiB) | kernel.user_top
 *
 * All under the big kernel lock. */
#include "kernel.h"
#include "linux_mm.h"
#include "linux_abi.h"

#define MAX_RANGES 2048
#define PAGE 4096ull

struct range { uint64_t start, end; };

/* The mapped ranges (the image, mmaps), sorted, disjoint; brk is apart. */
static struct range ranges[MAX_RANGES];
static unsigned nranges;
static uint64_t brk_start, brk_cur, mmap_top;

static uint64_t page_up(uint64_t a) { return (a + PAGE - 1) & ~(PAGE - 1); }

void mm_init(uint64_t image_start, uint64_t image_end)
{
    ranges[0] = (struct range){ image_start, image_end };
    nranges = 1;
    brk_start = brk_cur = image_end;
    mmap_top = kernel.user_top - MAIN_STACK_BYTES - 16 * PAGE; /* a gap below the stack */
}

/* Is [a, b) free of mapped ranges? */
static bool range_free(uint64_t a, uint64_t b)
{
    for (unsigned i = 0; i < nranges; i++)
        if (ranges[i].start < b && a < ranges[i].end)
            return false;
    return true;
}

static int insert_range(uint64_t a, uint64_t b)
{
    if (nranges == MAX_RANGES)
        return -LX_ENOMEM;
    unsigned i = 0;
    while (i < nranges && ranges[i].start < a)
        i++;
    memmove(&ranges[i + 1], &ranges[i], (nranges - i) * sizeof ranges[0]);
    ranges[i] = (struct range){ a, b };
    nranges++;
    /* merge with touching neighbours */
    if (i + 1 < nranges && ranges[i].end == ranges[i + 1].start) {
        ranges[i].end = ranges[i + 1].end;
        memmove(&ranges[i + 1], &ranges[i + 2], (nranges - i - 2) * sizeof ranges[0]);
        nranges--;
    }
    if (i > 0 && ranges[i - 1].end == ranges[i].start) {
        ranges[i - 1].end = ranges[i].end;
        memmove(&ranges[i], &ranges[i + 1], (nranges - i - 1) * sizeof ranges[0]);
        nranges--;
    }
    return 0;
}

/* Take [a, b) out of the mapped ranges and zero what was mapped there. */
static int remove_range(uint64_t a, uint64_t b)
{
    for (unsigned i = 0; i < nranges;) {
        struct range *r = &ranges[i];
        if (r->end <= a || b <= r->start) {
            i++;
            continue;
        }
        uint64_t lo = r->start > a ? r->start : a, hi = r->end < b ? r->end : b;
        kzero(lo, hi - lo);
        if (r->start < a && b < r->end) { /* a hole in the middle: split */
            if (nranges == MAX_RANGES)
                return -LX_ENOMEM;
            memmove(&ranges[i + 2], &ranges[i + 1], (nranges - i - 1) * sizeof ranges[0]);
            ranges[i + 1] = (struct range){ b, r->end };
            r->end = a;
            nranges++;
            return 0;
        }
        if (r->start < a) {
            r->end = a;
            i++;
        } else if (b < r->end) {
            r->start = b;
            i++;
        } else {
            memmove(&ranges[i], &ranges[i + 1], (nranges - i - 1) * sizeof ranges[0]);
            nranges--;
        }
    }
    return 0;
}

/* The highest free [a, a+len) below mmap_top and above the break, or 0. */
static uint64_t find_gap(uint64_t len)
{
    uint64_t floor = page_up(brk_cur) + 16 * PAGE, top = mmap_top;
    for (unsigned i = nranges; i-- > 0;) {
        if (ranges[i].start >= top)
            continue;
        if (ranges[i].end <= top && top - ranges[i].end >= len && top - len >= floor)
            return top - len;
        top = ranges[i].start < top ? ranges[i].start : top;
    }
    return top >= floor && top - floor >= len ? top - len : 0;
}

int64_t mm_brk(uint64_t addr)
{
    if (addr < brk_start || addr > mmap_top) /* beyond: page_up would wrap past 2^64 */
        return (int64_t)brk_cur;
    uint64_t old_end = page_up(brk_cur), new_end = page_up(addr);
    if (new_end > old_end) {
        if (new_end > mmap_top || !range_free(old_end, new_end))
            return (int64_t)brk_cur; /* Linux: the break stays */
    } else if (new_end < old_end) {
        kzero(new_end, old_end - new_end);
    }
    brk_cur = addr;
    return (int64_t)brk_cur;
}

int64_t mm_mmap(uint64_t addr, uint64_t len, uint64_t prot, uint64_t flags, int fd,
                uint64_t off)
{
    if (!len || (off & (PAGE - 1)) || len > kernel.user_top)
        return -LX_EINVAL;
    len = page_up(len);
    bool anon = flags & LX_MAP_ANONYMOUS;
    uint64_t src = 0, avail = 0;
    bool symbolic = false;
    if (!anon) {
        int rc = fs_mmap_source(fd, off, &src, &avail, &symbolic);
        if (rc < 0)
            return rc;
        if ((flags & LX_MAP_SHARED) && (prot & LX_PROT_WRITE))
            return -LX_EACCES; /* the file system is read-only */
    }
    if (flags & (LX_MAP_FIXED | LX_MAP_FIXED_NOREPLACE)) {
        if ((addr & (PAGE - 1)) || !user_range_ok(addr, len) ||
            addr + len > kernel.user_top - MAIN_STACK_BYTES)
            return -LX_EINVAL;
        if (!range_free(addr, addr + len)) {
            if (flags & LX_MAP_FIXED_NOREPLACE)
                return -LX_EEXIST;
            int rc = remove_range(addr, addr + len);
            if (rc < 0)
                return rc;
        }
    } else if (!(addr = find_gap(len))) {
        return -LX_ENOMEM;
    }
    int rc = insert_range(addr, addr + len);
    if (rc < 0)
        return rc;
    if (avail) { /* a file's bytes (a private copy: the file system is read-only) */
        uint64_t n = avail < len ? avail : len;
        if (symbolic)
            memcpy((void *)addr, (const void *)src, n); /* in the guest: stays symbolic */
        else
            kcopy(addr, src, n);
    }
    return (int64_t)addr;
}

int64_t mm_munmap(uint64_t addr, uint64_t len)
{
    if ((addr & (PAGE - 1)) || !len || len > kernel.user_top || !user_range_ok(addr, page_up(len)))
        return -LX_EINVAL;
    return remove_range(addr, addr + page_up(len));
}

int64_t mm_mremap(uint64_t old, uint64_t old_len, uint64_t new_len, uint64_t flags,
                  uint64_t new_addr)
{
    (void)new_addr;
    if ((old & (PAGE - 1)) || !new_len || (flags & LX_MREMAP_FIXED) || old_len > kernel.user_top ||
        new_len > kernel.user_top || !user_range_ok(old, page_up(old_len)))
        return -LX_EINVAL;
    old_len = page_up(old_len);
    new_len = page_up(new_len);
    if (new_len <= old_len) {
        if (new_len < old_len)
            remove_range(old + new_len, old + old_len);
        return (int64_t)old;
    }
    /* grow in place when the room after it is free */
    if (old + new_len <= mmap_top && range_free(old + old_len, old + new_len)) {
        int rc = insert_range(old + old_len, old + new_len);
        return rc < 0 ? rc : (int64_t)old;
    }
    if (!(flags & LX_MREMAP_MAYMOVE))
        return -LX_ENOMEM;
    uint64_t to = find_gap(new_len);
    if (!to)
        return -LX_ENOMEM;
    int rc = insert_range(to, to + new_len);
    if (rc < 0)
        return rc;
    kcopy(to, old, old_len);
    remove_range(old, old + old_len);
    return (int64_t)to;
}

int64_t mm_madvise(uint64_t addr, uint64_t len, uint64_t advice)
{
    if ((addr & (PAGE - 1)) || len > kernel.user_top) /* page_up must not wrap */
        return -LX_EINVAL;
    if (advice == LX_MADV_DONTNEED && len) { /* anonymous memory reads zero afterwards */
        if (!user_range_ok(addr, page_up(len)))
            return -LX_EINVAL;
        for (unsigned i = 0; i < nranges; i++) {
            uint64_t lo = ranges[i].start > addr ? ranges[i].start : addr;
            uint64_t hi = ranges[i].end < addr + len ? ranges[i].end : addr + page_up(len);
            if (lo < hi)
                kzero(lo, hi - lo);
        }
    }
    return 0;
}

/* ---- System V shared memory: the maps of an AFL++ build ------------------------------ */

/* An AFL++ build attaches the map afl-fuzz made (shmat of the id in __AFL_SHM_ID) before
 * main, a CMPLOG build also its compare map (__AFL_CMPLOG_SHM_ID); symhv_fuzz_start then
 * hands them to the VMM. There is one process, so a segment is plain memory; a second
 * attach could not share its pages and is refused. shmget (a segment of the program's
 * own) stays ENOSYS. */
struct afl_segment {
    uint64_t id, addr;
};
static struct afl_segment afl_segments[2] = { { SYMHV_AFL_SHM_ID, 0 },
                                              { SYMHV_AFL_CMPLOG_SHM_ID, 0 } };

/* The segment's size, 0 if this launch has no such segment. */
static uint64_t afl_segment_size(uint64_t id)
{
    if (!kernel.launch)
        return 0;
    if (id == SYMHV_AFL_SHM_ID)
        return kernel.launch->afl_map_size;
    if (id == SYMHV_AFL_CMPLOG_SHM_ID && (kernel.launch->flags & SYMHV_LAUNCH_AFL_CMPLOG))
        return SYMHV_AFL_CMP_MAP_BYTES;
    return 0;
}

static struct afl_segment *afl_segment(uint64_t id)
{
    for (unsigned i = 0; i < sizeof afl_segments / sizeof afl_segments[0]; i++)
        if (afl_segments[i].id == id && afl_segment_size(id))
            return &afl_segments[i];
    return NULL;
}

int64_t mm_shmat(uint64_t id, uint64_t addr)
{
    struct afl_segment *seg = afl_segment(id);
    if (!seg)
        return -LX_EINVAL;
    if (seg->addr) {
        knote("shmat: the AFL++ map %lu is attached already (one attach in this kernel)", id);
        return -LX_EINVAL;
    }
    int64_t at = mm_mmap(addr, afl_segment_size(id), LX_PROT_WRITE,
                         LX_MAP_PRIVATE | LX_MAP_ANONYMOUS | (addr ? LX_MAP_FIXED : 0), -1, 0);
    if (at >= 0)
        seg->addr = (uint64_t)at;
    return at;
}

int64_t mm_shmdt(uint64_t addr)
{
    for (unsigned i = 0; i < sizeof afl_segments / sizeof afl_segments[0]; i++) {
        struct afl_segment *seg = &afl_segments[i];
        if (addr && seg->addr == addr) {
            seg->addr = 0;
            return mm_munmap(addr, afl_segment_size(seg->id));
        }
    }
    return -LX_EINVAL;
}

int64_t mm_shmctl(uint64_t id, uint64_t cmd)
{
    if (!afl_segment(id))
        return -LX_EINVAL;
    return cmd == 0 /* IPC_RMID: gone with the process anyway */ ? 0 : -LX_EINVAL;
}

uint64_t mm_afl_map(uint64_t *size)
{
    *size = afl_segment_size(SYMHV_AFL_SHM_ID);
    return afl_segments[0].addr;
}

uint64_t mm_afl_cmp_map(void)
{
    return afl_segments[1].addr;
}
