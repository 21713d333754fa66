/* The coverage map a fuzz target fills (guest/lib/coverage.c for programs built with
 * scripts/symhv-build-fuzzer) and hands to symhv_fuzz_start. */
#ifndef SYMHV_COVERAGE_H
#define SYMHV_COVERAGE_H

#include <stdint.h>

#define SYMHV_COVERAGE_MAP_SIZE 65536 /* a power of two */

extern uint8_t symhv_coverage_map[SYMHV_COVERAGE_MAP_SIZE];

/* The compare log: the operands of the target's comparisons in one execution (the
 * first SYMHV_CMPLOG_ENTRIES with different operands), filled by the
 * -fsanitize-coverage=trace-cmp hooks and the runtime's memcmp/strcmp. */
#define SYMHV_CMPLOG_ENTRIES 512
#define SYMHV_CMPLOG_BYTES 32 /* operand bytes kept per entry (memory compares) */
struct symhv_cmplog_entry {
    uint8_t size;             /* bytes of b: 1, 2, 4, 8 (numbers), up to 32 (memory) */
    uint8_t a_len;            /* bytes of a that count (numbers: size; strings: its length) */
    uint8_t pad[6];
    uint8_t a[SYMHV_CMPLOG_BYTES], b[SYMHV_CMPLOG_BYTES];
};
struct symhv_cmplog {
    uint32_t count;           /* entries written (at most SYMHV_CMPLOG_ENTRIES) */
    uint32_t pad;
    struct symhv_cmplog_entry entries[SYMHV_CMPLOG_ENTRIES];
};
extern struct symhv_cmplog symhv_cmplog;
void symhv_cmplog_strings(const void *a, unsigned long a_len, const void *b, unsigned long n);

#endif
