/* symhv show FILE...: a test case as KLEE's ktest-tool shows one. symhv's test cases are
 * AFL++'s plain input files (afl-fuzz, afl-tmin and friends read them); what they are
 * comes from beside them: the file's AFL++-style name (how and when it was found), the
 * campaign's fuzzer_stats (symhv_inputs: how the bytes split into the symbolic sources)
 * and crash-notes/NAME.txt (how a crash ended). No guest runs. */
#include "show.h"

#include <errno.h>
#include <stdbool.h>
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

/* Text from outside (a guest's output, a peer's file names) to the terminal: printable
 * ASCII as it is, everything else escaped, so no escape sequence reaches the terminal. */
static void print_escaped(const char *b, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        unsigned char ch = (unsigned char)b[i];
        if (ch == '\\')
            fputs("\\\\", stdout);
        else if (ch >= 0x20 && ch < 0x7f)
            putchar(ch);
        else
            printf("\\x%02x", ch);
    }
}

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
    if (found) {
        printf("found by : ");
        print_escaped(found, strlen(found));
        if (op) {
            printf(", op:");
            print_escaped(op, strlen(op));
        }
        putchar('\n');
    }
    if (time || execs) {
        printf("found at : ");
        print_escaped(time ? time : "?", strlen(time ? time : "?"));
        printf(" ms, ");
        print_escaped(execs ? execs : "?", strlen(execs ? execs : "?"));
        printf(" executions into the campaign\n");
    }
    if (ends) {
        printf("ends by  : ");
        print_escaped(ends, strlen(ends));
        putchar('\n');
    }
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
    printf("file     : ");
    print_escaped(path, strlen(path));
    printf("\nsize     : %zu bytes\n", len);
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
            printf("  ");
            print_escaped(line, n); /* the guest's own output is in there */
            putchar('\n');
            at += n + 1;
        }
        free(note);
    }

    /* the objects: split as the campaign's symbolic sources were */
    char inputs[256];
    struct { char name[64]; size_t size; bool rest; } obj[SHOW_MAX_OBJECTS];
    unsigned k = 0;
    bool bad = false;
    if (fz_stats_value(out_dir, "symhv_inputs", inputs, sizeof inputs) == 0 && inputs[0]) {
        char *save = NULL;
        for (char *o = strtok_r(inputs, ",", &save); o && !bad; o = strtok_r(NULL, ",", &save)) {
            char *colon = strrchr(o, ':'), *end;
            if (!colon || colon == o || (size_t)(colon - o) >= sizeof obj[0].name ||
                k == SHOW_MAX_OBJECTS) {
                bad = true;
                break;
            }
            *colon = 0;
            snprintf(obj[k].name, sizeof obj[k].name, "%s", o);
            obj[k].rest = strcmp(colon + 1, "*") == 0;
            errno = 0;
            unsigned long long n = obj[k].rest ? 0 : strtoull(colon + 1, &end, 10);
            if (!obj[k].rest && (errno || end == colon + 1 || *end || colon[1] == '-' ||
                                 n > SHOW_MAX_FILE))
                bad = true;
            obj[k++].size = (size_t)n;
        }
        if (bad) {
            printf("(fuzzer_stats' symhv_inputs is not as symhv writes it: the file is shown "
                   "whole)\n");
            k = 0;
        }
    }
    size_t off = 0;
    for (unsigned i = 0; i < k; i++) {
        size_t want = obj[i].rest || obj[i].size > len - off ? len - off : obj[i].size;
        printf("object %u: name '", i);
        print_escaped(obj[i].name, strlen(obj[i].name));
        printf("', size %zu%s\n", want,
               !obj[i].rest && want < obj[i].size ? " (the file ends early)" : "");
        print_bytes(bytes + off, want);
        off += want;
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
