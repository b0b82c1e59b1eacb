/*
** util/log.c: the library's logger. Every message the library has for a
** human (a graph rebuilt, a cache moved aside) goes through util_log to a
** logger: the handle's own when it has one (sc_db_options.logger), else
** the global one (sc_log_set_global), else the default, which writes
** "semcode: <msg>" lines to stderr.
**
** DESIGN. The global logger is two words read and written under a mutex:
** messages are rare (recoveries and failures), so the lock costs nothing
** that matters, and a reader never sees a payload from one logger with the
** callback of another.
*/
#include "util/util.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>

static pthread_mutex_t util__log_mu = PTHREAD_MUTEX_INITIALIZER;
static sc_logger util__log_global; /* log NULL = the default (stderr) */

void sc_log_set_global(const sc_logger *logger) {
    pthread_mutex_lock(&util__log_mu);
    if (logger && logger->log) util__log_global = *logger;
    else util__log_global = (sc_logger){0};
    pthread_mutex_unlock(&util__log_mu);
}

const char *sc_log_level_name(sc_log_level level) {
    switch (level) {
    case SC_LOG_LEVEL_DEBUG: return "debug";
    case SC_LOG_LEVEL_INFO: return "info";
    case SC_LOG_LEVEL_WARN: return "warn";
    case SC_LOG_LEVEL_ERROR: return "error";
    }
    return "unknown";
}

void util_log(const sc_logger *lg, sc_log_level level, const char *fmt, ...) {
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    sc_logger use;
    if (lg && lg->log) {
        use = *lg;
    } else {
        pthread_mutex_lock(&util__log_mu);
        use = util__log_global;
        pthread_mutex_unlock(&util__log_mu);
    }
    if (use.log) use.log(use.payload, level, msg);
    else fprintf(stderr, "semcode: %s\n", msg); /* one call: stdio locks the stream, lines never interleave */
}
