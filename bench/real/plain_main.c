/* scripts/bench-real's third build: the OSS-Fuzz harness as a program with no
 * instrumentation and no symhv call, built with plain gcc/g++ -static, as a binary without
 * source reaches a user. It runs LLVMFuzzerTestOneInput once on the file its one argument
 * names; symhv fuzz gives it binary-only coverage (one-shot breakpoints). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* valid C and C++ (the harnesses are C++: the script compiles this with them) */
#ifdef __cplusplus
extern "C" {
#endif
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
__attribute__((weak)) int LLVMFuzzerInitialize(int *argc, char ***argv);
#ifdef __cplusplus
}
#endif

#define PLAIN_MAX_INPUT (1u << 20) /* symhv's longest input */

static uint8_t input[PLAIN_MAX_INPUT];

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: %s FILE\n", argv[0]);
        return 2;
    }
    if (LLVMFuzzerInitialize)
        LLVMFuzzerInitialize(&argc, &argv);
    FILE *f = fopen(argv[1], "rb");
    if (!f) {
        perror(argv[1]);
        return 2;
    }
    size_t n = fread(input, 1, sizeof input, f);
    if (ferror(f)) {
        perror(argv[1]);
        return 2;
    }
    fclose(f);
    /* a copy of exactly n bytes, so that a read past the input's end is one past a
     * malloc'ed block, as under libFuzzer */
    uint8_t *data = (uint8_t *)malloc(n ? n : 1);
    if (!data) {
        fprintf(stderr, "%s: out of memory\n", argv[0]);
        return 2;
    }
    memcpy(data, input, n);
    LLVMFuzzerTestOneInput(data, n);
    free(data);
    return 0;
}
