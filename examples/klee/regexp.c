/* A small regular-expression matcher (literals, '.', '*', '^', '$') run on a symbolic
 * pattern against a fixed text, as KLEE's second tutorial does: the search finds
 * patterns that take every path of the matcher, and the one bug: a pattern that ends in
 * a backslash reads past its end. */
#include <stdio.h>
#include <stdlib.h>

#include "symhv/agent.h"

static int match_here(const char *re, const char *text);

static int match_star(int c, const char *re, const char *text)
{
    do {
        if (match_here(re, text))
            return 1;
    } while (*text != '\0' && (*text++ == c || c == '.'));
    return 0;
}

static int match_here(const char *re, const char *text)
{
    if (re[0] == '\0')
        return 1;
    if (re[0] == '\\') { /* an escaped character: the next one, literally */
        if (re[1] == '\0')
            abort(); /* the bug: a pattern that ends in a backslash */
        return *text == re[1] && match_here(re + 2, text + 1);
    }
    if (re[1] == '*')
        return match_star(re[0], re + 2, text);
    if (re[0] == '$' && re[1] == '\0')
        return *text == '\0';
    if (*text != '\0' && (re[0] == '.' || re[0] == *text))
        return match_here(re + 1, text + 1);
    return 0;
}

static int match(const char *re, const char *text)
{
    if (re[0] == '^')
        return match_here(re + 1, text);
    do {
        if (match_here(re, text))
            return 1;
    } while (*text++ != '\0');
    return 0;
}

int main(void)
{
    char re[7] = "hello"; /* six pattern bytes and a NUL that stays */
    symhv_make_symbolic(re, sizeof re - 1, "re");
    re[sizeof re - 1] = '\0';
    printf("match: %d\n", match(re, "hello"));
    return 0;
}
