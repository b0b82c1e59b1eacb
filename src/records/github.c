/*
** records/github.c: the GitHub source (sc_github_ingest). Reads a
** repository's issues and pull requests over the REST API (or saved
** answers of the same shapes) and makes records of them:
**   issue    "<number>"                     title, body, state, labels, people, dates, last comments
**   pr       "<number>"                     the same, merged, draft, branches, reviewers, last review
**                                            texts, links.commit = its commits' shas
**   comment  "issuecomment-<id>"            a comment of an issue or PR (on: issue | pr)
**   review   "pullrequestreview-<id>"       a review with a body (state: approved, ...)
**   review   "discussion_r<id>"             a review comment on a line (path, line)
** (ids are GitHub's own anchors in html_url).
**
** DESIGN
** - One listing drives the run: GET /repos/O/R/issues?state=all&sort=
**   created&direction=asc[&since=T], which returns issues and pull
**   requests (those with a "pull_request" key) changed since T, 100 a page,
**   followed by the Link header. Created order does not move while items
**   are updated during the run, so paging skips nothing (updated order
**   would let an item updated mid-run shift the pages under the reader).
** - Per item, its parts: issue comments (when it has any), and for a PR its
**   details (GET pulls/N), reviews, review comments and commits. Each item
**   is complete before the next, so memory holds one page and one item.
** - Conditional requests: the cursor keeps the ETag of the listing's first
**   page and that page's URL ("etag", "etag_url"). An incremental run whose
**   first URL is the same (nothing was read last time past since, so since
**   did not move) asks with If-None-Match; a 304 means nothing changed: the
**   run reads no page (and GitHub does not count the request against the
**   rate limit). A full sync asks unconditionally.
** - Cursor {"format": 1, "repo", "since", "synced", "etag", "etag_url"}: written only with the
**   run's last flush, since = min(the latest updated_at read, the server's
**   Date at the start of the run): an item updated during the run, after
**   it was read, is read again next time. An interrupted or failed run
**   leaves the cursor where it was (the next run reads the same again, the
**   writer skips what did not change). "synced" false (first run, or a full
**   sync that did not finish) makes the next run full.
** - A full sync lists without since, then removes the stored issues, PRs,
**   comments and reviews of the source it did not see (deleted or
**   transferred issues, deleted comments), unless an item was malformed.
** - An incremental run then sweeps (unless opt.no_sweep): the same listing
**   without since, numbers only (no parts, nothing written), one request
**   per 100 items; stored issues and PRs it did not show are removed, with
**   the same rule (nothing when an item or page was malformed or skipped,
**   in the pass or the sweep), and so are the comments and reviews whose
**   item ("number") is gone. Deleted comments of items not updated stay
**   until the next full sync.
*/
#include "records/source_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define GH_CURSOR_FORMAT 1
#define GH_DEFAULT_API "https://api.github.com"

/* A run of the GitHub source. */
typedef struct gh_run {
    src_run r;            /* shared run state */
    char since[40];       /* the cursor's since ("" = none) */
    int64_t since_t;      /* the same in seconds */
    int64_t max_updated;  /* latest updated_at read (0 = none) */
    char per_page[32];    /* "per_page=N" */
    char *etag;           /* the cursor's ETag of the listing's first page (owned, NULL = none) */
    char *etag_url;       /* the URL it was the ETag of (owned) */
} gh_run;

/* A review text with its date, to order reviews and review comments. */
typedef struct gh_text {
    char date[40];  /* RFC 3339 as GitHub writes it (sorts as text) */
    char *text;     /* owned "who: body" */
} gh_text;

typedef struct gh_texts {
    gh_text *v;     /* texts */
    size_t n, cap;  /* used, allocated */
} gh_texts;

static void gh__texts_free(gh_texts *t) {
    for (size_t i = 0; i < t->n; i++) free(t->v[i].text);
    free(t->v);
    memset(t, 0, sizeof *t);
}

static void gh__texts_add(gh_texts *t, const char *date, const char *who, const char *body) {
    if (!body || !*body || !util_grow(&t->v, &t->cap, t->n + 1, sizeof *t->v, 8)) return;
    util_buf b = {0};
    util_buf_printf(&b, "%s: %s", who && *who ? who : "someone", body);
    char *s = b.oom ? NULL : records_clean_utf8(b.data, b.len, SRC_TEXT_BYTES, NULL);
    util_buf_free(&b);
    if (!s) return;
    snprintf(t->v[t->n].date, sizeof t->v[t->n].date, "%s", date ? date : "");
    t->v[t->n++].text = s;
}

static int gh__text_cmp(const void *a, const void *b) {
    return strcmp(((const gh_text *)a)->date, ((const gh_text *)b)->date);
}

/* ==== Items ==== */

/* The id of a sub-item (comment, review) as "<prefix><id>" into buf; false when id is not a positive integer. */
static bool gh__sub_id(const json_t *o, const char *prefix, char *buf, size_t size) {
    const json_t *id = json_object_get(o, "id");
    if (!json_is_integer(id) || json_integer_value(id) <= 0) return false;
    snprintf(buf, size, "%s%lld", prefix, (long long)json_integer_value(id));
    return true;
}

/* Make a sub-record of kind (comment / review) id of parent number/title; NULL on failure (message on rs). */
static sc_rec *gh__sub_rec(gh_run *g, sc_rec_kind kind, const char *id, long long number, const char *title,
                           const char *on) {
    sc_rec *rec = NULL;
    char *err = NULL;
    if (sc_rec_new(kind, g->r.source, id, &rec, &err) != SC_OK) {
        records_fail(g->r.rs, SC_INVALID, "%s", err ? err : "out of memory");
        sc_free(err);
        return NULL;
    }
    char num[32];
    snprintf(num, sizeof num, "%lld", number);
    if (sc_rec_set_int(rec, "number", number) != SC_OK || src_set_str(rec, "title", title) != SC_OK ||
        sc_rec_set_str(rec, "on", on) != SC_OK || sc_rec_add_link(rec, on, num) != SC_OK) {
        records_fail(g->r.rs, SC_NOMEM, "%s", sc_rec_errmsg(rec));
        sc_rec_free(rec);
        return NULL;
    }
    return rec;
}

/* The fields a comment, review or review comment share: body, author, dates, url. false with *why. */
static bool gh__sub_fields(sc_rec *rec, const json_t *o, const char *date_key, const char **why) {
    const json_t *body = json_object_get(o, "body");
    if (body && !json_is_string(body) && !json_is_null(body)) return *why = "'body' is not a string", false;
    bool ok = src_set_str(rec, "body", json_string_value(body)) == SC_OK &&
              src_set_str(rec, "author", src_str2(o, "user", "login")) == SC_OK &&
              src_set_str(rec, "url", src_str(o, "html_url")) == SC_OK;
    if (!ok) return *why = sc_rec_errmsg(rec), false;
    if (!src_str(o, date_key)) return *why = date_key[0] == 's' ? "no 'submitted_at' date" : "no 'created_at' date", false;
    return src_set_date(rec, "date", src_str(o, date_key), why) &&
           src_set_date(rec, "updated", src_str(o, "updated_at"), why);
}

/* What the listings of one issue or PR fill. */
typedef struct gh_part {
    gh_run *g;          /* the run */
    long long number;   /* the issue or PR */
    const char *title;  /* its title */
    const char *on;     /* "issue" or "pr" */
    src_texts *keep;    /* comments: the last ones as "who: text" */
    gh_texts *texts;    /* reviews and review comments: their texts with dates */
    sc_rec *pr;         /* the PR record (reviewers, commits) */
    json_t *who;        /* reviewers seen (an object used as a set) */
    int64_t n_commits;  /* commits linked */
} gh_part;

/* Queue sub-record rec of item v after its own fields (set by fill) and
** the shared ones; a malformed one is reported. */
static sc_status gh__put_sub(gh_part *p, sc_rec *rec, const json_t *v, const char *date_key, const char *what,
                             const char *id, const char *where, long idx) {
    const char *why = NULL;
    if (!gh__sub_fields(rec, v, date_key, &why)) {
        src_malformed(&p->g->r, where, idx, "%s %s: %s", what, id, why);
        return SC_OK;
    }
    p->g->r.sum->items++;
    return src_put(&p->g->r, rec);
}

/* A comment of an issue or PR: a record, and its text into keep. */
static sc_status gh__on_comment(void *arg, const json_t *c, const char *where, long idx) {
    gh_part *p = arg;
    char id[64];
    if (!json_is_object(c) || !gh__sub_id(c, "issuecomment-", id, sizeof id)) {
        src_malformed(&p->g->r, where, idx, "a comment needs a positive integer 'id'");
        return SC_OK;
    }
    sc_rec *rec = gh__sub_rec(p->g, SC_REC_KIND_COMMENT, id, p->number, p->title, p->on);
    if (!rec) return SC_NOMEM;
    uint64_t before = p->g->r.sum->items;
    sc_status rc = gh__put_sub(p, rec, c, "created_at", "comment", id, where, idx);
    if (p->g->r.sum->items > before) src_texts_add(p->keep, src_str2(c, "user", "login"), src_str(c, "body"));
    sc_rec_free(rec);
    return rc;
}

/* A review of a PR: its reviewer on the PR; a record when it has a body. */
static sc_status gh__on_review(void *arg, const json_t *v, const char *where, long idx) {
    gh_part *p = arg;
    char id[64];
    if (!json_is_object(v) || !gh__sub_id(v, "pullrequestreview-", id, sizeof id)) {
        src_malformed(&p->g->r, where, idx, "a review needs a positive integer 'id'");
        return SC_OK;
    }
    const char *login = src_str2(v, "user", "login"), *state = src_str(v, "state"), *body = src_str(v, "body");
    sc_status rc = SC_OK;
    if (login && p->who && !json_object_get(p->who, login)) {
        json_object_set_new(p->who, login, json_true());
        rc = sc_rec_add_keyword(p->pr, "reviewers", login);
    }
    if (rc == SC_OK && state && !strcmp(state, "APPROVED") && login) rc = sc_rec_add_keyword(p->pr, "approved_by", login);
    if (rc != SC_OK) return records_fail(p->g->r.rs, rc, "%s", sc_rec_errmsg(p->pr));
    if (!body || !*body) { /* a review without words is a state, kept on the PR */
        p->g->r.sum->items++;
        return SC_OK;
    }
    sc_rec *rec = gh__sub_rec(p->g, SC_REC_KIND_REVIEW, id, p->number, p->title, "pr");
    if (!rec) return SC_NOMEM;
    char low[40] = "";
    for (size_t k = 0; state && state[k] && k + 1 < sizeof low; k++)
        low[k] = (char)(state[k] >= 'A' && state[k] <= 'Z' ? state[k] + 32 : state[k]);
    src_set_str(rec, "state", low);
    src_set_str(rec, "commit", src_str(v, "commit_id"));
    uint64_t before = p->g->r.sum->items;
    rc = gh__put_sub(p, rec, v, "submitted_at", "review", id, where, idx);
    if (p->g->r.sum->items > before) gh__texts_add(p->texts, src_str(v, "submitted_at"), login, body);
    sc_rec_free(rec);
    return rc;
}

/* A review comment (on a line of the diff) of a PR. */
static sc_status gh__on_review_comment(void *arg, const json_t *v, const char *where, long idx) {
    gh_part *p = arg;
    char id[64];
    if (!json_is_object(v) || !gh__sub_id(v, "discussion_r", id, sizeof id)) {
        src_malformed(&p->g->r, where, idx, "a review comment needs a positive integer 'id'");
        return SC_OK;
    }
    sc_rec *rec = gh__sub_rec(p->g, SC_REC_KIND_REVIEW, id, p->number, p->title, "pr");
    if (!rec) return SC_NOMEM;
    const json_t *line = json_object_get(v, "line"), *rid = json_object_get(v, "pull_request_review_id");
    if (!json_is_integer(line)) line = json_object_get(v, "original_line");
    const char *path = src_str(v, "path");
    src_set_str(rec, "path", path);
    if (json_is_integer(line)) sc_rec_set_int(rec, "line", (int64_t)json_integer_value(line));
    if (json_is_integer(rid)) sc_rec_set_int(rec, "review", (int64_t)json_integer_value(rid));
    src_set_str(rec, "commit", src_str(v, "commit_id"));
    uint64_t before = p->g->r.sum->items;
    sc_status rc = gh__put_sub(p, rec, v, "created_at", "review comment", id, where, idx);
    if (p->g->r.sum->items > before) {
        util_buf b = {0};
        const char *body = src_str(v, "body");
        util_buf_printf(&b, "%s%s%s", path ? path : "", path ? ": " : "", body ? body : "");
        gh__texts_add(p->texts, src_str(v, "created_at"), src_str2(v, "user", "login"), b.data);
        util_buf_free(&b);
    }
    sc_rec_free(rec);
    return rc;
}

/* A commit of a PR: links.commit of the PR. */
static sc_status gh__on_commit(void *arg, const json_t *v, const char *where, long idx) {
    gh_part *p = arg;
    const char *sha = src_str(v, "sha");
    size_t len = sha ? strlen(sha) : 0;
    bool hex = len >= 7 && len <= 64;
    for (size_t k = 0; hex && k < len; k++) hex = (sha[k] >= '0' && sha[k] <= '9') || (sha[k] >= 'a' && sha[k] <= 'f');
    if (!hex) {
        src_malformed(&p->g->r, where, idx, "a commit needs a hexadecimal 'sha'");
        return SC_OK;
    }
    if (sc_rec_add_link(p->pr, "commit", sha) != SC_OK) return records_fail(p->g->r.rs, SC_INVALID, "%s", sc_rec_errmsg(p->pr));
    p->n_commits++;
    return SC_OK;
}

/* Listing `fmt` (with the item's number) of an issue or PR through fn. */
static sc_status gh__part(gh_part *p, const char *fmt, const char *what, src_item_fn fn) {
    char rel[64];
    snprintf(rel, sizeof rel, fmt, p->number);
    return src_each(&p->g->r, rel, p->g->per_page, what, fn, p);
}

/* The fields issues and PRs share, from an item of the issues listing. false with *why. */
static bool gh__common(sc_rec *rec, const json_t *it, long long number, const char **why) {
    const json_t *body = json_object_get(it, "body");
    if (body && !json_is_string(body) && !json_is_null(body)) return *why = "'body' is not a string", false;
    const json_t *labels = json_object_get(it, "labels"), *assignees = json_object_get(it, "assignees");
    if (labels && !json_is_array(labels)) return *why = "'labels' is not an array", false;
    const json_t *nc = json_object_get(it, "comments");
    bool ok = sc_rec_set_int(rec, "number", number) == SC_OK &&
              src_set_str(rec, "title", src_str(it, "title")) == SC_OK &&
              src_set_str(rec, "body", json_string_value(body)) == SC_OK &&
              src_set_str(rec, "state", src_str(it, "state")) == SC_OK &&
              src_set_str(rec, "state_reason", src_str(it, "state_reason")) == SC_OK &&
              src_set_str(rec, "author", src_str2(it, "user", "login")) == SC_OK &&
              src_set_str(rec, "url", src_str(it, "html_url")) == SC_OK &&
              src_set_str(rec, "milestone", src_str2(it, "milestone", "title")) == SC_OK &&
              src_add_names(rec, "labels", labels, "name") == SC_OK &&
              src_add_names(rec, "assignees", assignees, "login") == SC_OK &&
              (!json_is_boolean(json_object_get(it, "locked")) ||
               sc_rec_set_bool(rec, "locked", json_is_true(json_object_get(it, "locked"))) == SC_OK) &&
              (!json_is_integer(nc) || sc_rec_set_int(rec, "n_comments", (int64_t)json_integer_value(nc)) == SC_OK);
    if (!ok) return *why = sc_rec_errmsg(rec), false;
    return src_set_date(rec, "date", src_str(it, "created_at"), why) &&
           src_set_date(rec, "updated", src_str(it, "updated_at"), why) &&
           src_set_date(rec, "closed", src_str(it, "closed_at"), why);
}

/* The details of PR number (GET pulls/N) into pr: merged, draft, branches,
** sizes. A missing answer (404, no saved file) leaves what the issue said. */
static sc_status gh__pr_details(gh_run *g, long long number, sc_rec *pr, const json_t *item, bool *merged) {
    char rel[64];
    snprintf(rel, sizeof rel, "pulls/%lld", number);
    src_list l;
    sc_status rc = src_list_open(&l, &g->r, rel, NULL);
    json_t *d = NULL;
    if (rc == SC_OK) rc = src_list_next(&l, &d, false);
    if (rc == SC_NOTFOUND) rc = SC_OK; /* (the message on rs is not used) */
    const char *merged_at = src_str(d, "merged_at");
    if (!d) merged_at = src_str2(item, "pull_request", "merged_at");
    if (rc == SC_OK && d && !json_is_object(d)) {
        src_malformed(&g->r, l.where, -1, "expected a JSON object (a pull request)");
        json_decref(d);
        d = NULL;
        merged_at = src_str2(item, "pull_request", "merged_at");
    }
    *merged = merged_at != NULL;
    const char *why = NULL;
    if (rc == SC_OK && !src_set_date(pr, "merged_at", merged_at, &why)) sc_rec_set_str(pr, "merged_at", NULL);
    if (rc == SC_OK) {
        sc_rec_set_bool(pr, "merged", *merged);
        const json_t *draft = json_object_get(d, "draft");
        if (!json_is_boolean(draft)) draft = json_object_get(item, "draft");
        if (json_is_boolean(draft)) sc_rec_set_bool(pr, "draft", json_is_true(draft));
        src_set_str(pr, "head", src_str2(d, "head", "ref"));
        src_set_str(pr, "base", src_str2(d, "base", "ref"));
        src_set_str(pr, "merge_commit", src_str(d, "merge_commit_sha"));
        static const char *const counts[] = {"additions", "deletions", "changed_files"};
        for (int k = 0; k < 3; k++) {
            const json_t *v = json_object_get(d, counts[k]);
            if (json_is_integer(v)) sc_rec_set_int(pr, counts[k], (int64_t)json_integer_value(v));
        }
    }
    json_decref(d);
    src_list_close(&l);
    return rc;
}

/* One item of the issues listing: an issue, or a PR with all its parts. */
static sc_status gh__item(gh_run *g, const json_t *it, const char *where, long idx) {
    const json_t *num = json_object_get(it, "number");
    const char *title = src_str(it, "title"), *why = NULL;
    if (!json_is_integer(num) || json_integer_value(num) <= 0) {
        src_malformed(&g->r, where, idx, "an issue needs a positive integer 'number'");
        return SC_OK;
    }
    long long number = (long long)json_integer_value(num);
    if (!title) {
        src_malformed(&g->r, where, idx, "issue #%lld has no string 'title'", number);
        return SC_OK;
    }
    int64_t updated;
    if (!records_parse_date(src_str(it, "updated_at"), &updated)) {
        src_malformed(&g->r, where, idx, "issue #%lld: 'updated_at' is not a date", number);
        return SC_OK;
    }
    if (!g->r.opt.full && g->since_t && updated < g->since_t) return SC_OK; /* saved answers: not changed since */
    bool is_pr = json_object_get(it, "pull_request") != NULL;
    char id[32];
    snprintf(id, sizeof id, "%lld", number);
    sc_rec *rec = NULL;
    char *err = NULL;
    if (sc_rec_new(is_pr ? SC_REC_KIND_PR : SC_REC_KIND_ISSUE, g->r.source, id, &rec, &err) != SC_OK) {
        sc_status rc = records_fail(g->r.rs, SC_NOMEM, "%s", err ? err : "out of memory");
        sc_free(err);
        return rc;
    }
    if (!gh__common(rec, it, number, &why)) {
        src_malformed(&g->r, where, idx, "%s #%lld: %s", is_pr ? "pull request" : "issue", number, why);
        sc_rec_free(rec);
        return SC_OK;
    }
    if (updated > g->max_updated) g->max_updated = updated;
    g->r.sum->items++;
    sc_status rc = SC_OK;
    src_texts keep = {0};
    const json_t *nc = json_object_get(it, "comments");
    bool has_comments = !json_is_integer(nc) || json_integer_value(nc) > 0;
    gh_texts texts = {0};
    gh_part p = {g, number, title, is_pr ? "pr" : "issue", &keep, &texts, rec, NULL, 0};
    if (has_comments) rc = gh__part(&p, "issues/%lld/comments", "comments", gh__on_comment);
    if (rc == SC_OK && !is_pr) rc = src_texts_put(&keep, rec, "comments");
    if (is_pr) {
        src_texts_free(&keep); /* a PR's conversation comments are records of their own */
        bool merged = false;
        if (rc == SC_OK) rc = gh__pr_details(g, number, rec, it, &merged);
        if (rc == SC_OK && merged) rc = sc_rec_set_str(rec, "state", "merged");
        if (rc == SC_OK && !(p.who = json_object())) rc = records_fail(g->r.rs, SC_NOMEM, "out of memory");
        if (rc == SC_OK) rc = gh__part(&p, "pulls/%lld/reviews", "reviews", gh__on_review);
        if (rc == SC_OK) rc = gh__part(&p, "pulls/%lld/comments", "review comments", gh__on_review_comment);
        if (rc == SC_OK) rc = gh__part(&p, "pulls/%lld/commits", "commits", gh__on_commit);
        if (rc == SC_OK) rc = sc_rec_set_int(rec, "n_commits", p.n_commits);
        json_decref(p.who);
        if (rc == SC_OK && texts.n) {
            qsort(texts.v, texts.n, sizeof *texts.v, gh__text_cmp);
            for (size_t i = texts.n > SRC_KEEP_TEXTS ? texts.n - SRC_KEEP_TEXTS : 0; rc == SC_OK && i < texts.n; i++)
                rc = sc_rec_add_keyword(rec, "review_comments", texts.v[i].text);
        }
    }
    gh__texts_free(&texts);
    if (rc == SC_OK) rc = src_put(&g->r, rec);
    src_texts_free(&keep);
    sc_rec_free(rec);
    src_progress(&g->r, "issues", g->r.sum->items, 0, false);
    return rc;
}

/* ==== The id sweep ==== */

/* An item of the sweep's listing: its number noted as a seen issue or PR. */
static sc_status gh__on_sweep(void *arg, const json_t *it, const char *where, long idx) {
    gh_run *g = arg;
    const json_t *num = json_object_get(it, "number");
    if (!json_is_integer(num) || json_integer_value(num) <= 0) {
        src_malformed(&g->r, where, idx, "an issue needs a positive integer 'number'");
        return SC_OK;
    }
    char id[32];
    snprintf(id, sizeof id, "%lld", (long long)json_integer_value(num));
    sc_status rc = src_seen(&g->r, json_object_get(it, "pull_request") ? SC_REC_KIND_PR : SC_REC_KIND_ISSUE, id);
    return rc == SC_OK ? src_cancelled(&g->r) : rc;
}

/* After an incremental pass: list every issue and PR (numbers only, no
** parts), then remove the stored issues and PRs the listing did not show,
** and their comments and reviews. */
static sc_status gh__sweep(gh_run *g) {
    if (!src_may_remove(&g->r)) return SC_OK;
    g->r.sum->swept_run = true;
    uint64_t skipped = g->r.pages_skipped; /* a cut sweep page stops the removal, not the cursor */
    sc_status rc = src_each(&g->r, "issues", "state=all&sort=created&direction=asc&per_page=100", "issues",
                            gh__on_sweep, g);
    bool ok = src_may_remove(&g->r);
    g->r.pages_skipped = skipped;
    if (rc != SC_OK || !ok) return rc;
    static const sc_rec_kind kinds[] = {SC_REC_KIND_ISSUE, SC_REC_KIND_PR};
    rc = src_remove_unseen(&g->r, kinds, 2);
    if (rc == SC_OK) rc = src_remove_orphans(&g->r, SC_REC_KIND_COMMENT, "number", kinds, 2);
    if (rc == SC_OK) rc = src_remove_orphans(&g->r, SC_REC_KIND_REVIEW, "number", kinds, 2);
    g->r.sum->swept = g->r.n_unseen_removed;
    return rc;
}

/* ==== The run ==== */

/* Check "OWNER/REPO" (GitHub's characters) into owner and repo. */
static bool gh__name(const char *s, char *buf, size_t size) {
    const char *slash = s ? strchr(s, '/') : NULL;
    if (!slash || slash == s || !slash[1] || strchr(slash + 1, '/') || strlen(s) >= size) return false;
    for (const char *p = s; *p; p++)
        if (p != slash && !((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
                            *p == '-' || *p == '_' || *p == '.'))
            return false;
    snprintf(buf, size, "%s", s);
    return true;
}

/* Read the cursor: since and whether the last full sync finished. */
static sc_status gh__cursor(gh_run *g, const char *repo, bool *synced) {
    char *text = NULL;
    sc_status rc = sc_records_get_cursor(g->r.rs, g->r.source, &text);
    json_t *c = text ? json_loads(text, 0, NULL) : NULL;
    sc_free(text);
    const char *since = src_str(c, "since");
    *synced = json_is_true(json_object_get(c, "synced"));
    const char *was = src_str(c, "repo");
    if (rc == SC_OK && was && strcmp(was, repo))
        rc = records_fail(g->r.rs, SC_INVALID,
                          "source '%s' holds the records of %s, not %s: pass --source NAME to keep them apart",
                          g->r.source, was, repo);
    if (rc == SC_OK && since && records_parse_date(since, &g->since_t)) snprintf(g->since, sizeof g->since, "%s", since);
    else g->since_t = 0;
    const char *etag = src_str(c, "etag"), *etag_url = src_str(c, "etag_url");
    if (rc == SC_OK && etag && etag_url && (!(g->etag = util_strdup(etag)) || !(g->etag_url = util_strdup(etag_url))))
        rc = records_fail(g->r.rs, SC_NOMEM, "out of memory");
    json_decref(c);
    return rc;
}

/* The listing and everything after it. */
static sc_status gh__run(gh_run *g, const char *repo) {
    bool synced = false;
    sc_status rc = gh__cursor(g, repo, &synced);
    if (rc != SC_OK) return rc;
    bool full = g->r.opt.full || !synced || !g->since_t;
    g->r.opt.full = full;
    g->r.track = full;
    g->r.sum->full = full;
    uint32_t pp = g->r.opt.per_page ? g->r.opt.per_page : 100;
    snprintf(g->per_page, sizeof g->per_page, "per_page=%u", pp > 100 ? 100 : pp);
    char query[160];
    snprintf(query, sizeof query, "state=all&sort=created&direction=asc&%s%s%s", g->per_page, full ? "" : "&since=",
             full ? "" : g->since);
    src_list l;
    rc = src_list_open(&l, &g->r, "issues", query);
    /* the same first page as last time: ask whether it changed */
    if (rc == SC_OK && !full && g->etag && l.next && !strcmp(l.next, g->etag_url)) l.if_none_match = g->etag;
    char *first_url = rc == SC_OK && l.next ? util_strdup(l.next) : NULL;
    json_t *page = NULL;
    size_t first_n = SIZE_MAX; /* items of the first page (SIZE_MAX: not an array) */
    while (rc == SC_OK && (rc = src_list_next(&l, &page, true)) == SC_OK && page) {
        if (l.page == 1 && json_is_array(page)) first_n = json_array_size(page);
        if (!json_is_array(page)) {
            if (!json_is_null(page)) src_malformed(&g->r, l.where, -1, "expected a JSON array of issues");
        } else {
            char where[sizeof l.where];
            snprintf(where, sizeof where, "%s", l.where); /* the item's parts read pages of their own */
            size_t i;
            json_t *it;
            json_array_foreach(page, i, it) {
                if (rc == SC_OK) rc = src_cancelled(&g->r);
                if (rc != SC_OK) break;
                if (!json_is_object(it)) src_malformed(&g->r, where, (long)i, "expected an object (an issue)");
                else rc = gh__item(g, it, where, (long)i);
            }
        }
        json_decref(page);
    }
    /* the ETag to ask with next time: this run's first page's, or the one that was not modified */
    json_t *cur = json_pack("{s:i, s:s, s:b}", "format", GH_CURSOR_FORMAT, "repo", repo, "synced", true);
    /* kept only when the first page was the whole listing with room to spare: then any item changed
    ** or added since changes that page, so a 304 of it means that nothing did */
    const char *etag = l.not_modified ? g->etag : l.page == 1 && first_n < (pp > 100 ? 100 : pp) ? l.first_etag : NULL;
    if (cur && etag && first_url) {
        json_object_set_new(cur, "etag", json_string(etag));
        json_object_set_new(cur, "etag_url", json_string(first_url));
    }
    src_list_close(&l);
    free(first_url);
    if (rc != SC_OK) {
        json_decref(cur);
        return rc;
    }
    if (full && src_may_remove(&g->r)) {
        static const sc_rec_kind kinds[] = {SC_REC_KIND_ISSUE, SC_REC_KIND_PR, SC_REC_KIND_COMMENT, SC_REC_KIND_REVIEW};
        rc = src_remove_unseen(&g->r, kinds, 4);
    } else if (!full && !g->r.opt.no_sweep) {
        rc = gh__sweep(g);
    }
    if (rc == SC_OK) rc = src_write_cursor(&g->r, cur, g->max_updated, g->since_t);
    else json_decref(cur);
    return rc == SC_OK ? sc_records_flush(g->r.rs) : rc;
}

sc_status sc_github_ingest(sc_records *rs, const char *owner_repo, const sc_source_options *opt, sc_source_summary *out) {
    if (!rs) return SC_MISUSE;
    sc_source_summary sum;
    memset(&sum, 0, sizeof sum);
    gh_run g;
    memset(&g, 0, sizeof g);
    char repo[256];
    static const char *const headers[] = {"Accept: application/vnd.github+json", "X-GitHub-Api-Version: 2022-11-28"};
    sc_status rc;
    if (!gh__name(owner_repo, repo, sizeof repo)) {
        rc = records_fail(rs, SC_INVALID, "'%.200s' is not OWNER/REPO (letters, digits, '-', '_' and '.')",
                          owner_repo ? owner_repo : "");
        if (out) *out = sum;
        return rc;
    }
    rc = src_begin(&g.r, rs, opt, &sum, headers, 2);
    if (g.r.opt.source) snprintf(g.r.source, sizeof g.r.source, "%s", g.r.opt.source);
    else snprintf(g.r.source, sizeof g.r.source, "github:%.190s", repo);
    if (rc == SC_OK && g.r.net) {
        const char *api = g.r.opt.api_url ? g.r.opt.api_url : GH_DEFAULT_API;
        size_t n = strlen(api);
        while (n && api[n - 1] == '/') n--;
        if (strncmp(api, "http://", 7) && strncmp(api, "https://", 8))
            rc = records_fail(rs, SC_INVALID, "--api-url '%.200s' is not an http:// or https:// URL", api);
        else snprintf(g.r.api, sizeof g.r.api, "%.*s/repos/%s", (int)n, api, repo);
    }
    if (rc == SC_OK) rc = gh__run(&g, repo);
    free(g.etag);
    free(g.etag_url);
    if (rc != SC_OK && rc != SC_INVALID) sc_records_flush(rs); /* keep the complete items read (the cursor stays) */
    src_end(&g.r);
    if (out) *out = sum;
    return rc;
}
