/*
** repo/eval.c: the quality harness run through the product path
** (sc_repo_eval, `semcode eval --repo`).
**
** 1. Walk the tree as `semcode index` does; parse every file with a
**    grammar; each documented entity (not a chunk) may become a query: its
**    doc comment made into text as the held-out pairs are
**    (repo_doc_query), kept when it has at least 3 words, the entity at
**    least 3 lines, neither name nor path looks like a test, the doc does
**    not start with "deprecated"-like words, and no other entity of the
**    tree has the same query text (it would be ambiguous).
** 2. Write a copy of the tree with the doc comments cut out
**    (repo_strip_docs, repeated while the parser still finds docs), so
**    neither the embedded nor the BM25 text nor any chunk holds them.
**    Re-parse the copy: the target of a query is its entity's path and
**    first line there (matched by kind, qualified name and ordinal).
** 3. Index the copy with sc_repo_open + sc_repo_update (a store of its
**    own), then run every query in hybrid, dense and keyword mode with
**    sc_repo_search and score the rank of the target's path and line.
*/
#include "repo/repo_int.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>


#define EVAL_MAX_PASSES 4 /* strip rounds: a doc cut out may reveal another above it */

/* ==== Metrics ==== */

void repo_rank_add(repo_rank_acc *a, uint32_t rank) {
    a->n++;
    if (!rank) return;
    a->rr += 1.0 / rank;
    if (rank <= 1) a->at1++;
    if (rank <= 10) a->at10++;
}

sc_repo_eval_scores repo_rank_scores(const repo_rank_acc *a) {
    if (!a->n) return (sc_repo_eval_scores){.mrr = 0, .recall_1 = 0, .recall_10 = 0};
    double n = (double)a->n;
    return (sc_repo_eval_scores){.mrr = a->rr / n, .recall_1 = (double)a->at1 / n, .recall_10 = (double)a->at10 / n};
}

/* ==== Query text ==== */

static bool eval__space(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\f' || c == '\v'; }
static bool eval__word(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           (unsigned char)c >= 0x80;
}

/* A line (trimmed) that only carries tags or parameter lists. */
static bool eval__tag_line(const char *s, size_t n) {
    while (n && eval__space(*s)) s++, n--;
    static const char *const pre[] = {"@", ":param", ":return", ":raises", "Args:", "Returns:", NULL};
    for (int i = 0; pre[i]; i++)
        if (n >= strlen(pre[i]) && !memcmp(s, pre[i], strlen(pre[i]))) return true;
    return false;
}

char *repo_doc_query(const char *doc, bool whole) {
    if (!doc) return NULL;
    /* 1. lines of the first paragraph (or all), tag lines dropped, joined by spaces */
    util_buf b = {0};
    const char *p = doc;
    while (*p && eval__space(*p)) p++;
    bool started = false;
    while (*p) {
        const char *e = strchr(p, '\n');
        size_t n = e ? (size_t)(e - p) : strlen(p);
        bool blank = true;
        for (size_t i = 0; i < n; i++)
            if (!eval__space(p[i])) blank = false;
        if (blank && started && !whole) break;
        if (!blank && !eval__tag_line(p, n)) {
            util_buf_append(&b, p, n);
            util_buf_puts(&b, " ");
            started = true;
        }
        if (!e) break;
        p = e + 1;
    }
    if (!b.len || b.oom) {
        util_buf_free(&b);
        return NULL;
    }
    /* 2. {@tag x} -> x, HTML tags and entities, white space collapsed */
    util_buf o = {0};
    const char *s = b.data;
    bool pending_space = false;
    while (*s) {
        if (s[0] == '{' && s[1] == '@') {
            const char *q = s + 2;
            while (eval__word(*q)) q++;
            while (*q == ' ' || *q == '\t') q++;
            const char *close = strchr(q, '}');
            if (close) {
                if (pending_space && o.len) util_buf_puts(&o, " ");
                pending_space = false;
                util_buf_append(&o, q, (size_t)(close - q));
                s = close + 1;
                continue;
            }
        }
        if (s[0] == '<' && (((s[1] | 32) >= 'a' && (s[1] | 32) <= 'z') || (s[1] == '/' && ((s[2] | 32) >= 'a' && (s[2] | 32) <= 'z')))) {
            const char *close = strchr(s, '>');
            if (close) {
                pending_space = true;
                s = close + 1;
                continue;
            }
        }
        static const char *const ent[][2] = {{"&lt;", "<"}, {"&gt;", ">"}, {"&amp;", "&"}, {"&nbsp;", " "}};
        bool done = false;
        for (size_t i = 0; i < sizeof ent / sizeof ent[0]; i++)
            if (!strncmp(s, ent[i][0], strlen(ent[i][0]))) {
                if (ent[i][1][0] == ' ') pending_space = true;
                else {
                    if (pending_space && o.len) util_buf_puts(&o, " ");
                    pending_space = false;
                    util_buf_puts(&o, ent[i][1]);
                }
                s += strlen(ent[i][0]);
                done = true;
                break;
            }
        if (done) continue;
        if (eval__space(*s)) {
            pending_space = true;
            s++;
            continue;
        }
        if (pending_space && o.len) util_buf_puts(&o, " ");
        pending_space = false;
        util_buf_append(&o, s, 1);
        s++;
    }
    util_buf_free(&b);
    if (!o.len || o.oom) {
        util_buf_free(&o);
        return NULL;
    }
    /* 3. kernel-doc "name() - " prefix: [\w.:]+(\(\))?\s+-+\s+ */
    const char *t = o.data;
    while (eval__word(*t) || *t == '.' || *t == ':') t++;
    if (t > o.data) {
        if (t[0] == '(' && t[1] == ')') t += 2;
        const char *u = t;
        while (*u == ' ') u++;
        if (u > t && *u == '-') {
            while (*u == '-') u++;
            const char *v = u;
            while (*v == ' ') v++;
            if (v > u && *v) {
                memmove(o.data, v, strlen(v) + 1);
                o.len = strlen(o.data);
            }
        }
    }
    /* 4. cut at a UTF-8 boundary */
    size_t max = whole ? 2000 : 600;
    if (o.len > max) {
        size_t k = max;
        while (k > 0 && ((unsigned char)o.data[k] & 0xc0) == 0x80) k--;
        o.data[k] = '\0';
        o.len = k;
    }
    return o.data;
}

/* ==== Stripping doc comments ==== */

typedef struct eval_range {
    size_t a, z; /* bytes [a, z) */
} eval_range;

static int eval__range_cmp(const void *x, const void *y) {
    const eval_range *p = x, *q = y;
    return p->a < q->a ? -1 : p->a > q->a ? 1 : (p->z > q->z) - (p->z < q->z);
}

/* Is src[a..) a Python string literal (a docstring) rather than a comment? */
static bool eval__py_string(const char *src, size_t a, size_t z) {
    size_t i = a;
    while (i < z && i < a + 3 && strchr("rRbBuUfF", src[i])) i++;
    return i < z && (src[i] == '"' || src[i] == '\'');
}

/* Does the Python block that held a docstring at column `indent` go on
** after byte z (a later statement at least as indented)? */
static bool eval__py_block_goes_on(const char *src, size_t n, size_t z, size_t indent) {
    size_t i = z;
    /* rest of the docstring's own line */
    while (i < n && src[i] != '\n') {
        if (!eval__space(src[i])) return true; /* "...""; x" : something follows on the line */
        i++;
    }
    while (i < n) {
        i++; /* past '\n' */
        size_t col = 0, j = i;
        while (j < n && (src[j] == ' ' || src[j] == '\t')) j++, col++;
        if (j >= n) return false;
        if (src[j] == '\n' || src[j] == '\r' || src[j] == '#') { /* blank or comment line */
            while (j < n && src[j] != '\n') j++;
            i = j;
            continue;
        }
        return col >= indent;
    }
    return false;
}

char *repo_strip_docs(const sc_parse_result *res, const char *src, size_t n, size_t *out_n, uint32_t *n_cut) {
    *n_cut = 0;
    eval_range *rg = malloc(sizeof *rg * (res->n_entities ? res->n_entities : 1));
    util_buf b = {0};
    if (!rg) return NULL;
    size_t nr = 0;
    for (uint32_t i = 0; i < res->n_entities; i++) {
        const sc_entity *e = &res->entities[i];
        if (e->kind == SC_ENTITY_KIND_CHUNK || !e->doc || e->doc_end_byte <= e->doc_start_byte) continue;
        size_t a = (size_t)(e->doc_start_byte < n ? e->doc_start_byte : n);
        size_t z = (size_t)(e->doc_end_byte < n ? e->doc_end_byte : n);
        if (z > a) rg[nr++] = (eval_range){a, z};
    }
    qsort(rg, nr, sizeof *rg, eval__range_cmp);
    size_t pos = 0;
    for (size_t k = 0; k < nr; k++) {
        size_t a = rg[k].a, z = rg[k].z;
        if (z <= pos) continue; /* inside a range already cut */
        if (a < pos) a = pos;
        bool docstring = res->lang == SC_LANG_PYTHON && eval__py_string(src, a, z);
        if (z > a && src[z - 1] == '\n') z--; /* a comment that swallowed its newline */
        size_t la = a, lz = z;
        while (la > pos && (src[la - 1] == ' ' || src[la - 1] == '\t')) la--;
        while (lz < n && (src[lz] == ' ' || src[lz] == '\t' || src[lz] == '\r')) lz++;
        bool alone = (la == 0 || src[la - 1] == '\n') && (lz == n || src[lz] == '\n');
        size_t line0 = a;
        while (line0 > 0 && src[line0 - 1] != '\n') line0--;
        bool need_pass = docstring && !eval__py_block_goes_on(src, n, z, a - line0);
        if (alone) {
            util_buf_append(&b, src + pos, la - pos);
            if (need_pass) {
                util_buf_append(&b, src + la, a - la); /* the indentation */
                util_buf_puts(&b, "pass\n");
            }
            pos = lz < n ? lz + 1 : lz;
        } else {
            util_buf_append(&b, src + pos, a - pos);
            if (need_pass) util_buf_puts(&b, "pass");
            pos = z;
        }
        (*n_cut)++;
    }
    util_buf_append(&b, src + pos, n - pos);
    free(rg);
    if (b.oom) {
        util_buf_free(&b);
        return NULL;
    }
    if (!b.data) { /* empty result */
        b.data = calloc(1, 1);
        if (!b.data) return NULL;
    }
    *out_n = b.len;
    return b.data;
}

/* ==== The harness ==== */

typedef struct eval_query {
    char *text;          /* query text (owned) */
    char *path;          /* relative path of the target (owned) */
    sc_lang lang;        /* language of the file */
    sc_entity_kind kind; /* target's kind */
    char *qname;         /* target's qualified name (owned) */
    uint32_t ordinal;    /* among entities of the file with that kind and name */
    uint32_t line;       /* target's first line in the stripped copy (0 = lost) */
    bool dropped;        /* ambiguous text */
} eval_query;

typedef struct eval_state {
    eval_query *q;       /* queries */
    size_t n, cap;       /* used, allocated */
    uint64_t files_by_lang[SC_LANG_COUNT];
    uint64_t documented_by_lang[SC_LANG_COUNT];
} eval_state;

static bool eval__testy(const char *s) {
    /* (^|[/_.])(tests?|testing|testdata|spec)([/_.]|$), case-insensitive, as tools/split_pairs.py */
    static const char *const w[] = {"testdata", "testing", "tests", "test", "spec", NULL};
    size_t n = strlen(s);
    for (size_t i = 0; i < n; i++) {
        if (i > 0 && !strchr("/_.", s[i - 1])) continue;
        for (int k = 0; w[k]; k++) {
            size_t m = strlen(w[k]);
            if (i + m <= n && !strncasecmp(s + i, w[k], m) && (i + m == n || strchr("/_.", s[i + m]))) return true;
        }
    }
    return false;
}

static bool eval__keep(const sc_parse_result *res, const sc_entity *e, const char *text) {
    const char *name = e->name ? e->name : "";
    if (eval__testy(res->path) || strcasestr(name, "test")) return false;
    if (e->end_line < e->start_line + 2) return false; /* at least 3 lines */
    size_t words = 0;
    for (const char *p = text; *p;) {
        while (*p == ' ') p++;
        if (!*p) break;
        words++;
        while (*p && *p != ' ') p++;
    }
    if (words < 3) return false;
    static const char *const pre[] = {"deprecated", "inheritdoc", "todo", "fixme", "copyright", "spdx", NULL};
    for (int i = 0; pre[i]; i++)
        if (!strncasecmp(text, pre[i], strlen(pre[i]))) return false;
    return true;
}

static int eval__text_cmp(const void *x, const void *y) {
    const eval_query *const *p = x, *const *q = y;
    return strcmp((*p)->text, (*q)->text);
}

/* mkdir -p of the directories above path. */
static int eval__mkdirs(char *path) {
    for (char *s = path + 1; *s; s++) {
        if (*s != '/') continue;
        *s = '\0';
        int rc = mkdir(path, 0755);
        *s = '/';
        if (rc != 0 && errno != EEXIST) return -1;
    }
    return 0;
}

static int eval__write(const char *dir, const char *rel, const char *data, size_t n) {
    char p[PATH_MAX * 2];
    snprintf(p, sizeof p, "%s/%s", dir, rel);
    if (eval__mkdirs(p) != 0) return -1;
    FILE *f = fopen(p, "wb");
    if (!f) return -1;
    size_t w = n ? fwrite(data, 1, n, f) : 0;
    return (fclose(f) == 0 && w == n) ? 0 : -1;
}

static int eval__rm(const char *p, const struct stat *sb, int flag, struct FTW *ftw) {
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(p);
}

static bool eval__push(eval_state *st, eval_query q) {
    if (!util_grow(&st->q, &st->cap, st->n + 1, sizeof *st->q, 256)) return false;
    st->q[st->n++] = q;
    return true;
}

/* One file: queries from the original, the stripped copy written, targets
** located in the copy. */
static sc_status eval__file(sc_parser *ps, const char *root, const char *dst, const char *rel, bool whole,
                            eval_state *st, sc_repo_eval_result *out, char *err, size_t err_size) {
    char p[PATH_MAX * 2];
    snprintf(p, sizeof p, "%s/%s", root, rel);
    size_t n = 0;
    char *src = util_read_file(p, &n);
    if (!src) {
        snprintf(err, err_size, "cannot read %.300s", p);
        return SC_IOERR;
    }
    sc_parse_options po = sc_parse_options_default();
    po.with_chunks = false;
    sc_lang lang = sc_lang_detect(rel, src, n < 256 ? n : 256);
    out->files++;
    if (lang == SC_LANG_UNKNOWN || !sc_lang_has_grammar(lang)) {
        int w = eval__write(dst, rel, src, n);
        free(src);
        if (w != 0) snprintf(err, err_size, "cannot write %.300s/%.300s", dst, rel);
        return w ? SC_IOERR : SC_OK;
    }
    po.lang = lang;
    st->files_by_lang[lang]++;
    sc_parse_result *res = NULL;
    if (sc_parser_parse(ps, rel, src, n, &po, &res) != SC_OK) {
        free(src);
        snprintf(err, err_size, "out of memory parsing %.300s", rel);
        return SC_NOMEM;
    }
    size_t first = st->n;
    for (uint32_t i = 0; res->skipped == SC_SKIP_NONE && i < res->n_entities; i++) {
        const sc_entity *e = &res->entities[i];
        if (e->kind == SC_ENTITY_KIND_CHUNK || !e->doc || !*e->doc) continue;
        st->documented_by_lang[lang]++;
        char *text = repo_doc_query(e->doc, whole);
        if (!text || !eval__keep(res, e, text)) {
            free(text);
            out->queries_dropped++;
            continue;
        }
        eval_query q = {.text = text, .path = util_strdup(rel), .lang = lang, .kind = e->kind,
                        .qname = util_strdup(e->qualified_name ? e->qualified_name : ""),
                        .ordinal = pipeline_entity_ordinal(res, i)};
        if (!q.path || !q.qname || !eval__push(st, q)) {
            free(q.text);
            free(q.path);
            free(q.qname);
            sc_parse_result_free(res);
            free(src);
            snprintf(err, err_size, "out of memory");
            return SC_NOMEM;
        }
    }
    uint32_t errors0 = res->n_errors;
    /* strip, re-parse, again while docs remain */
    char *cur = src;
    size_t cur_n = n;
    for (int pass = 0; pass < EVAL_MAX_PASSES && res->skipped == SC_SKIP_NONE; pass++) {
        uint32_t cut = 0;
        size_t nn = 0;
        char *next = repo_strip_docs(res, cur, cur_n, &nn, &cut);
        if (!next) break;
        if (!cut) {
            free(next);
            break;
        }
        out->docs_stripped += cut;
        free(cur);
        cur = next;
        cur_n = nn;
        sc_parse_result_free(res);
        res = NULL;
        if (sc_parser_parse(ps, rel, cur, cur_n, &po, &res) != SC_OK) {
            free(cur);
            snprintf(err, err_size, "out of memory parsing %.300s", rel);
            return SC_NOMEM;
        }
    }
    if (res->n_errors > errors0) out->files_broken++;
    /* targets in the copy */
    for (size_t k = first; k < st->n; k++) {
        eval_query *q = &st->q[k];
        for (uint32_t i = 0; i < res->n_entities; i++) {
            const sc_entity *e = &res->entities[i];
            if (e->kind != q->kind || strcmp(e->qualified_name ? e->qualified_name : "", q->qname)) continue;
            if (pipeline_entity_ordinal(res, i) != q->ordinal) continue;
            q->line = e->start_line;
            break;
        }
    }
    sc_parse_result_free(res);
    int w = eval__write(dst, rel, cur, cur_n);
    free(cur);
    if (w != 0) {
        snprintf(err, err_size, "cannot write %.300s/%.300s", dst, rel);
        return SC_IOERR;
    }
    return SC_OK;
}

/* Rank (1-based) of the query's target among the hits, 0 if absent. */
static uint32_t eval__rank(const sc_code_hits *h, const eval_query *q) {
    for (size_t i = 0; i < h->n; i++)
        if (h->items[i].start_line == q->line && !strcmp(h->items[i].path, q->path)) return (uint32_t)(i + 1);
    return 0;
}

/* One run of the harness: what its steps share. */
typedef struct eval_run {
    sc_repo_eval_options o;     /* options, defaults applied */
    uint32_t limit;             /* results per search */
    char root_abs[PATH_MAX];    /* the tree, absolute */
    char work[PATH_MAX];        /* the work folder */
    char tree[PATH_MAX + 8];    /* WORK/tree: the stripped copy */
    char store[PATH_MAX + 8];   /* WORK/store: its index */
    bool temp;                  /* work is a temporary folder (removed at the end) */
    eval_state st;              /* the queries and per-language counts */
    sc_repo *repo;              /* the copy's index */
    char err[1024];             /* the failure */
} eval_run;

/* Step 0: resolve the tree and make the work folder and WORK/tree; leaves
** nothing to remove when it fails before the work folder is known to be ours
** (*made tells). */
static sc_status eval__prepare(eval_run *e, const char *root, bool *made) {
    *made = false;
    if (!realpath(root, e->root_abs)) {
        snprintf(e->err, sizeof e->err, "%.300s: %.300s", root, strerror(errno));
        return SC_NOTFOUND;
    }
    if (e->temp) {
        const char *tmp = getenv("TMPDIR");
        snprintf(e->work, sizeof e->work, "%s/semcode-eval-XXXXXX", tmp && *tmp ? tmp : "/tmp");
        if (!mkdtemp(e->work)) {
            snprintf(e->err, sizeof e->err, "cannot create a temporary folder: %.300s", strerror(errno));
            return SC_IOERR;
        }
    } else {
        snprintf(e->work, sizeof e->work, "%s", e->o.work_dir);
        if (mkdir(e->work, 0755) != 0 && errno != EEXIST) {
            snprintf(e->err, sizeof e->err, "cannot create %.300s: %.300s", e->work, strerror(errno));
            return SC_IOERR;
        }
    }
    snprintf(e->tree, sizeof e->tree, "%s/tree", e->work);
    snprintf(e->store, sizeof e->store, "%s/store", e->work);
    struct stat sb;
    if (stat(e->tree, &sb) == 0 || stat(e->store, &sb) == 0) {
        snprintf(e->err, sizeof e->err, "%.300s already holds a tree or store; give an empty or new folder", e->work);
        return SC_INVALID;
    }
    *made = true;
    if (mkdir(e->tree, 0755) != 0) {
        snprintf(e->err, sizeof e->err, "cannot create %.300s: %.300s", e->tree, strerror(errno));
        return SC_IOERR;
    }
    return SC_OK;
}

/* Steps 1 + 2: the queries (doc comments) and the stripped copy of every
** file of the tree but its own index folder. */
static sc_status eval__collect(eval_run *e, sc_repo_eval_result *out) {
    sc_walk_options wo = sc_walk_options_default();
    sc_err werr = {0};
    pipeline_file_list files = {0};
    sc_parser *ps = NULL;
    sc_status rc = pipeline_walk(e->root_abs, &wo, &files, &werr);
    if (rc != SC_OK) {
        snprintf(e->err, sizeof e->err, "%.300s", werr.msg);
    } else if ((rc = sc_parser_new(&ps, NULL)) != SC_OK) {
        snprintf(e->err, sizeof e->err, "out of memory");
    }
    for (size_t i = 0; rc == SC_OK && i < files.n; i++) {
        /* the tree's own index folder is not part of it */
        if (!strncmp(files.items[i].path, ".semcode/", 9)) continue;
        rc = eval__file(ps, e->root_abs, e->tree, files.items[i].path, e->o.whole_doc, &e->st, out, e->err,
                        sizeof e->err);
    }
    sc_parser_free(ps);
    pipeline_file_list_free(&files);
    return rc;
}

/* Drop every copy of an ambiguous query text, and the queries whose target
** was not found in the copy; count them in out. */
static sc_status eval__drop_ambiguous(eval_run *e, sc_repo_eval_result *out) {
    eval_state *st = &e->st;
    eval_query **by_text = malloc(sizeof *by_text * (st->n ? st->n : 1));
    if (!by_text) {
        snprintf(e->err, sizeof e->err, "out of memory");
        return SC_NOMEM;
    }
    for (size_t i = 0; i < st->n; i++) by_text[i] = &st->q[i];
    qsort(by_text, st->n, sizeof *by_text, eval__text_cmp);
    for (size_t i = 0; i < st->n;) {
        size_t j = i + 1;
        while (j < st->n && !strcmp(by_text[j]->text, by_text[i]->text)) j++;
        if (j - i > 1)
            for (size_t k = i; k < j; k++) by_text[k]->dropped = true;
        i = j;
    }
    free(by_text);
    for (size_t i = 0; i < st->n; i++)
        if (!st->q[i].dropped && !st->q[i].line) st->q[i].dropped = true; /* not found in the copy */
    for (size_t i = 0; i < st->n; i++)
        if (st->q[i].dropped) out->queries_dropped++;
    return SC_OK;
}

/* Step 3: index the copy the way `semcode index` does. */
static sc_status eval__index(eval_run *e, sc_repo_eval_result *out) {
    sc_repo_options ro = sc_repo_options_default();
    ro.store_dir = e->store;
    ro.model_path = e->o.model_path;
    ro.n_threads = e->o.n_threads;
    ro.allow_rebuild = true;
    char *oerr = NULL;
    sc_status rc = sc_repo_open(e->tree, &ro, &e->repo, &oerr);
    if (rc != SC_OK) {
        snprintf(e->err, sizeof e->err, "%.300s", oerr ? oerr : sc_status_str(rc));
        sc_free(oerr);
        return rc;
    }
    e->repo->template_variant = e->o.template_variant;
    sc_repo_summary sum;
    double t0 = util_now();
    if ((rc = sc_repo_update(e->repo, &sum)) != SC_OK) {
        snprintf(e->err, sizeof e->err, "%.300s", sc_repo_errmsg(e->repo));
        return rc;
    }
    out->seconds_index = util_now() - t0;
    out->entities = sum.entities_added + sum.entities_updated + sum.entities_unchanged;
    return SC_OK;
}

/* Step 4: search every kept query in each mode and fill out's rows (one per
** language with files, then "all"). */
static sc_status eval__search(eval_run *e, sc_repo_eval_result *out) {
    const eval_state *st = &e->st;
    repo_rank_acc acc[SC_LANG_COUNT][3], all[3];
    memset(acc, 0, sizeof acc);
    memset(all, 0, sizeof all);
    uint64_t asked[SC_LANG_COUNT] = {0};
    double t0 = util_now();
    size_t n_asked = 0;
    sc_status rc = SC_OK;
    for (size_t i = 0; rc == SC_OK && i < st->n; i++) {
        const eval_query *q = &st->q[i];
        if (q->dropped) continue;
        if (e->o.max_queries && n_asked >= e->o.max_queries) break;
        n_asked++;
        asked[q->lang]++;
        for (int m = 0; m < 3; m++) {
            sc_code_query cq = {.text = q->text, .mode = (sc_search_mode)m, .limit = e->limit};
            sc_code_hits *h = NULL;
            if ((rc = sc_repo_search(e->repo, &cq, &h)) != SC_OK) {
                snprintf(e->err, sizeof e->err, "search for %.300s:%u: %.300s", q->path, q->line,
                         sc_repo_errmsg(e->repo));
                break;
            }
            uint32_t rank = eval__rank(h, q);
            repo_rank_add(&acc[q->lang][m], rank);
            repo_rank_add(&all[m], rank);
            sc_code_hits_free(h);
        }
    }
    out->seconds_search = util_now() - t0;
    if (rc != SC_OK) return rc;
    for (int l = 0; l < SC_LANG_COUNT && out->n_rows + 1 < SC_REPO_EVAL_MAX_ROWS; l++) {
        if (!st->files_by_lang[l]) continue;
        sc_repo_eval_row *row = &out->rows[out->n_rows++];
        snprintf(row->language, sizeof row->language, "%s", sc_lang_name((sc_lang)l));
        row->files = st->files_by_lang[l];
        row->documented = st->documented_by_lang[l];
        row->queries = asked[l];
        for (int m = 0; m < 3; m++) row->mode[m] = repo_rank_scores(&acc[l][m]);
    }
    sc_repo_eval_row *tot = &out->rows[out->n_rows++];
    snprintf(tot->language, sizeof tot->language, "all");
    for (int l = 0; l < SC_LANG_COUNT; l++) {
        tot->files += st->files_by_lang[l];
        tot->documented += st->documented_by_lang[l];
    }
    tot->queries = n_asked;
    for (int m = 0; m < 3; m++) tot->mode[m] = repo_rank_scores(&all[m]);
    return SC_OK;
}

sc_status sc_repo_eval(const char *root, const sc_repo_eval_options *opt, sc_repo_eval_result *out, char **errmsg) {
    if (errmsg) *errmsg = NULL;
    if (!root || !out) return util_errmsg_out(errmsg, SC_MISUSE, "sc_repo_eval: NULL root or out");
    memset(out, 0, sizeof *out);
    eval_run *e = calloc(1, sizeof *e);
    if (!e) return util_errmsg_out(errmsg, SC_NOMEM, "out of memory");
    e->o = opt ? *opt : (sc_repo_eval_options){.limit = 0};
    e->limit = e->o.limit ? e->o.limit : 100;
    e->temp = !e->o.work_dir;
    bool made = false;
    sc_status rc = eval__prepare(e, root, &made);
    if (rc == SC_OK) rc = eval__collect(e, out);
    if (rc == SC_OK) rc = eval__drop_ambiguous(e, out);
    if (rc == SC_OK) rc = eval__index(e, out);
    if (rc == SC_OK) rc = eval__search(e, out);
    sc_repo_close(e->repo);
    for (size_t i = 0; i < e->st.n; i++) {
        free(e->st.q[i].text);
        free(e->st.q[i].path);
        free(e->st.q[i].qname);
    }
    free(e->st.q);
    if (made && e->temp) nftw(e->work, eval__rm, 16, FTW_DEPTH | FTW_PHYS);
    if (rc != SC_OK && errmsg) *errmsg = util_strdup(e->err[0] ? e->err : sc_status_str(rc));
    free(e);
    return rc;
}
