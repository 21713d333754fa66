/* A program annotated as S2E users annotate theirs (symhv_make_symbolic, the s2ecmd
 * symbwrite of symhv's agent): a header, and only when the header is good a body, each
 * its own symbolic input. The crash needs both: explore must reach the second call and
 * grow the input from the header's 8 bytes to 16. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "symhv/agent.h"

static unsigned char header[8], body[8];

int main(void)
{
    memcpy(header, "hdr-v0..", sizeof header);
    symhv_make_symbolic(header, sizeof header, "header");
    if (header[0] != 'H' || header[1] != 'D' || header[2] != 'R' || header[3] != '1') {
        puts("inputs: bad header");
        return 1;
    }
    memcpy(body, "body....", sizeof body);
    symhv_make_symbolic(body, sizeof body, "body");
    if (body[0] == 'Z' && body[1] == (unsigned char)(header[4] + 1)) {
        puts("inputs: the body matches the header");
        abort();
    }
    puts("inputs: body ignored");
    return 0;
}
