#include "log.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

/* Written once in main() before threads exist, only read afterwards: no lock needed. */
static int log_verbose;
static const char *log_who = ""; /* after "symhv: ": a second process says who it is */

void hv_log_set_verbose(int verbose) { log_verbose = verbose; }
void hv_log_set_who(const char *who) { log_who = who; }

static void vlog(const char *fmt, va_list ap, const char *suffix)
{
    char line[1024];
    int n = vsnprintf(line, sizeof line, fmt, ap);
    if (n < 0)
        line[0] = 0;
    /* One fprintf call so lines from different vCPU threads do not interleave. */
    fprintf(stderr, "symhv: %s%s%s%s\n", log_who, line, suffix ? ": " : "", suffix ? suffix : "");
}

void hv_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vlog(fmt, ap, NULL);
    va_end(ap);
}

void hv_error_errno(const char *fmt, ...)
{
    int saved = errno;
    va_list ap;
    va_start(ap, fmt);
    vlog(fmt, ap, strerror(saved));
    va_end(ap);
    errno = saved;
}

void hv_info(const char *fmt, ...)
{
    if (!log_verbose)
        return;
    va_list ap;
    va_start(ap, fmt);
    vlog(fmt, ap, NULL);
    va_end(ap);
}

void hv_notice(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vlog(fmt, ap, NULL);
    va_end(ap);
}
