/* The contract between the VMM and symhv's kernel for starting a program
 * (`symhv run [OPTIONS] -- PROGRAM [ARGS...]`, or an initrd that is a cpio archive).
 *
 * The VMM writes a launch image at the top of guest RAM (boot info launch_addr, on a
 * 2 MiB boundary) and the kernel only reads it:
 *   struct symhv_launch            the header below
 *   struct symhv_file[nfiles]      a read-only file system: file 0 is "/"
 *   uint32_t buckets[nbuckets]     a hash table over the paths (symhv_path_hash)
 *   char names[]                   the paths, "/dir/name", not NUL-terminated
 *   char strings[]                 argv then envp, each NUL-terminated
 *   file bytes                     each file's bytes at its data_off (8-byte aligned)
 * Every offset counts from the header's first byte. The file system comes from cpio
 * (newc) archives and from files the VMM adds (the program, symbolic inputs, /dev/null
 * and friends, /proc/self/exe, /sys/devices/system/cpu/online); the VMM parses and
 * indexes it because ring 0 is slow where it is emulated, so the kernel's lookups are
 * one hash and a short chain.
 *
 * Symbolic sources (--sym-file, --sym-stdin, --sym-arg, --sym-args) are bytes the kernel marks
 * symbolic (symhv_make_symbolic, named `name`) before the program's first instruction;
 * with SYMHV_LAUNCH_HARNESS (symhv fuzz / explore) there is exactly one, and the kernel
 * takes the snapshot there instead (symhv_fuzz_start on its bytes, capacity long: the
 * result is the input's length) and ends each execution with symhv_fuzz_end when the
 * program exits. Freestanding: fixed-width types only.
 */
#ifndef SYMHV_LAUNCH_H
#define SYMHV_LAUNCH_H

#include <stddef.h>
#include <stdint.h>

#include "symhv/abi.h"

#define SYMHV_LAUNCH_MAGIC 0x68636e75616c7973ull /* "symlaunch" */
#define SYMHV_LAUNCH_VERSION 2
#define SYMHV_NO_FILE 0xffffffffu
#define SYMHV_MAX_SYM_SOURCES 8
#define SYMHV_LAUNCH_MAX_FILES 65536

enum symhv_launch_flags {
    SYMHV_LAUNCH_HARNESS = 1, /* fuzz/explore: snapshot at the symbolic source */
    SYMHV_LAUNCH_AFL_CMPLOG = 2, /* shmat(SYMHV_AFL_CMPLOG_SHM_ID) maps an AFL++ CMPLOG
                                    map (SYMHV_AFL_CMP_MAP_BYTES) */
};

/* What a file is, beyond its mode bits: where its bytes come from. */
enum symhv_file_kind {
    SYMHV_FILE_DATA = 0,  /* bytes at data_off (regular files, a symlink's target path) */
    SYMHV_FILE_DIR,
    SYMHV_FILE_NULL,      /* /dev/null: reads end, writes vanish */
    SYMHV_FILE_ZERO,      /* /dev/zero */
    SYMHV_FILE_RANDOM,    /* /dev/urandom, /dev/random: the launch's reproducible stream */
    SYMHV_FILE_CONSOLE,   /* /dev/stdin, /dev/stdout, /dev/stderr, /dev/tty */
};

struct symhv_file {
    uint32_t name_off, name_len; /* the path in names[] ("/" for file 0) */
    uint32_t mode;               /* Linux st_mode: type and permission bits */
    uint32_t kind;               /* enum symhv_file_kind */
    uint32_t hash_next;          /* next file in the same hash bucket, or SYMHV_NO_FILE */
    uint32_t parent;             /* the directory holding it (file 0: itself) */
    uint32_t first_child;        /* a directory's first entry, or SYMHV_NO_FILE */
    uint32_t next_sibling;       /* the next entry of the same directory */
    uint32_t link;               /* a symlink's target, resolved by the VMM, or NO_FILE */
    uint32_t reserved;
    uint64_t size;               /* bytes now */
    uint64_t capacity;           /* bytes reserved at data_off (>= size: a symbolic
                                    input's longer versions fit) */
    uint64_t data_off;
    uint64_t mtime;              /* seconds since the epoch */
};

enum symhv_sym_kind {
    SYMHV_SYM_FILE = 1,   /* the bytes of file `index` (the program opens and reads it) */
    SYMHV_SYM_STDIN,      /* the bytes of file `index`, read as fd 0 */
    SYMHV_SYM_ARG,        /* argv[index]: capacity bytes of string and a NUL after them */
    SYMHV_SYM_NARGS,      /* KLEE's --sym-args: the one byte of file `index` says how many
                             of the arguments from nargs_first on the program gets:
                             nargs_min + byte % (nargs_max - nargs_min + 1); the others
                             are cut from argv after the sources are marked. The byte is
                             the input's, never symbolic (the kernel reads it) */
};

struct symhv_sym_source {
    uint32_t kind;        /* enum symhv_sym_kind */
    uint32_t index;
    uint64_t capacity;
    char name[SYMHV_INPUT_NAME_MAX + 1]; /* the input's name (outputs, --input NAME=) */
};

struct symhv_launch {
    uint64_t magic;       /* SYMHV_LAUNCH_MAGIC */
    uint32_t version;     /* SYMHV_LAUNCH_VERSION */
    uint32_t flags;       /* enum symhv_launch_flags */
    uint32_t argc, envc;
    uint64_t strings_off, strings_len;
    uint32_t nfiles, nbuckets; /* nbuckets: a power of two */
    uint64_t files_off, buckets_off, names_off, names_len;
    uint32_t exe;         /* the program's file */
    uint32_t stdin_file;  /* fd 0 reads this file, or SYMHV_NO_FILE: symhv's stdin */
    uint32_t nsym;
    uint32_t afl_map_size; /* != 0: shmat(SYMHV_AFL_SHM_ID) maps this many bytes (AFL++) */
    struct symhv_sym_source sym[SYMHV_MAX_SYM_SOURCES];
    uint32_t nargs_first, nargs_min, nargs_max; /* SYMHV_SYM_NARGS: argv[nargs_first ..
                                                   nargs_first + nargs_max) are optional */
    uint32_t reserved;
    uint64_t random_seed; /* getrandom, AT_RANDOM, /dev/urandom: a reproducible stream */
    uint64_t realtime_ns; /* the host's CLOCK_REALTIME when the image was built */
};

/* FNV-1a over a path's bytes: the bucket is hash & (nbuckets - 1). */
static inline uint32_t symhv_path_hash(const char *path, size_t len)
{
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < len; i++)
        h = (h ^ (uint8_t)path[i]) * 16777619u;
    return h;
}

#endif
