/* Doorbells between the VMM and the sidecar: an eventfd per direction, rung and
 * waited on through io_uring (liburing). One `struct doorbell` per thread and slot.
 *
 * doorbell_ring_wait() queues the write that rings the other side and the read that
 * waits for its answer in one io_uring_enter. An optional watch fd (the VMM watches
 * the sidecar's pidfd) ends a wait when it becomes readable: the peer is gone. */
#ifndef IPC_DOORBELL_H
#define IPC_DOORBELL_H

#include <liburing.h>
#include <stdbool.h>
#include <stdint.h>

struct doorbell {
    struct io_uring ring;
    int wait_fd, ring_fd, watch_fd;
    bool read_queued, watch_queued;
    uint64_t read_value;       /* the eventfd read lands here */
    uint64_t one;              /* the value written to ring: 1 */
};

enum doorbell_result {
    DOORBELL_RUNG = 0,         /* the other side rang */
    DOORBELL_TIMEOUT = 1,      /* nothing within the timeout */
    DOORBELL_PEER_GONE = 2,    /* the watch fd became readable */
    DOORBELL_ERROR = -1,       /* io_uring failed: errno is set */
};

/* watch_fd may be -1. Returns 0, or -errno. */
int doorbell_init(struct doorbell *d, int wait_fd, int ring_fd, int watch_fd);
void doorbell_destroy(struct doorbell *d);
/* Ring the other side (if `ring`), then wait up to timeout_ms (< 0: no limit) for it
 * to ring back. */
enum doorbell_result doorbell_ring_wait(struct doorbell *d, bool ring, int timeout_ms);

#endif
