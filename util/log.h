/* Error and progress messages of symhv (the VMM and its fuzzing library): one line each,
 * prefixed "symhv: ". */
#ifndef UTIL_LOG_H
#define UTIL_LOG_H

#include <stdarg.h>

__attribute__((format(printf, 1, 2))) void hv_error(const char *fmt, ...);
/* Like hv_error, with ": strerror(errno)" appended. */
__attribute__((format(printf, 1, 2))) void hv_error_errno(const char *fmt, ...);
/* Progress, shown with -v only. */
__attribute__((format(printf, 1, 2))) void hv_info(const char *fmt, ...);
/* Something the user should know though nothing failed (e.g. options symhv added for
 * this host): always shown. */
__attribute__((format(printf, 1, 2))) void hv_notice(const char *fmt, ...);

/* Set once by main() before any thread starts; read-only afterwards. */
void hv_log_set_verbose(int verbose);
/* Likewise: text every message carries after "symhv: " (a forked helper's "cmplog peer: "). */
void hv_log_set_who(const char *who);

#endif
