/* symhv show FILE...: a test case as KLEE's ktest-tool shows one. symhv's test cases are
 * AFL++'s plain input files (afl-fuzz, afl-tmin and friends read them); what they are
 * comes from beside them: the file's AFL++-style name (how and when it was found), the
 * campaign's fuzzer_stats (symhv_inputs: how the bytes split into the symbolic sources)
 * and crash-notes/NAME.txt (how a crash ended). No guest runs. */
#include "show.h"

#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "util.h"

#define SHOW_MAX_FILE (16u << 20) /* larger files are no test case symhv wrote */
#define SHOW_MAX_OBJECTS 16
#define SHOW_DATA_BYTES 256      /* bytes shown per object; the rest is counted */

/* One object's bytes: as text with escapes (ktest-tool's data), then hex. */
static void print_bytes(const uint8_t *b, size_t len)
{
    size_t shown = len < SHOW_DATA_BYTES ? len : SHOW_DATA_BYTES;
    printf("  data: \"");
    for (size_t i = 0; i < shown; i++) {
        if (b[i] == '"' || b[i] == '\\')
            printf("\\%c", b[i]);
        else if (b[i] >= 0x20 && b[i] < 0x7f)
            putchar(b[i]);
        else
            printf("\\x%02x", b[i]);
    }
    printf("\"%s\n  hex : ", shown < len ? " ..." : "");
    for (size_t i = 0; i < shown; i++)
        printf("%02x", b[i]);
    if (shown < len)
        printf(" ... (%zu more bytes)", len - shown);
    putchar('\n');
}

/* The fields of an AFL++-style name: id:NNNNNN,sig:NN,src:...,time:MS,execs:N,op:... */
static void print_name_fields(const char *name)
{
    char copy[NAME_MAX + 1];
    snprintf(copy, sizeof copy, "%s", name);
    const char *found = NULL, *time = NULL, *execs = NULL, *op = NULL, *ends = NULL;
    char *save = NULL;
    for (char *f = strtok_r(copy, ",", &save); f; f = strtok_r(NULL, ",", &save)) {
        if (!strncmp(f, "src:", 4) || !strncmp(f, "sync:", 5) || !strncmp(f, "orig:", 5))
            found = f;
        else if (!strncmp(f, "time:", 5))
            time = f + 5;
        else if (!strncmp(f, "execs:", 6))
            execs = f + 6;
        else if (!strncmp(f, "op:", 3))
            op = f + 3;
        else if (!strncmp(f, "sig:", 4) || !strcmp(f, "bug") || !strncmp(f, "status:", 7))
            ends = f;
    }
    if (found)
        printf("found by : %s%s%s\n", found, op ? ", op:" : "", op ? op : "");
    if (time || execs)
        printf("found at : %s ms, %s executions into the campaign\n", time ? time : "?",
               execs ? execs : "?");
    if (ends)
        printf("ends by  : %s\n", ends);
}

static int show_one(const char *path)
{
    char why[256];
    size_t len;
    uint8_t *bytes = read_file(path, SHOW_MAX_FILE, &len, why, sizeof why);
    if (!bytes) {
        fprintf(stderr, "symhv show: %s: %s\n", path, why);
        return -1;
    }
    char pcopy[PATH_MAX], dcopy[PATH_MAX], out_dir[PATH_MAX];
    snprintf(pcopy, sizeof pcopy, "%s", path);
    snprintf(dcopy, sizeof dcopy, "%s", path);
    const char *name = basename(pcopy);
    const char *kind_dir = dirname(dcopy); /* queue, crashes, hangs */
    snprintf(out_dir, sizeof out_dir, "%s/..", kind_dir);
    const char *kind = strrchr(kind_dir, '/') ? strrchr(kind_dir, '/') + 1 : kind_dir;
    printf("file     : %s\nsize     : %zu bytes\n", path, len);
    if (!strcmp(kind, "crashes") || !strcmp(kind, "hangs") || !strcmp(kind, "queue"))
        printf("kind     : %s\n", !strcmp(kind, "crashes") ? "crash" : !strcmp(kind, "hangs")
                                                                  ? "hang" : "queue entry");
    print_name_fields(name);

    /* how a crash ended, as the campaign noted it */
    char note_path[PATH_MAX + NAME_MAX + 32];
    snprintf(note_path, sizeof note_path, "%s/crash-notes/%s.txt", out_dir, name);
    size_t note_len;
    char *note = (char *)read_file(note_path, 64 * 1024, &note_len, why, sizeof why);
    if (note) {
        printf("note     :\n");
        for (size_t at = 0; at < note_len;) { /* the file has no NUL of its own */
            const char *line = note + at, *nl = memchr(line, '\n', note_len - at);
            size_t n = nl ? (size_t)(nl - line) : note_len - at;
            printf("  %.*s\n", (int)n, line);
            at += n + 1;
        }
        free(note);
    }

    /* the objects: split as the campaign's symbolic sources were */
    char inputs[256];
    size_t off = 0;
    unsigned k = 0;
    if (fz_stats_value(out_dir, "symhv_inputs", inputs, sizeof inputs) == 0 && inputs[0]) {
        char *save = NULL;
        for (char *o = strtok_r(inputs, ",", &save); o && k < SHOW_MAX_OBJECTS;
             o = strtok_r(NULL, ",", &save), k++) {
            char *colon = strrchr(o, ':');
            if (!colon)
                break;
            *colon = 0;
            size_t want = len - off;
            if (strcmp(colon + 1, "*") != 0) {
                char *end;
                unsigned long long n = strtoull(colon + 1, &end, 10);
                want = *end ? 0 : n < len - off ? (size_t)n : len - off;
            }
            printf("object %u: name '%s', size %zu\n", k, o, want);
            print_bytes(bytes + off, want);
            off += want;
        }
    }
    if (k == 0) { /* no campaign beside it: the file is the one input */
        printf("object 0: name 'input', size %zu\n", len);
        print_bytes(bytes, len);
        off = len;
    }
    if (off < len)
        printf("(%zu bytes past the sources, not read by the program)\n", len - off);
    free(bytes);
    return 0;
}

int show_main(int argc, char **argv)
{
    if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
        FILE *o = argc < 2 ? stderr : stdout;
        fputs("usage: symhv show FILE...\n"
              "Shows test cases as KLEE's ktest-tool does: each symbolic input's name, size\n"
              "and bytes (split as the campaign's fuzzer_stats says: symhv_inputs), what found\n"
              "the file and when (its AFL++-style name), and for a crash how it ended\n"
              "(crash-notes/NAME.txt: the fault, the rip, the stack, the output's end).\n", o);
        return argc < 2 ? 125 : 0;
    }
    int failed = 0;
    for (int i = 1; i < argc; i++) {
        if (i > 1)
            putchar('\n');
        failed |= show_one(argv[i]) < 0;
    }
    return failed ? 125 : 0;
}
