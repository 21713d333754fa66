/* The libFuzzer-style driver that `symhv-cc -fsanitize=fuzzer` links: main() for a
 * target's LLVMFuzzerTestOneInput (and LLVMFuzzerInitialize), an ordinary static Linux
 * program.
 *  - Under symhv (symhv's kernel sets SYMHV_GUEST=1 in the environment): symhv_fuzz_start
 *    takes the snapshot here, with the input buffer, the coverage map and the compare
 *    log; each execution runs the target once and ends in symhv_fuzz_end. Under
 *    `symhv run`/`replay` the same calls run it once on the given input.
 *  - Natively (a crash file to look at in gdb, a corpus to check): as a libFuzzer binary
 *    given files, it runs the target on each file and on each file of each directory
 *    named (stdin when none), and ignores libFuzzer's -flag=value options, saying so. */
#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "read_all.h"
#include "symhv/abi.h"
#include "symhv/agent.h"
#include "symhv/coverage.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
__attribute__((weak)) int LLVMFuzzerInitialize(int *argc, char ***argv);

#define FUZZER_MAX_INPUT (1u << 20) /* symhv's longest input */

static uint8_t input[FUZZER_MAX_INPUT] __attribute__((aligned(4096)));
/* The input's length as symhv writes it: a page of its own, since it traps in a
 * concolic run (symhv_fuzz_length in symhv/agent.h) */
static union {
    volatile struct symhv_fuzz_length l;
    uint8_t page[4096];
} input_length __attribute__((aligned(4096)));

/* -max_len=N as libFuzzer takes it: symhv's inputs stay that short */
static size_t max_len_option(int argc, char **argv)
{
    size_t max_len = FUZZER_MAX_INPUT;
    for (int i = 1; i < argc; i++) {
        if (strncmp(argv[i], "-max_len=", 9) != 0)
            continue;
        char *end;
        unsigned long n = strtoul(argv[i] + 9, &end, 10);
        if (*end || n == 0 || n > FUZZER_MAX_INPUT) {
            fprintf(stderr, "fuzzer: %s: expected 1 to %u\n", argv[i], FUZZER_MAX_INPUT);
            exit(2);
        }
        max_len = n;
    }
    return max_len;
}

static int under_symhv(int argc, char **argv)
{
    size_t max_len = max_len_option(argc, argv);
    long n = symhv_fuzz_start_driver(input, max_len, symhv_coverage_map,
                                     sizeof symhv_coverage_map, &symhv_cmplog,
                                     sizeof symhv_cmplog, &input_length.l);
    if (n < 0) {
        fprintf(stderr, "fuzzer: symhv_fuzz_start failed (%ld)\n", n);
        return 1;
    }
    size_t size = (size_t)n;
    LLVMFuzzerTestOneInput(input, size); /* its result is libFuzzer's "keep it?": no crash */
    symhv_fuzz_end(0);
    return 0;
}

/* Run the target on one file's bytes, in a buffer of exactly their size (as libFuzzer). */
static int run_file(const char *path)
{
    FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "fuzzer: %s: %s\n", path, strerror(errno));
        return -1;
    }
    size_t len;
    uint8_t *buf = symhv_read_all(f, &len);
    if (f != stdin)
        fclose(f);
    if (!buf) {
        fprintf(stderr, "fuzzer: %s: cannot read it (a read error, or out of memory)\n", path);
        return -1;
    }
    uint8_t *exact = malloc(len ? len : 1);
    if (!exact) {
        free(buf);
        return -1;
    }
    memcpy(exact, buf, len);
    free(buf);
    fprintf(stderr, "Running: %s\n", path);
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    LLVMFuzzerTestOneInput(exact, len);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    fprintf(stderr, "Executed %s in %ld ms\n", path,
            (long)((t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000));
    free(exact);
    return 0;
}

static int natively(int argc, char **argv)
{
    int ran = 0, failed = 0;
    for (int i = 1; i < argc; i++) {
        if (argv[i][0] == '-' && argv[i][1]) {
            fprintf(stderr, "fuzzer: %s ignored: this driver only runs inputs (symhv fuzz "
                            "does the fuzzing)\n", argv[i]);
            continue;
        }
        struct stat st;
        if (stat(argv[i], &st) == 0 && S_ISDIR(st.st_mode)) {
            DIR *d = opendir(argv[i]);
            if (!d) {
                fprintf(stderr, "fuzzer: %s: %s\n", argv[i], strerror(errno));
                failed++;
                continue;
            }
            for (struct dirent *e; (e = readdir(d));) {
                char path[4096];
                struct stat fst;
                if (snprintf(path, sizeof path, "%s/%s", argv[i], e->d_name) >= (int)sizeof path ||
                    stat(path, &fst) != 0 || !S_ISREG(fst.st_mode))
                    continue;
                failed += run_file(path) < 0;
                ran++;
            }
            closedir(d);
        } else {
            failed += run_file(argv[i]) < 0;
            ran++;
        }
    }
    if (!ran && !failed) {
        fprintf(stderr, "fuzzer: no input files: reading stdin\n");
        failed += run_file("-") < 0;
        ran++;
    }
    fprintf(stderr, "fuzzer: %d inputs run%s\n", ran - failed, failed ? ", some unreadable" : "");
    return failed ? 1 : 0;
}

int main(int argc, char **argv)
{
    if (LLVMFuzzerInitialize)
        LLVMFuzzerInitialize(&argc, &argv);
    const char *symhv = getenv("SYMHV_GUEST");
    if (symhv && strcmp(symhv, "1") == 0)
        return under_symhv(argc, argv);
    return natively(argc, argv);
}
