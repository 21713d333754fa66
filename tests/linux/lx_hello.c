/* argv, the environment and the exit status, as a Linux program sees them. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(int argc, char **argv)
{
    printf("argc %d\n", argc);
    for (int i = 0; i < argc; i++)
        printf("argv[%d] %s\n", i, argv[i]);
    const char *greeting = getenv("GREETING");
    printf("GREETING %s\n", greeting ? greeting : "(unset)");
    fprintf(stderr, "to stderr\n");
    return argc > 1 ? atoi(argv[argc - 1]) : 0;
}
