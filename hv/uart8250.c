#include "uart8250.h"

#include <string.h>

enum { RBR_THR = 0, IER = 1, IIR_FCR = 2, LCR = 3, MCR = 4, LSR = 5, MSR = 6, SCR = 7 };
enum { IER_RDI = 0x01, IER_THRI = 0x02, IER_RLSI = 0x04 };
enum { IIR_NONE = 0x01, IIR_THRI = 0x02, IIR_RDI = 0x04, IIR_RLSI = 0x06, IIR_FIFO = 0xc0 };
enum { LCR_DLAB = 0x80 };
enum { MCR_DTR = 0x01, MCR_RTS = 0x02, MCR_OUT1 = 0x04, MCR_OUT2 = 0x08, MCR_LOOP = 0x10 };
enum { LSR_DR = 0x01, LSR_OE = 0x02, LSR_THRE = 0x20, LSR_TEMT = 0x40 };
enum { MSR_CTS = 0x10, MSR_DSR = 0x20, MSR_RI = 0x40, MSR_DCD = 0x80 };
enum { FCR_ENABLE = 0x01, FCR_CLEAR_RX = 0x02 };

void uart8250_init(struct uart8250 *u)
{
    memset(u, 0, sizeof *u);
    u->dll = 12; /* 9600 baud, as firmware leaves it */
}

static uint8_t iir(const struct uart8250 *u)
{
    uint8_t fifo = (u->fcr & FCR_ENABLE) ? IIR_FIFO : 0;
    if ((u->ier & IER_RLSI) && u->overrun)
        return IIR_RLSI | fifo;
    if ((u->ier & IER_RDI) && u->rx_len)
        return IIR_RDI | fifo;
    if ((u->ier & IER_THRI) && u->thre_pending)
        return IIR_THRI | fifo;
    return IIR_NONE | fifo;
}

bool uart8250_irq(const struct uart8250 *u)
{
    /* a PC wires the UART's interrupt through OUT2; loopback disconnects the pin */
    return !(iir(u) & IIR_NONE) && (u->mcr & MCR_OUT2) && !(u->mcr & MCR_LOOP);
}

bool uart8250_line_ready(const struct uart8250 *u)
{
    return u->rx_len < UART_RX_MAX && !(u->mcr & MCR_LOOP) && (u->ier & IER_RDI);
}

static bool push(struct uart8250 *u, uint8_t byte, bool from_line)
{
    if (u->rx_len == UART_RX_MAX) {
        u->overrun = true;
        return false;
    }
    unsigned at = (u->rx_head + u->rx_len++) % UART_RX_MAX;
    u->rx[at] = byte;
    u->rx_from_line[at] = from_line;
    return true;
}

bool uart8250_receive(struct uart8250 *u, uint8_t byte) { return push(u, byte, true); }

unsigned uart8250_take_cleared(struct uart8250 *u, uint8_t *out)
{
    unsigned n = u->ncleared;
    memcpy(out, u->cleared, n);
    u->ncleared = 0;
    return n;
}

static void clear_rx(struct uart8250 *u)
{
    for (unsigned i = 0; i < u->rx_len; i++) {
        unsigned at = (u->rx_head + i) % UART_RX_MAX;
        if (u->rx_from_line[at] && u->ncleared < UART_RX_MAX)
            u->cleared[u->ncleared++] = u->rx[at];
    }
    u->rx_len = u->rx_head = 0;
}

uint8_t uart8250_read(struct uart8250 *u, unsigned offset)
{
    bool dlab = u->lcr & LCR_DLAB;
    switch (offset & 7) {
    case RBR_THR: {
        if (dlab)
            return u->dll;
        if (!u->rx_len)
            return 0;
        uint8_t b = u->rx[u->rx_head];
        u->rx_head = (u->rx_head + 1) % UART_RX_MAX;
        u->rx_len--;
        return b;
    }
    case IER: return dlab ? u->dlm : u->ier;
    case IIR_FCR: {
        uint8_t v = iir(u);
        if ((v & 0x0f) == IIR_THRI)
            u->thre_pending = false; /* reading IIR acknowledges THRE */
        return v;
    }
    case LCR: return u->lcr;
    case MCR: return u->mcr;
    case LSR: {
        uint8_t v = LSR_THRE | LSR_TEMT | (u->rx_len ? LSR_DR : 0) | (u->overrun ? LSR_OE : 0);
        u->overrun = false;
        return v;
    }
    case MSR:
        if (u->mcr & MCR_LOOP) /* the modem outputs looped back to its inputs */
            return (uint8_t)(((u->mcr & MCR_RTS) ? MSR_CTS : 0) | ((u->mcr & MCR_DTR) ? MSR_DSR : 0) |
                             ((u->mcr & MCR_OUT1) ? MSR_RI : 0) | ((u->mcr & MCR_OUT2) ? MSR_DCD : 0));
        return MSR_DCD | MSR_DSR | MSR_CTS;
    default: return u->scr;
    }
}

int uart8250_write(struct uart8250 *u, unsigned offset, uint8_t value)
{
    bool dlab = u->lcr & LCR_DLAB;
    switch (offset & 7) {
    case RBR_THR:
        if (dlab) {
            u->dll = value;
            return -1;
        }
        u->thre_pending = true; /* the byte leaves at once: THR is empty again */
        if (u->mcr & MCR_LOOP) {
            push(u, value, false);
            return -1;
        }
        return value;
    case IER:
        if (dlab) {
            u->dlm = value;
        } else {
            if ((value & IER_THRI) && !(u->ier & IER_THRI))
                u->thre_pending = true; /* enabling THRE with THR empty raises it */
            u->ier = value & 0x0f;
        }
        return -1;
    case IIR_FCR:
        if (value & FCR_CLEAR_RX)
            clear_rx(u);
        u->fcr = value & (FCR_ENABLE | 0xc0);
        return -1;
    case LCR: u->lcr = value; return -1;
    case MCR: u->mcr = value & 0x1f; return -1;
    case SCR: u->scr = value; return -1;
    default: return -1; /* LSR, MSR: read-only */
    }
}
