/* Reads lines from its stdin (/dev/console: the UART, fed from symhv's stdin) and says
 * what came, until the end of input (the ^D symhv sends when its stdin ends). */
#include <stdio.h>
#include <string.h>

int main(void)
{
    char line[256];
    int lines = 0;
    while (fgets(line, sizeof line, stdin)) {
        line[strcspn(line, "\n")] = 0;
        printf("read_console: got '%s'\n", line);
        fflush(stdout);
        lines++;
    }
    printf("read_console: end of input after %d lines\n", lines);
    return 0;
}
