/* The symhv command line. */
#ifndef HV_OPTIONS_H
#define HV_OPTIONS_H

#include <stdint.h>
#include <stdio.h>

#include "fuzzer.h"
#include "vm.h"

enum options_result { OPTIONS_RUN, OPTIONS_EXIT_OK, OPTIONS_ERROR };

struct options {
    struct vm_config vm;
    struct fuzz_config fuzz;   /* `symhv fuzz`: vm.fuzz points here */
    char concolic_dir[4096];   /* fuzzing: where concolic runs put their inputs */
    int verbose;
};

/* Parse argv into `opt`. OPTIONS_EXIT_OK after --help/--version (text already printed
 * to `out`); OPTIONS_ERROR after printing a one-line error to stderr. */
enum options_result options_parse(struct options *opt, int argc, char **argv, FILE *out);

/* "256M", "1G", "65536K", "512" (MiB when no suffix). Returns -1 on bad syntax. */
int parse_size(const char *text, uint64_t *bytes);

#endif
