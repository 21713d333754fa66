/* The guest's console: a 16550A UART on COM1 (uart8250.h: its registers; IRQ 4 raised
 * through the VM's irqchip) and the hypercall write channel,
 * both ending on symhv's stdout (a program's stderr on symhv's stderr), and symhv's
 * stdin for a program that reads its own. Output from different vCPUs is serialised
 * per line. */
#ifndef HV_CONSOLE_H
#define HV_CONSOLE_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "uart8250.h"

#define CONSOLE_TAIL 1024

struct console {
    pthread_mutex_t lock; /* guards uart, uart_line and the output file positions */
    int out_fd, err_fd, in_fd;
    char uart_line[256];  /* UART bytes collected until a newline */
    size_t uart_len;
    struct uart8250 uart;
    bool uart_irq;        /* the level last put on the interrupt line */
    struct vm *vm;        /* for the interrupt line, set by console_attach */
    bool muted;           /* drop guest output (fuzzing: the target runs many times) */
    char tail[CONSOLE_TAIL]; /* muted: the last bytes of output (a crash's note shows them) */
    size_t tail_len;
    bool write_failed;    /* stdout (or stderr) went away: said once, output dropped */
    pthread_mutex_t in_lock; /* one reader of in_fd at a time */
    /* symhv's stdin into the UART (console_start_input): the thread that feeds it, woken
     * by the guest's UART reads when the FIFO was full (rx_room, with lock) */
    pthread_t in_thread;
    bool in_thread_running;
    pthread_cond_t rx_room;
    uint8_t requeued[2 * UART_RX_MAX]; /* cleared bytes waiting to go again (with lock) */
    unsigned nrequeued;
    /* a Linux guest's kernel failures on the console (console_watch_linux, with lock) */
    bool watch_linux;
    char oops[160];       /* the first line of an oops whose "RIP:" line is to come */
    /* lock order: in_lock, then lock (the input thread reads stdin under in_lock only,
     * then feeds the UART under lock) */
};

struct vm;

/* in_fd -1: the guest's input is empty (console_read answers its end at once). */
void console_init(struct console *c, int out_fd, int err_fd, int in_fd);
/* Claim the UART's ports (SYMHV_SERIAL_PORT .. +7) on the VM's port bus. */
__attribute__((warn_unused_result)) int console_attach(struct console *c, struct vm *vm);
void console_mute(struct console *c, bool muted);
/* A Linux guest: its kernel's panic ("Kernel panic - not syncing") and oops ("BUG:",
 * "Oops:", "general protection fault" up to its "RIP:" line) on the UART end the run as
 * a guest crash, told from the lines Linux prints. Before the vCPUs start. */
void console_watch_linux(struct console *c);
/* The muted output kept since the last call (at most size bytes, the latest), into buf;
 * the kept output is emptied. */
size_t console_take_tail(struct console *c, char *buf, size_t size);
void console_flush(struct console *c);
/* Guest wrote `buf` through the hypercall channel (stream 2: its stderr). */
void console_write(struct console *c, const void *buf, size_t len);
void console_write_stream(struct console *c, int stream, const void *buf, size_t len);
/* Up to len bytes of symhv's stdin: waits until some arrive; 0 at its end, or when the
 * VM stops meanwhile; -1 if it cannot be read. */
long console_read(struct console *c, void *buf, size_t len, struct vm *vm);
/* Feed symhv's stdin to the UART's receiver (a Linux guest's /dev/ttyS0) from a thread
 * of its own until the VM stops; at the end of stdin one ^D (0x04) follows, what a
 * terminal sends for end of input. 0, or -1 after a message. */
__attribute__((warn_unused_result)) int console_start_input(struct console *c);
/* After the VM stopped: wait for that thread. */
void console_stop_input(struct console *c);

#endif
