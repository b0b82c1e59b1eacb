/*
** cli/options.c: the one way every subcommand reads its options. A thin
** layer over getopt_long (so `--opt value` and `--opt=value` both work, and
** options may come before or after the positional arguments) that gives
** the same messages everywhere: an unknown option, a missing value or a
** value given to a flag names the option and points to `semcode CMD
** --help`; numeric values are checked whole and within their range
** ("--port must be an integer from 0 to 65535, got 'x'").
*/
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"

/* ==== Messages ==== */

int cli_usage_error(const char *cmd, const char *fmt, const char *arg) {
    fprintf(stderr, "semcode %s: ", cmd);
    fprintf(stderr, fmt, arg);
    fprintf(stderr, "\nRun 'semcode %s --help' for usage.\n", cmd);
    return 2;
}

/* ==== Numbers ==== */

/* s as an integer within [lo, hi]: decimal digits only, the whole string. */
static bool cli__parse_u64(const char *s, uint64_t lo, uint64_t hi, uint64_t *out) {
    if (!s || *s < '0' || *s > '9') return false; /* no sign, no white space, not empty */
    char *end = NULL;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (*end || errno == ERANGE || v < lo || v > hi) return false;
    *out = (uint64_t)v;
    return true;
}

bool cli_parse_f(const char *s, float lo, float hi, float *out) {
    char *end = NULL;
    double v = strtod(s, &end);
    if (!*s || *end || !(v >= (double)lo && v <= (double)hi)) return false; /* NaN fails the range */
    *out = (float)v;
    return true;
}

int cli_opt_u64(const char *cmd, const char *name, const char *arg, uint64_t lo, uint64_t hi, uint64_t *out) {
    if (cli__parse_u64(arg, lo, hi, out)) return 0;
    fprintf(stderr, "semcode %s: %s must be an integer from %llu to %llu, got '%s'\n", cmd, name,
            (unsigned long long)lo, (unsigned long long)hi, arg);
    fprintf(stderr, "Run 'semcode %s --help' for usage.\n", cmd);
    return 2;
}

int cli_opt_u32(const char *cmd, const char *name, const char *arg, uint32_t lo, uint32_t hi, uint32_t *out) {
    uint64_t v;
    int rc = cli_opt_u64(cmd, name, arg, lo, hi, &v);
    if (!rc) *out = (uint32_t)v;
    return rc;
}

int cli_opt_f(const char *cmd, const char *name, const char *arg, float lo, float hi, float *out) {
    if (cli_parse_f(arg, lo, hi, out)) return 0;
    fprintf(stderr, "semcode %s: %s must be a number from %g to %g, got '%s'\n", cmd, name, (double)lo, (double)hi,
            arg);
    fprintf(stderr, "Run 'semcode %s --help' for usage.\n", cmd);
    return 2;
}

int cli_opt_enum(const char *cmd, const char *name, const char *arg, const char *const *names, uint32_t n,
                 uint32_t *out) {
    for (uint32_t i = 0; i < n; i++)
        if (!strcmp(arg, names[i])) {
            *out = i;
            return 0;
        }
    char fmt[256]; /* "--pooling must be idf, learned or sides, got '%s'" */
    size_t k = (size_t)snprintf(fmt, sizeof fmt, "%s must be ", name);
    for (uint32_t i = 0; i < n && k < sizeof fmt; i++)
        k += (size_t)snprintf(fmt + k, sizeof fmt - k, "%s%s", i == 0 ? "" : i + 1 == n ? " or " : ", ", names[i]);
    if (k < sizeof fmt) snprintf(fmt + k, sizeof fmt - k, ", got '%%s'");
    return cli_usage_error(cmd, fmt, arg);
}

/* ==== getopt_long ==== */

void cli_opts_begin(cli_opts *p, const char *cmd, int argc, char **argv, const char *shortopts,
                    const struct option *longopts) {
    p->cmd = cmd;
    p->argc = argc;
    p->argv = argv;
    p->longopts = longopts;
    /* A leading '+' (stop at the first argument) or '-' (arguments in
    ** order) stays first; ':' makes a missing value its own case. */
    size_t k = 0;
    if (*shortopts == '+' || *shortopts == '-') p->shortopts[k++] = *shortopts++;
    p->shortopts[k++] = ':';
    snprintf(p->shortopts + k, sizeof p->shortopts - k, "%s", shortopts);
    optind = 0; /* glibc: start afresh, also inside a short-option cluster a previous parse left */
    opterr = 0; /* the messages are ours */
}

/* The long option of p named by text (up to '=' or the end; a unique
** prefix counts, as for getopt_long), and how many options it could name. */
static const struct option *cli__opts_find(const cli_opts *p, const char *text, int *n_found) {
    size_t len = strcspn(text, "=");
    const struct option *hit = NULL;
    *n_found = 0;
    for (const struct option *o = p->longopts; o && o->name; o++) {
        if (strncmp(o->name, text, len)) continue;
        if (strlen(o->name) == len) {
            *n_found = 1;
            return o;
        }
        hit = o;
        ++*n_found;
    }
    return hit;
}

/* Print why getopt_long refused an argument (ch '?' or ':'). */
static void cli__opts_bad(const cli_opts *p, int ch) {
    /* A long option is the element just passed; a short one is optopt
    ** (the element may then be an earlier one, inside a cluster). */
    const char *el = optind > 0 && optind <= p->argc ? p->argv[optind - 1] : "";
    int n_found = 0;
    const struct option *o = NULL;
    if (!strncmp(el, "--", 2) && el[2]) {
        o = cli__opts_find(p, el + 2, &n_found);
        /* with optopt set, the element must be the long option of that value */
        if (optopt && (!o || o->val != optopt || n_found != 1)) o = NULL, n_found = -1;
    } else {
        n_found = -1;
    }
    char name[64];
    if (n_found < 0) snprintf(name, sizeof name, "-%c", optopt);
    else if (n_found == 1) snprintf(name, sizeof name, "--%s", o->name);
    else snprintf(name, sizeof name, "%.*s", (int)strcspn(el, "="), el);
    if (ch == ':') cli_usage_error(p->cmd, "option '%s' needs a value", name);
    else if (n_found > 1) {
        char msg[256];
        size_t len = strcspn(el + 2, "="), k = (size_t)snprintf(msg, sizeof msg, "option '%%s' is ambiguous (");
        for (const struct option *c = p->longopts; c->name && k < sizeof msg; c++)
            if (!strncmp(c->name, el + 2, len))
                k += (size_t)snprintf(msg + k, sizeof msg - k, "%s--%s", msg[k - 1] == '(' ? "" : ", ", c->name);
        if (k < sizeof msg) snprintf(msg + k, sizeof msg - k, ")");
        cli_usage_error(p->cmd, msg, name);
    }
    else if (n_found == 1) cli_usage_error(p->cmd, "option '%s' takes no value", name);
    else cli_usage_error(p->cmd, "unknown option '%s'", name);
}

int cli_opts_next(cli_opts *p) {
    p->index = -1;
    int ch = getopt_long(p->argc, p->argv, p->shortopts, p->longopts, &p->index);
    if (ch == '?' || ch == ':') {
        cli__opts_bad(p, ch);
        return CLI_OPT_BAD;
    }
    return ch;
}
