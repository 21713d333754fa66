/* An ordinary threaded program, built with musl-gcc -static (or gcc -static), that knows
 * nothing of symhv: it reads a file of records, checks its header, and hands each
 * record to a pool of worker threads through a queue. One record kind divides by the
 * difference of two fields: a bug with no branch in front of it, reached only by an
 * input with the right header. scripts/demo runs `symhv explore` on it with 2 vCPUs:
 * the main thread's parsing and the workers' arithmetic are interpreted on whichever
 * vCPU runs them, symbolically, while the other keeps running natively. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define WORKERS 2
#define MAX_RECORDS 16

struct record { unsigned char kind, a, b; };

static struct record queue[MAX_RECORDS];
static int queued, taken, done;
static long total;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t more = PTHREAD_COND_INITIALIZER;

static long handle(const struct record *r)
{
    switch (r->kind) {
    case 'A': return r->a + r->b;
    case 'M': return r->a * r->b;
    case 'D': return 1000 / (r->a - r->b); /* a == b: SIGFPE */
    default: return 0;
    }
}

static void *worker(void *arg)
{
    (void)arg;
    for (;;) {
        pthread_mutex_lock(&lock);
        while (taken == queued && !done)
            pthread_cond_wait(&more, &lock);
        if (taken == queued && done) {
            pthread_mutex_unlock(&lock);
            return NULL;
        }
        struct record r = queue[taken++];
        pthread_mutex_unlock(&lock);
        long v = handle(&r);
        pthread_mutex_lock(&lock);
        total += v;
        pthread_mutex_unlock(&lock);
    }
}

int main(int argc, char **argv)
{
    unsigned char buf[4 + 3 * MAX_RECORDS];
    FILE *f = fopen(argc > 1 ? argv[1] : "records.bin", "rb");
    if (!f) {
        perror("records");
        return 2;
    }
    size_t n = fread(buf, 1, sizeof buf, f);
    fclose(f);
    if (n < 4 || memcmp(buf, "REC", 3) != 0 || buf[3] > MAX_RECORDS) {
        printf("not a record file\n");
        return 1;
    }
    pthread_t t[WORKERS];
    for (int i = 0; i < WORKERS; i++)
        pthread_create(&t[i], NULL, worker, NULL);
    for (unsigned i = 0; i < buf[3] && 4 + 3 * i + 3 <= n; i++) {
        pthread_mutex_lock(&lock);
        memcpy(&queue[queued++], buf + 4 + 3 * i, 3);
        pthread_cond_signal(&more);
        pthread_mutex_unlock(&lock);
    }
    pthread_mutex_lock(&lock);
    done = 1;
    pthread_cond_broadcast(&more);
    pthread_mutex_unlock(&lock);
    for (int i = 0; i < WORKERS; i++)
        pthread_join(t[i], NULL);
    printf("%d records handled\n", queued);
    return total == 42 ? 3 : 0;
}
