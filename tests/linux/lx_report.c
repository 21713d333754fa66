/* A program annotated as S2E users annotate theirs: it marks its own buffer and reports
 * the bug where it is (symhv_report_bug), then goes on and ends normally. The bug needs
 * the input to start with "BUG!". */
#include <stdio.h>
#include <string.h>

#include "symhv/agent.h"

static unsigned char input[8];

int main(void)
{
    memcpy(input, "........", sizeof input);
    symhv_make_symbolic(input, sizeof input, "input");
    if (input[0] == 'B' && input[1] == 'U' && input[2] == 'G' && input[3] == '!')
        symhv_report_bug("the input starts with BUG!");
    puts("report: done");
    return 0;
}
