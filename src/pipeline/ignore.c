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
