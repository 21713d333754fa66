/* Guest page size and per-byte page bitmaps, for every part (VMM, sidecar, engine,
 * guest code). Freestanding: fixed-width types only. */
#ifndef SYMHV_PAGE_H
#define SYMHV_PAGE_H

#include <stdint.h>

#define SYMHV_PAGE_SIZE 4096ull
#define SYMHV_PAGE_MASK (SYMHV_PAGE_SIZE - 1)
/* 64-bit words of a bitmap with one bit per byte of a page */
#define SYMHV_PAGE_WORDS (SYMHV_PAGE_SIZE / 64)

static inline uint64_t page_floor(uint64_t addr) { return addr & ~SYMHV_PAGE_MASK; }
static inline uint64_t page_offset(uint64_t addr) { return addr & SYMHV_PAGE_MASK; }
static inline uint64_t page_ceil(uint64_t addr) { return page_floor(addr + SYMHV_PAGE_MASK); }
/* Bytes from addr to the end of its page. */
static inline uint64_t page_left(uint64_t addr) { return SYMHV_PAGE_SIZE - page_offset(addr); }

#endif
