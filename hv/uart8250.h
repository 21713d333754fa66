/* The registers of a 16550A UART, as a pure state machine (no I/O, no lock: the
 * console owns one and serialises access). What Linux's 8250 driver checks is here:
 * the scratch register, the divisor latch (LCR.DLAB), the FIFO bits in IIR, modem
 * loopback (MCR.LOOP: a transmitted byte comes back as received, MSR mirrors MCR), and
 * the THRE and received-data interrupts on the line gated by MCR.OUT2, as on a PC. The
 * transmitter is always empty: a byte written to THR leaves at once (uart_write says
 * so), so THRE is pending again right after each byte while IER asks for it. */
#ifndef HV_UART8250_H
#define HV_UART8250_H

#include <stdbool.h>
#include <stdint.h>

#define UART_RX_MAX 16 /* the 16550's receive FIFO; bytes beyond it are an overrun */

struct uart8250 {
    uint8_t ier, lcr, mcr, scr, dll, dlm, fcr;
    bool thre_pending;          /* THRE interrupt: set when THR empties, cleared by an
                                   IIR read that reports it or a THR write */
    bool overrun;
    uint8_t rx[UART_RX_MAX];    /* received bytes (loopback, or input) */
    bool rx_from_line[UART_RX_MAX]; /* ... which came from outside (uart8250_receive) */
    unsigned rx_head, rx_len;
    /* Bytes from outside that a guest FIFO clear threw away unread: Linux's probe and
     * start-up clear the FIFO, and input must not be lost to that (uart8250_take_cleared) */
    uint8_t cleared[UART_RX_MAX];
    unsigned ncleared;
};

void uart8250_init(struct uart8250 *u);
/* A guest read of register `offset` (0..7). */
uint8_t uart8250_read(struct uart8250 *u, unsigned offset);
/* A guest write; returns the byte to transmit, or -1 if none leaves. */
int uart8250_write(struct uart8250 *u, unsigned offset, uint8_t value);
/* A byte arrives from outside (false: the FIFO is full, it is dropped as overrun). */
bool uart8250_receive(struct uart8250 *u, uint8_t byte);
/* Would a byte from outside be taken now: room in the receive FIFO, not in loopback (it
 * disconnects the line) and the received-data interrupt enabled (the driver is up: bytes
 * sent before its set-up would be flushed by it). */
bool uart8250_line_ready(const struct uart8250 *u);
/* Move the bytes from outside that FIFO clears threw away into out[UART_RX_MAX], oldest
 * first: the caller gives them again. Returns how many. */
unsigned uart8250_take_cleared(struct uart8250 *u, uint8_t *out);
/* The interrupt line's level now (IRQ 4 for COM1). */
bool uart8250_irq(const struct uart8250 *u);

#endif
