/* symhv-agent: the guest agent as a command, for Linux guests (S2E users know it as
 * s2ecmd). Runs inside the guest as root. A call is a read of symhv's hypercall page,
 * mapped from /dev/mem at its own address (abi.h: SYMHV_HC_MMIO_ADDR), or where that is
 * not possible a read of the hypercall port after ioperm() (on PVM hosts ring-3 port I/O
 * faults whatever the I/O permissions, so only the page works there). Arguments are
 * checked before any hypercall is issued. */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/io.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "symhv/abi.h"

static const char usage_text[] =
    "usage: symhv-agent COMMAND [ARGS]\n"
    "\n"
    "Talk to symhv from inside a guest (as root: maps symhv's hypercall page through\n"
    "/dev/mem, else uses the hypercall port 0x510).\n"
    "\n"
    "  kill STATUS MESSAGE    end the run with STATUS, logging MESSAGE\n"
    "  bug MESSAGE            report a bug here (saved with the input that reaches it)\n"
    "  print TEXT             print TEXT on symhv's output\n"
    "  symbolic FILE [NAME]   make FILE's bytes (at most 1 MiB) symbolic as input NAME\n"
    "                         (default: the file's name), in its page cache: programs\n"
    "                         that map or read it later see symbolic data\n"
    "  -h, --help             this text\n";

static int fail(const char *fmt, const char *arg)
{
    fprintf(stderr, "symhv-agent: ");
    fprintf(stderr, fmt, arg);
    fprintf(stderr, " (see symhv-agent --help)\n");
    return 2;
}

static bool use_page; /* set once by open_channel, before any call */

static long call(long nr, long a0, long a1, long a2)
{
    return use_page ? symhv_mmio_hypercall(nr, a0, a1, a2, 0)
                    : symhv_port_hypercall(nr, a0, a1, a2, 0);
}

static int open_channel(void)
{
    int fd = open("/dev/mem", O_RDWR | O_SYNC | O_CLOEXEC);
    if (fd >= 0) {
        void *page = mmap((void *)(uintptr_t)SYMHV_HC_MMIO_ADDR, SYMHV_HC_MMIO_SIZE,
                          PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED_NOREPLACE, fd,
                          SYMHV_HC_MMIO_ADDR);
        close(fd);
        if (page == (void *)(uintptr_t)SYMHV_HC_MMIO_ADDR) {
            use_page = true;
            return 0;
        }
    }
    int page_errno = errno;
    if (ioperm(SYMHV_HYPERCALL_PORT, 1, 1) < 0) {
        fprintf(stderr, "symhv-agent: cannot reach symhv: /dev/mem: %s, ioperm(0x%x): %s "
                        "(run as root, inside symhv)\n",
                strerror(page_errno), SYMHV_HYPERCALL_PORT, strerror(errno));
        return -1;
    }
    return 0;
}

static int make_file_symbolic(const char *path, const char *name)
{
    int fd = open(path, O_RDWR);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) < 0) {
        fprintf(stderr, "symhv-agent: cannot open %s: %s\n", path, strerror(errno));
        return 1;
    }
    if (st.st_size <= 0 || st.st_size > SYMHV_SYMBOLIC_MAX_BYTES) {
        fprintf(stderr, "symhv-agent: %s: size %lld is not 1 byte to 1 MiB\n", path,
                (long long)st.st_size);
        return 1;
    }
    size_t len = (size_t)st.st_size;
    /* The file's own pages (its page cache), mapped and locked: symhv makes those bytes
     * symbolic where they are, so every later reader sees symbolic data, whether it maps
     * the file or read()s it (Linux's copy, interpreted by the sidecar). */
    uint8_t *buf = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, fd, 0);
    if (buf == MAP_FAILED || mlock(buf, len) < 0) {
        fprintf(stderr, "symhv-agent: cannot map %s: %s\n", path, strerror(errno));
        return 1;
    }
    if (open_channel() < 0)
        return 1;
    int id = (int)call(SYMHV_HC_MAKE_SYMBOLIC, (long)buf, (long)len, (long)name);
    if (id < 0) {
        fprintf(stderr, "symhv-agent: symhv refused %s: error %d\n", path, -id);
        return 1;
    }
    printf("symhv-agent: %s is symbolic input %d '%s' (%zu bytes)\n", path, id, name, len);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 2)
        return fail("%s", "no command given");
    const char *cmd = argv[1];
    if (!strcmp(cmd, "-h") || !strcmp(cmd, "--help")) {
        fputs(usage_text, stdout);
        return 0;
    }
    if (!strcmp(cmd, "kill")) {
        char *end;
        long status = argc == 4 ? strtol(argv[2], &end, 10) : -1;
        if (argc != 4 || *end || end == argv[2] || status < 0 || status > 255)
            return fail("%s", "kill needs STATUS (0..255) and MESSAGE");
        if (open_channel() < 0)
            return 1;
        for (;;) /* the VM stops; the call does not return */
            call(SYMHV_HC_KILL, status, (long)argv[3], 0);
    }
    if (!strcmp(cmd, "bug") || !strcmp(cmd, "print")) {
        if (argc != 3)
            return fail("%s needs one argument", cmd);
        if (open_channel() < 0)
            return 1;
        long rc = cmd[0] == 'b' ? call(SYMHV_HC_REPORT_BUG, (long)argv[2], 0, 0)
                                : call(SYMHV_HC_PRINT, (long)argv[2], (long)strlen(argv[2]), 0);
        if (rc < 0)
            fprintf(stderr, "symhv-agent: symhv refused the %s call: error %ld\n", cmd, -rc);
        return rc < 0 ? 1 : 0;
    }
    if (!strcmp(cmd, "symbolic")) {
        if (argc != 3 && argc != 4)
            return fail("%s", "symbolic needs FILE and an optional NAME");
        const char *name = argc == 4 ? argv[3] : strrchr(argv[2], '/') ? strrchr(argv[2], '/') + 1 : argv[2];
        if (!*name || strlen(name) > SYMHV_INPUT_NAME_MAX)
            return fail("input name '%s' must be 1 to 63 characters", name);
        return make_file_symbolic(argv[2], name);
    }
    return fail("unknown command '%s'", cmd);
}
