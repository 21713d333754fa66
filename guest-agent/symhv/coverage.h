/* The coverage map a fuzz target fills (guest/lib/coverage.c for programs built with
 * scripts/symhv-build-fuzzer) and hands to symhv_fuzz_start. */
#ifndef SYMHV_COVERAGE_H
#define SYMHV_COVERAGE_H

#include <stdint.h>

#define SYMHV_COVERAGE_MAP_SIZE 65536 /* a power of two */

extern uint8_t symhv_coverage_map[SYMHV_COVERAGE_MAP_SIZE];

#endif
