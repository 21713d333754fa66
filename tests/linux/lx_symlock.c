/* Two threads take turns on one mutex that shares its page with symbolic bytes they read
 * under it (--sym-file): the page is trapped, so the mutex's lock cmpxchg runs emulated
 * by the VMM on one vCPU and interpreted by the sidecar on the other. The counter is
 * exact only if those read-modify-writes stay atomic. */
#include <pthread.h>
#include <stdio.h>

#define ROUNDS 400

static struct {
    pthread_mutex_t lock;
    unsigned char data[64];
    long counter, sum;
} shared __attribute__((aligned(4096)));

static void *work(void *arg)
{
    (void)arg;
    for (int i = 0; i < ROUNDS; i++) {
        pthread_mutex_lock(&shared.lock);
        long c = shared.counter;
        shared.sum += shared.data[i % 64] & 1; /* a symbolic read under the lock */
        shared.counter = c + 1;
        pthread_mutex_unlock(&shared.lock);
    }
    return NULL;
}

int main(int argc, char **argv)
{
    FILE *f = fopen(argc > 1 ? argv[1] : "/input", "rb");
    if (!f || fread(shared.data, 1, sizeof shared.data, f) != sizeof shared.data)
        return 2;
    fclose(f);
    pthread_t t[2];
    for (int i = 0; i < 2; i++)
        pthread_create(&t[i], NULL, work, NULL);
    for (int i = 0; i < 2; i++)
        pthread_join(t[i], NULL);
    printf("counter %ld of %d\n", shared.counter, 2 * ROUNDS);
    return shared.counter == 2 * ROUNDS ? 0 : 1;
}
