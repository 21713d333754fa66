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
    unsigned rx_head, rx_len;
};

void uart8250_init(struct uart8250 *u);
/* A guest read of register `offset` (0..7). */
uint8_t uart8250_read(struct uart8250 *u, unsigned offset);
/* A guest write; returns the byte to transmit, or -1 if none leaves. */
int uart8250_write(struct uart8250 *u, unsigned offset, uint8_t value);
/* A byte arrives from outside (false: the FIFO is full, it is dropped as overrun). */
bool uart8250_receive(struct uart8250 *u, uint8_t byte);
/* The interrupt line's level now (IRQ 4 for COM1). */
bool uart8250_irq(const struct uart8250 *u);

#endif
