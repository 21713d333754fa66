/* Symbolic data crossing vCPUs through the program's own synchronisation: a producer
 * thread computes 3 * input[i] + 1 from its input file and pushes each value into a ring
 * buffer under a pthread mutex; the main thread pops them (condition variable) and
 * branches on them. The bug needs the value popped sixth to come from a 'Q'. */
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#define N 16

static struct {
    pthread_mutex_t lock;
    pthread_cond_t more;
    unsigned head, tail;
    unsigned values[N];
} ring = { PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, 0, { 0 } };

static unsigned char input[N];

static void *producer(void *arg)
{
    (void)arg;
    for (unsigned i = 0; i < N; i++) {
        unsigned v = 3u * input[i] + 1;
        pthread_mutex_lock(&ring.lock);
        ring.values[ring.tail++ % N] = v;
        pthread_cond_signal(&ring.more);
        pthread_mutex_unlock(&ring.lock);
    }
    return NULL;
}

int main(int argc, char **argv)
{
    int fd = argc > 1 ? open(argv[1], O_RDONLY) : 0;
    if (fd < 0 || read(fd, input, N) != N) {
        puts("queue: short input");
        return 0;
    }
    pthread_t t;
    pthread_create(&t, NULL, producer, NULL);
    unsigned odd = 0;
    for (unsigned i = 0; i < N; i++) {
        pthread_mutex_lock(&ring.lock);
        while (ring.head == ring.tail)
            pthread_cond_wait(&ring.more, &ring.lock);
        unsigned v = ring.values[ring.head++ % N];
        pthread_mutex_unlock(&ring.lock);
        if (v % 2)
            odd++;
        if (i == 5 && v == 3u * 'Q' + 1) {
            puts("queue: the sixth value came from a Q");
            fflush(stdout);
            abort();
        }
    }
    pthread_join(t, NULL);
    printf("queue: %u odd values\n", odd);
    return 0;
}
