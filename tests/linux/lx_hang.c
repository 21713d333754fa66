/* Loops for ever after "HG": a hang that a concolic run meets too. */
#include <fcntl.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    unsigned char b[16] = { 0 };
    int fd = argc > 1 ? open(argv[1], O_RDONLY) : 0;
    if (fd < 0 || read(fd, b, sizeof b) < 2)
        return 0;
    if (b[0] == 'H' && b[1] == 'G')
        for (volatile unsigned long i = 0;; i++)
            ;
    return 0;
}
