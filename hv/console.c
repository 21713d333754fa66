#include "console.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "util.h"
#include "symhv/abi.h"
#include "vm.h"

#define UART_IRQ 4 /* COM1's ISA interrupt */

#define STDIN_POLL_MS 100 /* how often a blocked read looks whether the VM stops */

void console_init(struct console *c, int out_fd, int err_fd, int in_fd)
{
    memset(c, 0, sizeof *c);
    pthread_mutex_init(&c->lock, NULL);
    pthread_mutex_init(&c->in_lock, NULL);
    pthread_cond_init(&c->rx_room, NULL);
    c->out_fd = out_fd;
    c->err_fd = err_fd;
    c->in_fd = in_fd;
    uart8250_init(&c->uart);
}

/* Caller holds c->lock. */
static void write_fd(struct console *c, int fd, const char *buf, size_t len)
{
    while (len > 0 && !c->write_failed) {
        ssize_t n = write(fd, buf, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) { /* stdout closed or full: the guest's output is lost, the run goes on */
            hv_error_errno("writing the guest's output failed; dropping it from now on");
            c->write_failed = true;
            return;
        }
        buf += n;
        len -= (size_t)n;
    }
}

static void write_all(struct console *c, const char *buf, size_t len)
{
    write_fd(c, c->out_fd, buf, len);
}

/* Muted output is not written but its last CONSOLE_TAIL bytes are kept (with lock). */
static void keep_tail_locked(struct console *c, const char *buf, size_t len)
{
    if (len >= CONSOLE_TAIL) {
        memcpy(c->tail, buf + len - CONSOLE_TAIL, CONSOLE_TAIL);
        c->tail_len = CONSOLE_TAIL;
        return;
    }
    if (c->tail_len + len > CONSOLE_TAIL) {
        size_t drop = c->tail_len + len - CONSOLE_TAIL;
        memmove(c->tail, c->tail + drop, c->tail_len - drop);
        c->tail_len -= drop;
    }
    memcpy(c->tail + c->tail_len, buf, len);
    c->tail_len += len;
}

static void uart_flush_locked(struct console *c)
{
    if (!c->muted)
        write_all(c, c->uart_line, c->uart_len);
    else
        keep_tail_locked(c, c->uart_line, c->uart_len);
    c->uart_len = 0;
}

size_t console_take_tail(struct console *c, char *buf, size_t size)
{
    pthread_mutex_lock(&c->lock);
    size_t n = c->tail_len < size ? c->tail_len : size;
    memcpy(buf, c->tail + c->tail_len - n, n);
    c->tail_len = 0;
    pthread_mutex_unlock(&c->lock);
    return n;
}

void console_flush(struct console *c)
{
    pthread_mutex_lock(&c->lock);
    uart_flush_locked(c);
    pthread_mutex_unlock(&c->lock);
}

void console_write(struct console *c, const void *buf, size_t len)
{
    pthread_mutex_lock(&c->lock);
    if (!c->muted)
        write_all(c, buf, len);
    else
        keep_tail_locked(c, buf, len);
    pthread_mutex_unlock(&c->lock);
}

void console_write_stream(struct console *c, int stream, const void *buf, size_t len)
{
    pthread_mutex_lock(&c->lock);
    if (!c->muted)
        write_fd(c, stream == 2 ? c->err_fd : c->out_fd, buf, len);
    else
        keep_tail_locked(c, buf, len);
    pthread_mutex_unlock(&c->lock);
}

long console_read(struct console *c, void *buf, size_t len, struct vm *vm)
{
    if (c->in_fd < 0)
        return 0; /* no input: the end of it */
    pthread_mutex_lock(&c->in_lock);
    long got = 0;
    for (;;) {
        if (vm_is_stopping(vm))
            break;
        struct pollfd p = { .fd = c->in_fd, .events = POLLIN };
        int rc = poll(&p, 1, STDIN_POLL_MS);
        if (rc < 0 && errno == EINTR)
            continue;
        if (rc < 0) {
            got = -1;
            break;
        }
        if (rc == 0)
            continue;
        ssize_t n = read(c->in_fd, buf, len);
        if (n < 0 && (errno == EINTR || errno == EAGAIN))
            continue;
        got = n < 0 ? -1 : (long)n;
        break;
    }
    pthread_mutex_unlock(&c->in_lock);
    return got;
}

void console_mute(struct console *c, bool muted)
{
    pthread_mutex_lock(&c->lock);
    c->muted = muted;
    c->uart_len = 0;
    pthread_mutex_unlock(&c->lock);
}

/* Put the UART's interrupt level on its line when it changed. Caller holds c->lock
 * (KVM_IRQ_LINE takes no lock of ours). */
static void uart_update_irq(struct console *c)
{
    bool level = uart8250_irq(&c->uart);
    if (level == c->uart_irq || !c->vm)
        return;
    c->uart_irq = level;
    vm_irq_line(c->vm, UART_IRQ, level);
}

void console_watch_linux(struct console *c) { c->watch_linux = true; }

static bool starts(const char *s, const char *prefix)
{
    return strncmp(s, prefix, strlen(prefix)) == 0;
}

/* A complete UART line of a watched Linux guest: does it end the run as a kernel failure?
 * Then why[] says what, and *signal the signal AFL++'s name carries. Caller holds
 * c->lock. */
static bool linux_failure_locked(struct console *c, char *why, size_t size, int *signal)
{
    char line[sizeof c->uart_line + 1];
    size_t n = c->uart_len;
    while (n && (c->uart_line[n - 1] == '\n' || c->uart_line[n - 1] == '\r'))
        n--;
    memcpy(line, c->uart_line, n);
    line[n] = 0;
    for (size_t i = 0; i < n; i++) /* the guest's bytes: printable in our messages */
        if ((unsigned char)line[i] < ' ' || (unsigned char)line[i] >= 0x7f)
            line[i] = '?';
    const char *text = line;
    if (text[0] == '[' && strchr(text, ']')) /* printk's time stamp */
        text = strchr(text, ']') + 1;
    while (*text == ' ')
        text++;
    /* anywhere in the line: a program's output without its newline may come first */
    const char *panic = strstr(text, "Kernel panic - not syncing");
    if (panic) {
        snprintf(why, size, "guest kernel panic: %.150s%s%.150s", panic, c->oops[0] ? " after " : "",
                 c->oops);
        *signal = 6;
        return true;
    }
    if (!c->oops[0] && (starts(text, "BUG: ") || starts(text, "Oops: ") ||
                        starts(text, "general protection fault") || starts(text, "kernel BUG at"))) {
        snprintf(c->oops, sizeof c->oops, "%.150s", text);
        return false;
    }
    if (c->oops[0] && starts(text, "RIP: ")) {
        snprintf(why, size, "guest kernel oops: %.150s, %.100s", c->oops, text);
        c->oops[0] = 0;
        *signal = 11;
        return true;
    }
    return false;
}

static void uart_pio(struct vcpu *v, uint16_t port, uint8_t *data, unsigned size, bool in,
                     void *opaque)
{
    /* byte registers: a wider access touches the first one */
    struct console *c = opaque;
    unsigned offset = port - SYMHV_SERIAL_PORT;
    char why[400];
    int signal = 0;
    bool failed = false;
    pthread_mutex_lock(&c->lock);
    if (in) {
        memset(data, 0, size);
        data[0] = uart8250_read(&c->uart, offset);
        if (uart8250_line_ready(&c->uart)) /* an input thread may wait for room */
            pthread_cond_signal(&c->rx_room);
    } else {
        int out = uart8250_write(&c->uart, offset, data[0]);
        if (out >= 0) {
            c->uart_line[c->uart_len++] = (char)out;
            if (out == '\n' || c->uart_len == sizeof c->uart_line) {
                failed = c->watch_linux && linux_failure_locked(c, why, sizeof why, &signal);
                uart_flush_locked(c);
            }
        }
    }
    uart_update_irq(c);
    pthread_mutex_unlock(&c->lock);
    if (failed) /* the end policy flushes the console: not under its lock */
        vm_guest_ended(v, &(struct guest_end){ .kind = GUEST_CRASH, .why = why, .signal = signal });
}

/* The UART's registers and its line's level in a snapshot: a restored Linux driver finds
 * its interrupt enables and pending THRE as it left them (the irqchip is restored with
 * the line's level, so the level is set back without an edge). */
struct uart_state {
    struct uart8250 uart;
    bool irq;
};

static int uart_save(void *opaque, void *buf)
{
    struct console *c = opaque;
    struct uart_state *st = buf;
    pthread_mutex_lock(&c->lock);
    st->uart = c->uart;
    st->irq = c->uart_irq;
    pthread_mutex_unlock(&c->lock);
    return 0;
}

static int uart_load(void *opaque, const void *buf)
{
    struct console *c = opaque;
    const struct uart_state *st = buf;
    pthread_mutex_lock(&c->lock);
    c->uart = st->uart;
    c->uart_irq = st->irq;
    c->oops[0] = 0; /* an oops of the execution before is no part of the next */
    pthread_mutex_unlock(&c->lock);
    return 0;
}

int console_attach(struct console *c, struct vm *vm)
{
    c->vm = vm;
    struct vm_state_hook h = { "the serial port", sizeof(struct uart_state), uart_save,
                               uart_load, c };
    if (vm_register_state(vm, &h) < 0)
        return -1;
    return vm_register_pio(vm, SYMHV_SERIAL_PORT, 8, uart_pio, c);
}

#define END_OF_INPUT 0x04 /* ^D */
/* After the end of stdin, ^D again this often while the guest has taken the last one:
 * a ^D that reaches Linux's tty in canonical mode (a shell's child running, the shell not
 * yet started) ends up as a NUL once the shell switches to raw mode, so one ^D alone may
 * never end the shell; a user would press it again at the prompt. */
#define END_OF_INPUT_AGAIN_MS 1000

/* Wait (c->lock held) until the UART takes a byte from the line; false if the VM stops. */
static bool wait_line_ready(struct console *c)
{
    while (!uart8250_line_ready(&c->uart) && !vm_is_stopping(c->vm)) {
        struct timespec until = deadline_after_ms(STDIN_POLL_MS);
        pthread_cond_timedwait(&c->rx_room, &c->lock, &until);
    }
    return !vm_is_stopping(c->vm);
}

/* Give one byte to the UART once it takes one, after any bytes a guest FIFO clear threw
 * away (they go again first, in order); false when the VM stops first. */
static bool uart_feed(struct console *c, uint8_t byte)
{
    pthread_mutex_lock(&c->lock);
    bool fed = false;
    for (;;) {
        if (!wait_line_ready(c))
            break;
        if (c->uart.ncleared) { /* put back at the front of what is still to come */
            uint8_t again[UART_RX_MAX];
            unsigned n = uart8250_take_cleared(&c->uart, again);
            if (n > sizeof c->requeued - c->nrequeued) /* never: bytes in flight <= 16 */
                n = (unsigned)(sizeof c->requeued - c->nrequeued);
            memmove(c->requeued + n, c->requeued, c->nrequeued);
            memcpy(c->requeued, again, n);
            c->nrequeued += n;
        }
        if (c->nrequeued) {
            uart8250_receive(&c->uart, c->requeued[0]);
            memmove(c->requeued, c->requeued + 1, --c->nrequeued);
        } else {
            fed = uart8250_receive(&c->uart, byte);
        }
        uart_update_irq(c);
        if (fed)
            break;
    }
    pthread_mutex_unlock(&c->lock);
    return fed;
}

/* Wait `ms`, then until the guest has read every byte given to the UART; false if the
 * VM stops first. */
static bool wait_taken(struct console *c, unsigned ms)
{
    struct timespec until = deadline_after_ms(ms);
    bool waited = false;
    pthread_mutex_lock(&c->lock);
    while (!vm_is_stopping(c->vm) && !(waited && c->uart.rx_len == 0)) {
        if (waited)
            until = deadline_after_ms(STDIN_POLL_MS);
        waited = pthread_cond_timedwait(&c->rx_room, &c->lock, &until) == ETIMEDOUT;
    }
    bool going = !vm_is_stopping(c->vm);
    pthread_mutex_unlock(&c->lock);
    return going;
}

static void *uart_input_thread(void *arg)
{
    struct console *c = arg;
    uint8_t buf[256];
    for (;;) {
        long n = console_read(c, buf, sizeof buf, c->vm);
        if (n < 0) {
            hv_error_errno("reading symhv's stdin for the guest's serial line failed");
            return NULL;
        }
        if (n == 0) {
            while (uart_feed(c, END_OF_INPUT) && wait_taken(c, END_OF_INPUT_AGAIN_MS))
                ;
            return NULL;
        }
        for (long i = 0; i < n; i++)
            if (!uart_feed(c, buf[i]))
                return NULL;
    }
}

int console_start_input(struct console *c)
{
    int err = pthread_create(&c->in_thread, NULL, uart_input_thread, c);
    if (err) {
        hv_error("cannot start the serial input thread: %s", strerror(err));
        return -1;
    }
    c->in_thread_running = true;
    return 0;
}

void console_stop_input(struct console *c)
{
    if (!c->in_thread_running)
        return;
    vm_request_stop(c->vm, c->vm->exit_status); /* stopped already: no change */
    pthread_join(c->in_thread, NULL); /* it sees the VM stopping within STDIN_POLL_MS */
    c->in_thread_running = false;
}
