/* Two threads, on two vCPUs, branch at the same time on different bytes of one input
 * (the same function, so the same branch instructions): the bug needs both bytes. */
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static unsigned char input[16];
static pthread_barrier_t start;

__attribute__((noinline)) static int check(unsigned at, unsigned char want)
{
    return input[at] == want;
}

static void *second(void *arg)
{
    (void)arg;
    pthread_barrier_wait(&start);
    return (void *)(long)check(9, 'K');
}

int main(int argc, char **argv)
{
    int fd = argc > 1 ? open(argv[1], O_RDONLY) : 0;
    if (fd < 0 || read(fd, input, sizeof input) != sizeof input) {
        puts("twothreads: short input");
        return 0;
    }
    pthread_barrier_init(&start, NULL, 2);
    pthread_t t;
    pthread_create(&t, NULL, second, NULL);
    pthread_barrier_wait(&start);
    int mine = check(2, 'J');
    void *theirs;
    pthread_join(t, &theirs);
    if (mine && theirs) {
        puts("twothreads: both bytes");
        fflush(stdout);
        abort();
    }
    printf("twothreads: %d %ld\n", mine, (long)theirs);
    return 0;
}
