/* symhv fuzz -c CMPLOG_BINARY, in AFL++'s meaning: a second build of the target made
 * with AFL_LLVM_CMPLOG=1 logs the operands of its comparisons, and the campaign turns
 * them into input-to-state candidates. A second symhv process (the peer), forked before
 * any thread, runs that build in a VM of its own, from its own snapshot, with the compare
 * map AFL++'s runtime asks for (__AFL_CMPLOG_SHM_ID); the campaign's target runs at full
 * speed without the hooks. The campaign sends the peer each input whose compare log it
 * wants and gets the comparisons back. `-c 0`: the target itself is the CMPLOG build.
 *
 * Messages on a socketpair: a header (type, count), then count bytes (an input) or count
 * struct fz_compare (a log). The peer's first message says whether its program attached
 * the map. The peer is symhv too, yet its words are bounded as a guest's are. */
#ifndef HV_CMPLOG_PEER_H
#define HV_CMPLOG_PEER_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "fuzz.h"
#include "guest_mem.h"

#define CMPLOG_PEER_MAX_COMPARES 4096 /* one log's most entries; more are cut, said once */
#define CMPLOG_PEER_START_S 60.0       /* the peer's boot up to its snapshot, at most */
#define CMPLOG_PEER_EXTRA_RAM (128ull << 20) /* the peer's guest RAM past --mem: the map */

struct cmplog_peer {
    int fd;
    pid_t pid;
    bool ready;          /* its first message came */
    bool gone;           /* it ended or was given up on (said) */
    unsigned answers, logged; /* compare logs it sent; those with a comparison */
    bool silence_noted;
    const char *program; /* the CMPLOG build, for messages */
};

/* ---- the campaign's side ---- */
/* Fork the peer; call before any thread exists. The parent gets 1 and *p; the child 0
 * and its end of the socket in *peer_fd (it then runs the VM with
 * options_for_cmplog_peer). -1 after a message. */
int cmplog_peer_fork(struct cmplog_peer *p, const char *program, int *peer_fd);
enum { CMPLOG_PEER_GONE = -1, CMPLOG_PEER_NO_START = -2 };
/* The comparisons `input` made in the peer's program: how many (up to cap) in out.
 * CMPLOG_PEER_GONE: the peer ended or did not answer within timeout_s, said (not when a
 * SIGINT or SIGTERM came meanwhile: the run stops); the campaign goes on without it. CMPLOG_PEER_NO_START (the first call only): it never reached its
 * snapshot within CMPLOG_PEER_START_S, or its program attached no CMPLOG map (no such
 * build), said: -c named no working CMPLOG build. An AFL++ build without the CMPLOG
 * instrumentation attaches the map too (one runtime) and never writes it: after a few
 * answers without a comparison that is said, once. */
long cmplog_peer_ask(struct cmplog_peer *p, const uint8_t *input, uint32_t len,
                     double timeout_s, struct fz_compare *out, size_t cap);
/* The campaign is over: the peer's socket closes, it ends (killed if it lingers). */
void cmplog_peer_end(struct cmplog_peer *p);

/* ---- the peer's side ---- */
/* Its first message: whether the program attached the CMPLOG map. 0 or -1 (said). */
int cmplog_peer_hello(int fd, bool have_map);
/* The next input into buf (cap bytes; a longer one is cut to them): 1 and *len, 0 when
 * the campaign is over (its socket closed, or a stop signal came), -1 on a malformed
 * message (said). */
int cmplog_peer_take_input(int fd, uint8_t *buf, uint32_t cap, uint32_t *len);
/* The execution's compare log: read from the AFL++ map at gva through `as` (headers:
 * room for SYMHV_AFL_CMP_MAP_W words), converted and sent (scratch: room for
 * CMPLOG_PEER_MAX_COMPARES). 0; 1 when the log was cut at that many; -1 (said). */
int cmplog_peer_send_log(int fd, const struct guest_as *as, uint64_t gva, uint64_t *headers,
                         struct fz_compare *scratch);

#endif
