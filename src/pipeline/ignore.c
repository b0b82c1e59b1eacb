/*
** pipeline/ignore.c: .gitignore rules. A rule set is a stack of rules, each
** scoped to the directory of the file it came from; the walker pushes a
** directory's rules when it enters it and truncates them when it leaves,
** so at any time the set holds exactly the rules of the ancestors of the
** path being tested, in order of precedence (last match wins).
*/
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pipeline/pipeline.h"

typedef struct pipeline__rule {
    char *base;     /* directory of the ignore file, "" for root */
    char *pattern;  /* pattern without '!', leading '/' and trailing '/' */
    bool negate;    /* "!pattern": re-include */
    bool dir_only;  /* "pattern/": directories only */
    bool anchored;  /* has a '/' before its end: relative to base, else any depth */
} pipeline__rule;

struct pipeline_ignore {
    pipeline__rule *rules; /* in order of addition */
    size_t n;            /* used */
    size_t cap;          /* allocated */
};

pipeline_ignore *pipeline_ignore_new(void) {
    return calloc(1, sizeof(pipeline_ignore));
}

void pipeline_ignore_truncate(pipeline_ignore *ig, size_t mark) {
    if (!ig) return;
    while (ig->n > mark) {
        ig->n--;
        free(ig->rules[ig->n].base);
        free(ig->rules[ig->n].pattern);
    }
}

void pipeline_ignore_free(pipeline_ignore *ig) {
    if (!ig) return;
    pipeline_ignore_truncate(ig, 0);
    free(ig->rules);
    free(ig);
}

size_t pipeline_ignore_mark(const pipeline_ignore *ig) {
    return ig ? ig->n : 0;
}

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

/* ==== Rules ==== */

static sc_status pipeline__add_rule(pipeline_ignore *ig, const char *base, const char *line, size_t n) {
    /* trailing spaces are ignored unless escaped */
    while (n > 0 && (line[n - 1] == ' ' || line[n - 1] == '\t' || line[n - 1] == '\r')) {
        if (n >= 2 && line[n - 2] == '\\') break;
        n--;
    }
    if (n == 0 || line[0] == '#') return SC_OK;
    bool negate = false, dir_only = false, anchored = false;
    if (line[0] == '!') { negate = true; line++; n--; }
    else if (line[0] == '\\' && n > 1 && (line[1] == '!' || line[1] == '#')) { line++; n--; }
    if (n > 0 && line[n - 1] == '/') { dir_only = true; n--; }
    if (n == 0) return SC_OK;
    if (memchr(line, '/', n)) anchored = true;
    if (line[0] == '/') { line++; n--; }
    if (n == 0) return SC_OK;
    if (!util_grow(&ig->rules, &ig->cap, ig->n + 1, sizeof *ig->rules, 32)) return SC_NOMEM;
    pipeline__rule *r = &ig->rules[ig->n];
    r->base = util_strdup(base ? base : "");
    r->pattern = malloc(n + 1);
    if (!r->base || !r->pattern) {
        free(r->base);
        free(r->pattern);
        return SC_NOMEM;
    }
    memcpy(r->pattern, line, n);
    r->pattern[n] = 0;
    r->negate = negate;
    r->dir_only = dir_only;
    r->anchored = anchored;
    ig->n++;
    return SC_OK;
}

sc_status pipeline_ignore_add_text(pipeline_ignore *ig, const char *base, const char *text, size_t n) {
    if (!ig) return SC_MISUSE;
    size_t i = 0;
    while (i < n) {
        size_t e = i;
        while (e < n && text[e] != '\n') e++;
        sc_status rc = pipeline__add_rule(ig, base, text + i, e - i);
        if (rc != SC_OK) return rc;
        i = e + 1;
    }
    return SC_OK;
}

sc_status pipeline_ignore_add_file(pipeline_ignore *ig, const char *base, const char *fs_path) {
    FILE *f = fopen(fs_path, "rb");
    if (!f) return SC_OK;
    util_buf b = {0};
    char chunk[4096];
    size_t got;
    while ((got = fread(chunk, 1, sizeof chunk, f)) > 0 && b.len < (1u << 20)) util_buf_append(&b, chunk, got);
    fclose(f);
    if (b.oom) {
        util_buf_free(&b);
        return SC_NOMEM;
    }
    sc_status rc = pipeline_ignore_add_text(ig, base, b.data ? b.data : "", b.len);
    util_buf_free(&b);
    return rc;
}

bool pipeline_ignore_match(const pipeline_ignore *ig, const char *path, bool is_dir) {
    if (!ig) return false;
    for (size_t i = ig->n; i-- > 0;) {
        const pipeline__rule *r = &ig->rules[i];
        if (r->dir_only && !is_dir) continue;
        const char *rel = path;
        size_t bl = strlen(r->base);
        if (bl) {
            if (strncmp(path, r->base, bl) != 0 || path[bl] != '/') continue;
            rel = path + bl + 1;
        }
        bool hit;
        if (r->anchored) {
            hit = pipeline_glob_match(r->pattern, rel);
        } else {
            const char *slash = strrchr(rel, '/');
            hit = pipeline_glob_match(r->pattern, slash ? slash + 1 : rel);
        }
        if (hit) return !r->negate;
    }
    return false;
}
