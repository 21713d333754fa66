/* A resumed campaign's counters and times, read back from the fuzzer_stats it wrote.
 * The file is a user's to edit and a crash's to truncate: every value is checked, what
 * is refused says so in one line. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "fuzz.h"

#define COUNT_LIMIT 1000000000000000000ull /* 10^18: far above any real count or time */

static const struct {
    const char *key;
    size_t offset;
    bool is_time;
} resume_keys[] = {
    { "execs_done", offsetof(struct fz_resume, execs_done), false },
    { "total_crashes", offsetof(struct fz_resume, total_crashes), false },
    { "total_hangs", offsetof(struct fz_resume, total_hangs), false },
    { "concolic_runs", offsetof(struct fz_resume, concolic_runs), false },
    { "solver_inputs", offsetof(struct fz_resume, solver_inputs), false },
    { "solver_inputs_kept", offsetof(struct fz_resume, solver_inputs_kept), false },
    { "corpus_imported", offsetof(struct fz_resume, corpus_imported), false },
    { "last_find", offsetof(struct fz_resume, last_find), true },
    { "last_crash", offsetof(struct fz_resume, last_crash), true },
    { "last_hang", offsetof(struct fz_resume, last_hang), true },
};
#define NKEYS (sizeof resume_keys / sizeof resume_keys[0])

static bool blank(char c) { return c == ' ' || c == '\t' || c == '\r'; }

enum value_kind { VALUE_OK, VALUE_NOT_A_COUNT, VALUE_TOO_LARGE };

/* A plain decimal number in [p, end), blanks around it allowed. */
static enum value_kind parse_count(const char *p, const char *end, uint64_t *out)
{
    while (p < end && blank(*p))
        p++;
    while (end > p && blank(end[-1]))
        end--;
    if (p == end)
        return VALUE_NOT_A_COUNT;
    uint64_t v = 0;
    for (; p < end; p++) {
        if (*p < '0' || *p > '9')
            return VALUE_NOT_A_COUNT; /* a sign, a fraction, an exponent, garbage */
        v = v * 10 + (uint64_t)(*p - '0');
        if (v >= COUNT_LIMIT)
            return VALUE_TOO_LARGE; /* checked each digit: v * 10 never wraps */
    }
    *out = v;
    return VALUE_OK;
}

/* One more part of the one-line note, after ", " (what does not fit is cut). */
__attribute__((format(printf, 4, 5)))
static void note_add(char *note, size_t size, size_t *len, const char *fmt, ...)
{
    if (*len + 2 >= size)
        return;
    if (*len) {
        memcpy(note + *len, ", ", 3);
        *len += 2;
    }
    va_list ap;
    va_start(ap, fmt);
    int w = vsnprintf(note + *len, size - *len, fmt, ap);
    va_end(ap);
    if (w > 0)
        *len += (size_t)w < size - *len ? (size_t)w : size - *len - 1;
}

size_t fz_stats_resume(const char *text, size_t len, uint64_t now, struct fz_resume *out,
                       char *note, size_t note_size)
{
    memset(out, 0, sizeof *out);
    if (note_size)
        note[0] = 0;
    size_t note_len = 0, refused = 0;
    bool seen[NKEYS] = { false };
    for (const char *line = text, *stop = text + len; line < stop;) {
        const char *eol = memchr(line, '\n', (size_t)(stop - line));
        if (!eol)
            eol = stop; /* the last line without its newline */
        const char *k = line;
        while (k < eol && ((*k >= 'a' && *k <= 'z') || (*k >= '0' && *k <= '9') || *k == '_'))
            k++;
        size_t klen = (size_t)(k - line);
        const char *colon = k;
        while (colon < eol && blank(*colon))
            colon++;
        for (size_t i = 0; klen && colon < eol && *colon == ':' && i < NKEYS; i++) {
            if (seen[i] || strlen(resume_keys[i].key) != klen ||
                memcmp(resume_keys[i].key, line, klen) != 0)
                continue;
            seen[i] = true; /* the first line with the key counts */
            uint64_t v = 0;
            enum value_kind kind = parse_count(colon + 1, eol, &v);
            if (kind == VALUE_NOT_A_COUNT) {
                note_add(note, note_size, &note_len, "%s is not a %s (taken as 0)",
                         resume_keys[i].key, resume_keys[i].is_time ? "time" : "count");
                refused++;
            } else if (kind == VALUE_TOO_LARGE) {
                note_add(note, note_size, &note_len, "%s is too large (taken as 0)",
                         resume_keys[i].key);
                refused++;
            } else if (resume_keys[i].is_time && v > now) {
                note_add(note, note_size, &note_len, "%s is %llus in the future (taken as now)",
                         resume_keys[i].key, (unsigned long long)(v - now));
                *(uint64_t *)((char *)out + resume_keys[i].offset) = now;
                refused++;
            } else {
                *(uint64_t *)((char *)out + resume_keys[i].offset) = v;
            }
            break;
        }
        if (eol == stop)
            break;
        line = eol + 1;
    }
    return refused;
}
