/* The symhv command line. */
#ifndef HV_OPTIONS_H
#define HV_OPTIONS_H

#include <limits.h>
#include <stdint.h>
#include <stdio.h>

#include "boot.h"
#include "engine.h"
#include "fuzzer.h"
#include "races.h"
#include "vm.h"

enum options_result { OPTIONS_RUN, OPTIONS_EXIT_OK, OPTIONS_ERROR };

struct options {
    struct vm_config vm;       /* the machine */
    struct boot_config boot;   /* what it boots */
    struct engine_config engine;
    struct fuzz_config fuzz;
    struct races_config races; /* --races */
    bool has_order;            /* --schedule, or a replayed crash file's sched: field */
    struct fz_order order;
    bool fuzzing;              /* `symhv fuzz` */
    double timeout_s;          /* a plain run's --timeout (0: none) */
    int verbose;
    char input_names[ENGINE_MAX_PRESETS][SYMHV_INPUT_NAME_MAX + 1]; /* --input NAME=... */
    char fuzz_out_dir[PATH_MAX]; /* -o SYNC_DIR -M/-S NAME: SYNC_DIR/NAME */
    /* a program after `--` (boot.launch points here): its arguments with @@ replaced */
#define OPTIONS_MAX_ARGS 4096
#define OPTIONS_MAX_ENV 64
    const char *program_argv[OPTIONS_MAX_ARGS];
    uint64_t sym_args_size;      /* --sym-args MIN MAX N: N (0: not given) */
    const char *program_env[OPTIONS_MAX_ENV];
    char kernel_path[PATH_MAX];  /* the default kernel, when found */
    void *owned[2];              /* a replay's words read from a campaign (options_free) */
    const char *cmplog_program;  /* symhv fuzz -c: the CMPLOG build (-c 0: the program) */
    int cmplog_peer_fd;          /* in the -c peer: its socket to the campaign, else -1 */
};

/* The -c peer's options (cmplog_peer.h), from the campaign's: the CMPLOG build as the
 * program, with its compare map, its inputs from peer_fd, nothing written. */
void options_for_cmplog_peer(struct options *opt, int peer_fd);
/* Parse argv into `opt`. OPTIONS_EXIT_OK after --help/--version (text already printed
 * to `out`); OPTIONS_ERROR after printing a one-line error to stderr. */
enum options_result options_parse(struct options *opt, int argc, char **argv, FILE *out);
/* A campaign's record of its target (fuzzer_stats' symhv_target: percent-encoded words,
 * space-separated) split and decoded in place into words[0..max); returns how many. */
size_t options_target_words(char *record, char **words, size_t max);
/* What options_parse allocated (a replay's words from a campaign's fuzzer_stats). */
void options_free(struct options *opt);

/* "256M", "1G", "65536K", "512" (MiB when no suffix). Returns -1 on bad syntax. */
int parse_size(const char *text, uint64_t *bytes);

#endif
