/* The launch image for symhv's kernel (include/symhv/launch.h): a static Linux program,
 * its arguments and environment, the files it may open (cpio archives, the program
 * itself, symbolic inputs, a few system files) and the symbolic sources, built on the
 * host into one buffer that boot.c puts at the top of guest RAM. Pure: reads host
 * files, knows no VM (unit-tested without KVM). */
#ifndef HV_LAUNCH_H
#define HV_LAUNCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "symhv/launch.h"

/* The guest path `@@` in a program's arguments stands for (as in AFL++). */
#define LAUNCH_INPUT_PATH "/.cur_input"

struct launch_source {
    enum symhv_sym_kind kind;
    const char *path;     /* FILE: the guest path */
    unsigned arg;         /* ARG: the argv index; NARGS: the first optional argument's */
    uint64_t size;        /* bytes; 0: as many as the first contents have */
    const char *initial;  /* a host file with the first contents (--seed, --replay,
                             --input NAME=FILE), or NULL */
    bool initial_part;    /* only its bytes [initial_offset, +size) (zeros past its end):
                             one file for several sources */
    uint64_t initial_offset;
};

struct launch_config {
    const char *program;             /* a host file, else a path in an archive; NULL:
                                        the archives' /init */
    const char *const *argv;         /* argv[0] is the program as the user named it */
    unsigned argc;
    const char *const *env;          /* NAME=VALUE, added to (or replacing) the default
                                        environment */
    unsigned nenv;
    const char *const *archives;     /* cpio (newc) archives: the guest's files */
    unsigned narchives;
    struct launch_source sources[SYMHV_MAX_SYM_SOURCES];
    unsigned nsources;
    unsigned nargs_min, nargs_max;   /* --sym-args MIN MAX N (a NARGS source): argv gets
                                        MAX more arguments, MIN of them always */
    bool harness;                    /* symhv fuzz / explore: one source, its bytes come
                                        from the fuzzer at the snapshot */
    uint64_t harness_capacity;       /* then: room for the longest input */
    uint32_t afl_map_size;           /* != 0: the AFL++ runtime's map (shmat of the id in
                                        __AFL_SHM_ID, which the environment gets) */
    bool afl_cmplog;                 /* an AFL++ CMPLOG map too (__AFL_CMPLOG_SHM_ID): the
                                        -c peer's program */
    unsigned ncpus;                  /* for /sys/devices/system/cpu/online */
    uint64_t random_seed;
    uint64_t max_bytes;              /* the image may not grow past this */
};

struct launch_image {
    uint8_t *bytes;
    size_t len;
};

/* The environment a program gets unless --env changes it (NULL-terminated). */
extern const char *const launch_default_env[];

/* Build the image. 0, or -1 with a one-line reason in err. */
int launch_build(const struct launch_config *cfg, struct launch_image *img, char *err,
                 size_t err_size);
void launch_image_free(struct launch_image *img);

/* The input name a symbolic source gets: a file's path without its leading '/',
 * "stdin", or "argN". */
void launch_source_name(const struct launch_source *s, char *name, size_t size);

#endif
