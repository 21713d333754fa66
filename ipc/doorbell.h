/* Doorbells between the VMM and the sidecar: an eventfd per direction, rung with a
 * write and waited on through io_uring (liburing): the read of our eventfd and a poll
 * of an optional watch fd (the VMM watches the sidecar's pidfd, which becomes readable
 * when the peer is gone) in one wait. One `struct doorbell` per thread and slot.
 * The ring is a plain write(2): queued on the io_uring instead (with the wait, in one
 * submission) it cost about an exit's worth more per round trip (bench-handoff shows
 * it; README: Benchmarks). */
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
/* Ring the other side (one write to its eventfd). 0, or -1 with errno. */
int doorbell_ring(struct doorbell *d);
/* Wait up to timeout_ms (< 0: no limit) for the other side to ring. */
enum doorbell_result doorbell_wait(struct doorbell *d, int timeout_ms);

#endif
