/* The first program a KLEE user meets, in symhv's words: one symbolic int, three paths.
 * Annotated with symhv_make_symbolic (symhv/agent.h) as KLEE's tutorial annotates with
 * klee_make_symbolic. */
#include <stdio.h>

#include "symhv/agent.h"

static int get_sign(int x)
{
    if (x == 0)
        return 0;
    if (x < 0)
        return -1;
    return 1;
}

int main(void)
{
    int a = 7;
    symhv_make_symbolic(&a, sizeof a, "a");
    int s = get_sign(a); /* a constant per path: printing it costs the solver nothing */
    printf("sign %d\n", s);
    return 0;
}
