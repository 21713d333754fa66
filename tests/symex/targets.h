/* Functions the solver tests interpret. Built without sanitizers, so their machine
 * code is what a guest program's would be. Each returns 0 on the common path and a
 * value >= 1000 when it reaches the guarded branch. */
#ifndef TESTS_TARGETS_H
#define TESTS_TARGETS_H

#include <stdint.h>

int target_linear(const uint8_t *buf);    /* x*7+3 == 0x1234567 (x: 4 bytes) */
int target_magic(const uint8_t *buf);     /* 8 bytes equal "SYMHV!\x7f\x01", byte by byte */
int target_magic64(const uint8_t *buf);   /* the same as one 64-bit compare */
int target_checksum(const uint8_t *buf);  /* h = h*31 + b over 8 bytes == 0xdeadbeef */
/* one helper's branch from two callers: 'x' then buf[1] == 'Y' (1011), or buf[2] ==
 * 'Z' (1012) */
int target_two_callers(const uint8_t *buf);
/* the same helper's branch 100 times from a loop, then buf[8] == 'Z' from another caller
 * (1013) */
int target_hot_helper(const uint8_t *buf);
#define TARGET_HOT_BYTES 4096
/* a branch per byte over 4 KiB (bytes with the high bit counted), then bytes 8..11
 * == "APNG" plus that count */
int target_hot_loop(const uint8_t *buf);
int target_sse(const uint8_t *buf);       /* 16 bytes all 'A', via pcmpeqb/pmovmskb */
int target_divide(const uint8_t *buf);    /* 1000 / (buf[0] - 'a'): no branch, a #DE at 'a' */
int target_select(const uint8_t *buf);
int target_independent(const uint8_t *buf);
int target_crc_table(const uint8_t *buf); /* CRC-32 by table over 4 bytes == 0xdeadbeef (1014) */
int target_switch(const uint8_t *buf);      /* switch (buf[0] & 7): a jump table */ /* branches on buf[0], buf[1], then buf[2] == 'c' */    /* (buf[0] == 'z') * 1006: a setcc, no jump */

#endif
