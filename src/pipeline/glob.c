/*
** pipeline/glob.c: glob matching of one path against one pattern with
** .gitignore's wildcard syntax ('*' and '?' stop at '/', "**" crosses it,
** [a-z] classes, '\' escapes). Used by the --path / --exclude filters of a
** search (src/repo/repo.c), which match globs against indexed paths; the
** walker's ignore rules are in ignore.c.
*/
#include <stdlib.h>
#include <string.h>

#include "pipeline/pipeline.h"

/* ==== Glob ==== */

/* Match a bracket class at p (just after '['); sets *adv to the length of
** the class (including the closing ']') or 0 if malformed. */
static bool pipeline__class(const char *p, char c, size_t *adv) {
    size_t i = 0;
    bool neg = false, hit = false;
    if (p[i] == '!' || p[i] == '^') { neg = true; i++; }
    bool first = true;
    while (p[i] && (first || p[i] != ']')) {
        first = false;
        char lo = p[i];
        if (lo == '\\' && p[i + 1]) lo = p[++i];
        char hi = lo;
        if (p[i + 1] == '-' && p[i + 2] && p[i + 2] != ']') {
            hi = p[i + 2];
            if (hi == '\\' && p[i + 3]) { hi = p[i + 3]; i++; }
            i += 2;
        }
        if (c >= lo && c <= hi) hit = true;
        i++;
    }
    if (p[i] != ']') { *adv = 0; return false; }
    *adv = i + 1;
    return hit != neg;
}

/* Matcher state: failures are memoised by (pattern offset, path offset), so
** patterns full of stars stay polynomial (O(pattern x path) states). */
typedef struct pipeline__globber {
    const char *p0;  /* pattern */
    const char *s0;  /* path */
    size_t ns;       /* path length */
    uint8_t *failed; /* bit per (pi, si) already known not to match */
} pipeline__globber;

static bool pipeline__glob(pipeline__globber *g, size_t pi, size_t si) {
    size_t key = pi * (g->ns + 1) + si;
    if (g->failed[key >> 3] & (1u << (key & 7))) return false;
    const char *p = g->p0 + pi, *s = g->s0 + si;
    bool ok = false;
    for (;;) {
        if (!*p) { ok = *s == 0; break; }
        if (p[0] == '*' && p[1] == '*') {
            const char *q = p + 2;
            while (*q == '*') q++;
            if (*q == '/') { /* "**" followed by '/': zero or more directories */
                q++;
                for (const char *t = s;; t++) {
                    if ((t == s || t[-1] == '/') && pipeline__glob(g, (size_t)(q - g->p0), (size_t)(t - g->s0))) { ok = true; break; }
                    if (!*t) break;
                }
                break;
            }
            for (const char *t = s;; t++) { /* "**" elsewhere: anything, slashes included */
                if (pipeline__glob(g, (size_t)(q - g->p0), (size_t)(t - g->s0))) { ok = true; break; }
                if (!*t) break;
            }
            break;
        }
        if (*p == '*') {
            for (const char *t = s;; t++) {
                if (pipeline__glob(g, (size_t)(p + 1 - g->p0), (size_t)(t - g->s0))) { ok = true; break; }
                if (!*t || *t == '/') break;
            }
            break;
        }
        if (!*s) break;
        if (*p == '?') {
            if (*s == '/') break;
            p++, s++;
            continue;
        }
        if (*p == '[') {
            size_t adv = 0;
            bool hit = pipeline__class(p + 1, *s, &adv);
            if (adv) {
                if (!hit || *s == '/') break;
                p += 1 + adv;
                s++;
                continue;
            }
            /* malformed class: '[' is a literal */
        }
        if (*p == '\\' && p[1]) p++;
        if (*p != *s) break;
        p++, s++;
    }
    if (!ok) g->failed[key >> 3] |= (uint8_t)(1u << (key & 7));
    return ok;
}

bool pipeline_glob_match(const char *pattern, const char *path) {
    size_t np = strlen(pattern), ns = strlen(path);
    if (np > 4096 || ns > 8192) return false; /* no real rule or path is that long */
    size_t bits = (np + 1) * (ns + 1);
    uint8_t stackbuf[2048];
    uint8_t *failed = bits / 8 + 1 <= sizeof stackbuf ? stackbuf : malloc(bits / 8 + 1);
    if (!failed) return false;
    memset(failed, 0, bits / 8 + 1);
    pipeline__globber g = {pattern, path, ns, failed};
    bool ok = pipeline__glob(&g, 0, 0);
    if (failed != stackbuf) free(failed);
    return ok;
}
