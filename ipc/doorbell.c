#include "doorbell.h"

#include <errno.h>
#include <poll.h>
#include <string.h>
#include <unistd.h>

enum { TAG_READ = 1, TAG_WATCH = 3 };

int doorbell_init(struct doorbell *d, int wait_fd, int ring_fd, int watch_fd)
{
    memset(d, 0, sizeof *d);
    d->wait_fd = wait_fd;
    d->ring_fd = ring_fd;
    d->watch_fd = watch_fd;
    d->one = 1;
    return io_uring_queue_init(8, &d->ring, 0);
}

void doorbell_destroy(struct doorbell *d)
{
    io_uring_queue_exit(&d->ring);
}

static struct io_uring_sqe *get_sqe(struct doorbell *d)
{
    struct io_uring_sqe *sqe = io_uring_get_sqe(&d->ring);
    if (!sqe) { /* full: push what is queued and retry */
        io_uring_submit(&d->ring);
        sqe = io_uring_get_sqe(&d->ring);
    }
    return sqe;
}

int doorbell_ring(struct doorbell *d)
{
    ssize_t n;
    while ((n = write(d->ring_fd, &d->one, sizeof d->one)) < 0 && errno == EINTR)
        ;
    if (n >= 0 && n != (ssize_t)sizeof d->one)
        errno = EIO;
    return n == (ssize_t)sizeof d->one ? 0 : -1;
}

enum doorbell_result doorbell_wait(struct doorbell *d, int timeout_ms)
{
    struct io_uring_sqe *sqe;
    if (!d->read_queued) {
        if (!(sqe = get_sqe(d)))
            return (errno = EBUSY), DOORBELL_ERROR;
        io_uring_prep_read(sqe, d->wait_fd, &d->read_value, sizeof d->read_value, 0);
        io_uring_sqe_set_data64(sqe, TAG_READ);
        d->read_queued = true;
    }
    if (d->watch_fd >= 0 && !d->watch_queued) {
        if (!(sqe = get_sqe(d)))
            return (errno = EBUSY), DOORBELL_ERROR;
        io_uring_prep_poll_add(sqe, d->watch_fd, POLLIN);
        io_uring_sqe_set_data64(sqe, TAG_WATCH);
        d->watch_queued = true;
    }
    int rc = io_uring_submit(&d->ring);
    if (rc < 0)
        return (errno = -rc), DOORBELL_ERROR;

    for (;;) {
        struct io_uring_cqe *cqe;
        struct __kernel_timespec ts = { timeout_ms / 1000, (long long)(timeout_ms % 1000) * 1000000 };
        rc = timeout_ms < 0 ? io_uring_wait_cqe(&d->ring, &cqe)
                            : io_uring_wait_cqe_timeout(&d->ring, &cqe, &ts);
        if (rc == -ETIME)
            return DOORBELL_TIMEOUT;
        if (rc == -EINTR)
            continue;
        if (rc < 0)
            return (errno = -rc), DOORBELL_ERROR;
        uint64_t tag = io_uring_cqe_get_data64(cqe);
        int res = cqe->res;
        io_uring_cqe_seen(&d->ring, cqe);
        switch (tag) {
        case TAG_READ:
            d->read_queued = false;
            if (res == (int)sizeof d->read_value)
                return DOORBELL_RUNG;
            return (errno = res < 0 ? -res : EIO), DOORBELL_ERROR;
        case TAG_WATCH:
            d->watch_queued = false;
            return DOORBELL_PEER_GONE;
        default:
            return (errno = res < 0 ? -res : EIO), DOORBELL_ERROR;
        }
    }
}
