/* Edge coverage for fuzz targets compiled with -fsanitize-coverage=trace-pc (GCC and
 * clang call this at every basic block): AFL's scheme, map[hash(prev) ^ hash(cur)]++.
 * The map's address goes to symhv_fuzz_start; symhv reads it after each execution. */
#include <stdint.h>

#include "symhv/coverage.h"

uint8_t symhv_coverage_map[SYMHV_COVERAGE_MAP_SIZE] __attribute__((aligned(4096)));
static uintptr_t previous_block; /* shared by threads: a race only blurs the edge */

void __sanitizer_cov_trace_pc(void)
{
    uintptr_t pc = (uintptr_t)__builtin_return_address(0);
    uintptr_t block = (pc ^ (pc >> 16)) * 0x9e3779b1u;
    symhv_coverage_map[(block ^ previous_block) & (SYMHV_COVERAGE_MAP_SIZE - 1)]++;
    previous_block = block >> 1;
}

/* ---- the compare log (-fsanitize-coverage=trace-cmp) ---------------------------------- */

struct symhv_cmplog symhv_cmplog __attribute__((aligned(4096)));

static void log_compare(const void *a, unsigned a_len, const void *b, unsigned size)
{
    uint32_t i = __atomic_fetch_add(&symhv_cmplog.count, 1, __ATOMIC_RELAXED);
    if (i >= SYMHV_CMPLOG_ENTRIES) {
        symhv_cmplog.count = SYMHV_CMPLOG_ENTRIES;
        return;
    }
    struct symhv_cmplog_entry *e = &symhv_cmplog.entries[i];
    if (size > SYMHV_CMPLOG_BYTES)
        size = SYMHV_CMPLOG_BYTES;
    if (a_len > SYMHV_CMPLOG_BYTES)
        a_len = SYMHV_CMPLOG_BYTES;
    for (unsigned k = 0; k < a_len; k++)
        e->a[k] = ((const uint8_t *)a)[k];
    for (unsigned k = 0; k < size; k++)
        e->b[k] = ((const uint8_t *)b)[k];
    e->a_len = (uint8_t)a_len;
    e->size = (uint8_t)size;
}

/* __sanitizer_cov_trace_cmpN: N is the operands' size in bytes. Every compare is logged,
 * equal operands too (symhv skips those): no branch on the operands here, since in a
 * concolic run it would be a symbolic branch of its own in front of each of the
 * program's compares, at one pc for all of them: its constraint made the real compare's
 * flip unsatisfiable, and the search, which prunes by pc, counted every compare of a
 * width as one. */
#define CMP_HOOK(bytes, type)                                                             \
    void __sanitizer_cov_trace_cmp##bytes(type a, type b)                                 \
    {                                                                                     \
        log_compare(&a, bytes, &b, bytes);                                                \
    }                                                                                     \
    void __sanitizer_cov_trace_const_cmp##bytes(type a, type b)                           \
    {                                                                                     \
        log_compare(&a, bytes, &b, bytes);                                                \
    }
CMP_HOOK(1, uint8_t)
CMP_HOOK(2, uint16_t)
CMP_HOOK(4, uint32_t)
CMP_HOOK(8, uint64_t)

/* gcc's float compares (trace-cmp): their bytes, as 4- and 8-byte operands */
void __sanitizer_cov_trace_cmpf(float a, float b) { log_compare(&a, 4, &b, 4); }
void __sanitizer_cov_trace_cmpd(double a, double b) { log_compare(&a, 8, &b, 8); }

void __sanitizer_cov_trace_switch(uint64_t val, uint64_t *cases)
{
    /* cases[0]: how many, cases[1]: the operand's width in bits, then the values */
    unsigned size = (unsigned)(cases[1] / 8);
    for (uint64_t i = 0; i < cases[0] && i < 16; i++)
        log_compare(&val, size ? size : 8, &cases[2 + i], size ? size : 8);
}

void __sanitizer_cov_trace_div4(uint32_t v) { (void)v; }
void __sanitizer_cov_trace_div8(uint64_t v) { (void)v; }
void __sanitizer_cov_trace_gep(uintptr_t v) { (void)v; }

void symhv_cmplog_strings(const void *a, unsigned long a_len, const void *b, unsigned long n)
{
    if (n > 1) /* one-byte compares come through trace-cmp */
        log_compare(a, (unsigned)(a_len < n ? a_len : n), b, (unsigned)n);
}
