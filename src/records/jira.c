/*
** records/jira.c: the Jira source (sc_jira_ingest). Pages through the
** REST search, or saved answers of the same shape (search.json or
** search.1.json, search.2.json, ...), and makes records. API 3 (Jira
** Cloud) uses the enhanced search GET /rest/api/3/search/jql?jql=...
** &maxResults=&fields=*all&expand=names, paged by nextPageToken (each answer
** gives the next page's token until isLast); a site without it (404 or
** 410 on the first request) and API 2 use /rest/api/N/search, paged by
** startAt/maxResults against the answer's total. Records:
**   issue    "<KEY>"        title (summary), body (description), status, state (the status in lower
**                           case), priority, type, labels, components, versions, people, dates,
**                           resolution, project, parent, custom text fields ("Name: text"), last comments
**   comment  "<comment id>" body, author, dates (on: issue, key, title)
** Descriptions and comments of API 3 are Atlassian Document Format,
** walked to text by adf.c; custom fields whose value is text (a string, an
** ADF document, an option's value) go to `custom`, named by the answer's
** `names` map.
**
** DESIGN
** - The JQL's own ORDER BY is replaced by "ORDER BY created ASC, key ASC":
**   paging by startAt stays stable while issues are updated during the run
**   (updated order would shift them under the reader).
** - A token page that stays cut (not JSON after the retries) ends the
**   listing: without its answer there is no next token. The page counts as
**   skipped, so the cursor does not move and the next run is full; startAt
**   paging steps over such a page instead.
** - Incremental: "(JQL) AND updated >= 'yyyy/MM/dd HH:mm'" with the
**   cursor's since minus one day: JQL reads dates in the user's time zone
**   to the minute, which the day of overlap covers (the writer skips what
**   did not change). The cursor is written with the run's last flush:
**   {"format": 1, "jql", "since", "synced"}, since = min(latest updated
**   read, the server's Date at the start). A source is the result of one
**   JQL: another JQL makes a full sync, which removes what it no longer
**   matches.
** - Comments come with the search (fields.comment); when an issue has more
**   than the search returned, the rest is paged from
**   /rest/api/N/issue/KEY/comment (saved: issue/KEY/comment.json).
** - An incremental run then sweeps (unless opt.no_sweep): the JQL without
**   the since condition, fields=key, 100 a page; stored issues it did not
**   show (deleted, moved out of the JQL) are removed, unless an item or
**   page was malformed or skipped in the pass or the sweep; so are the
**   comments whose issue ("key") is gone. Deleted comments of issues not
**   updated stay until the next full sync.
*/
#include "records/source_int.h"

#include <ctype.h>
#include <strings.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define JIRA_CURSOR_FORMAT 1
#define JIRA_OVERLAP_S 86400 /* an incremental run reads one more day (time zones of JQL dates) */

typedef struct jira_run {
    src_run r;              /* shared run state */
    char site[2048];        /* the site URL without a trailing '/' (for browse links) */
    unsigned version;       /* REST API version */
    char since[40];         /* the cursor's since ("" = none) */
    int64_t since_t;        /* the same in seconds */
    int64_t max_updated;    /* latest updated read */
    const json_t *names;    /* the page's field names (borrowed) */
    long total;             /* issues the search announced (-1 = not yet) */
    const char *fields;     /* the search's "fields=...&expand=..." (the pass: everything; the sweep: keys) */
    bool token_paging;      /* the enhanced search (API 3, while the site has it) */
} jira_run;

/* ==== Text of a field ==== */

/* Text of a description, comment body or custom field value: a string, an
** ADF document, an option ({"value"}) or a list of those; owned (NULL when
** there is none). */
static char *jira__text(const json_t *v) {
    util_buf b = {0};
    if (json_is_string(v)) {
        util_buf_puts(&b, json_string_value(v));
    } else if (json_is_object(v) && json_object_get(v, "type")) {
        records_adf_text(v, &b);
    } else if (json_is_object(v) && json_is_string(json_object_get(v, "value"))) {
        util_buf_puts(&b, json_string_value(json_object_get(v, "value")));
    } else if (json_is_array(v)) {
        size_t i;
        const json_t *x;
        json_array_foreach(v, i, x) {
            char *t = json_is_array(x) ? NULL : jira__text(x);
            if (t && *t) util_buf_printf(&b, "%s%s", b.len ? ", " : "", t);
            free(t);
        }
    }
    if (b.oom || !b.len) {
        util_buf_free(&b);
        return NULL;
    }
    return b.data;
}

/* ==== Comments ==== */

/* One comment of issue key: a record, and "who: text" into keep. */
static sc_status jira__comment(jira_run *j, const json_t *c, const char *key, const char *title, const char *where,
                               long idx, src_texts *keep) {
    const json_t *idv = json_object_get(c, "id");
    char id[64];
    if (json_is_string(idv) && *json_string_value(idv)) snprintf(id, sizeof id, "%.60s", json_string_value(idv));
    else if (json_is_integer(idv)) snprintf(id, sizeof id, "%lld", (long long)json_integer_value(idv));
    else {
        src_malformed(&j->r, where, idx, "a comment of %s has no 'id'", key);
        return SC_OK;
    }
    sc_rec *rec = NULL;
    char *err = NULL;
    if (sc_rec_new(SC_REC_KIND_COMMENT, j->r.source, id, &rec, &err) != SC_OK) {
        sc_status rc = records_fail(j->r.rs, SC_INVALID, "%s", err ? err : "out of memory");
        sc_free(err);
        return rc;
    }
    char *body = jira__text(json_object_get(c, "body"));
    const char *who = src_str2(c, "author", "displayName"), *why = NULL;
    char url[2600];
    snprintf(url, sizeof url, "%s/browse/%s?focusedCommentId=%s", j->site, key, id);
    bool ok = src_set_str(rec, "body", body) == SC_OK && src_set_str(rec, "author", who) == SC_OK &&
              src_set_str(rec, "author_email", src_str2(c, "author", "emailAddress")) == SC_OK &&
              sc_rec_set_str(rec, "key", key) == SC_OK && src_set_str(rec, "title", title) == SC_OK &&
              sc_rec_set_str(rec, "on", "issue") == SC_OK && sc_rec_add_link(rec, "issue", key) == SC_OK &&
              (!*j->site || sc_rec_set_str(rec, "url", url) == SC_OK);
    if (!ok) why = sc_rec_errmsg(rec);
    else if (!src_str(c, "created")) why = "no 'created' date";
    else ok = src_set_date(rec, "date", src_str(c, "created"), &why) && src_set_date(rec, "updated", src_str(c, "updated"), &why);
    sc_status rc = SC_OK;
    if (why) {
        src_malformed(&j->r, where, idx, "comment %s of %s: %s", id, key, why);
    } else {
        j->r.sum->items++;
        src_texts_add(keep, who, body);
        rc = src_put(&j->r, rec);
    }
    free(body);
    sc_rec_free(rec);
    return rc;
}

/* The comments of issue key beyond the `have` the search returned. */
static sc_status jira__more_comments(jira_run *j, const char *key, const char *title, size_t have, src_texts *keep) {
    char rel[600], query[64];
    snprintf(rel, sizeof rel, "issue/%s/comment", key);
    snprintf(query, sizeof query, "startAt=%zu&maxResults=100", have);
    src_list l;
    sc_status rc = src_list_open(&l, &j->r, rel, query);
    json_t *page = NULL;
    size_t at = have;
    while (rc == SC_OK && (rc = src_list_next(&l, &page, false)) == SC_OK && page) {
        const json_t *cs = json_object_get(page, "comments");
        if (!json_is_array(cs)) src_malformed(&j->r, l.where, -1, "expected an object with a 'comments' array");
        size_t i;
        json_t *c;
        json_array_foreach(cs, i, c) {
            if (!json_is_object(c)) src_malformed(&j->r, l.where, (long)i, "a comment is not an object");
            else if ((rc = jira__comment(j, c, key, title, l.where, (long)i, keep)) != SC_OK) break;
        }
        const json_t *total = json_object_get(page, "total");
        at += json_array_size(cs);
        if (rc == SC_OK && j->r.net) {
            char url[4096] = "";
            if (json_array_size(cs) && json_is_integer(total) && (json_int_t)at < json_integer_value(total))
                snprintf(url, sizeof url, "%s/issue/%s/comment?startAt=%zu&maxResults=100", j->r.api, key, at);
            rc = src_list_set_next(&l, *url ? url : NULL);
        }
        json_decref(page);
    }
    src_list_close(&l);
    return rc;
}

/* ==== Issues ==== */

/* Custom fields of fields with a text value: "Name: text" into `custom`. */
static sc_status jira__custom(jira_run *j, sc_rec *rec, const json_t *fields) {
    const char *k;
    const json_t *v;
    sc_status rc = SC_OK;
    json_object_foreach((json_t *)fields, k, v) {
        if (strncmp(k, "customfield_", 12) || json_is_null(v)) continue;
        char *t = jira__text(v);
        if (t && rc == SC_OK) {
            const char *name = src_str(j->names, k);
            util_buf b = {0};
            util_buf_printf(&b, "%s: %s", name ? name : k, t);
            rc = b.oom ? SC_NOMEM : sc_rec_add_keyword(rec, "custom", b.data);
            util_buf_free(&b);
        }
        free(t);
    }
    return rc;
}

/* The fields of issue key into rec; false with *why. */
static bool jira__fields(jira_run *j, sc_rec *rec, const char *key, const json_t *f, const char **why) {
    char *desc = jira__text(json_object_get(f, "description"));
    const char *status = src_str2(f, "status", "name");
    char state[128] = "";
    for (size_t i = 0; status && status[i] && i + 1 < sizeof state; i++) state[i] = (char)tolower((unsigned char)status[i]);
    char url[2600];
    snprintf(url, sizeof url, "%s/browse/%s", j->site, key);
    const json_t *sc = json_object_get(json_object_get(f, "status"), "statusCategory");
    bool ok = sc_rec_set_str(rec, "key", key) == SC_OK && src_set_str(rec, "title", src_str(f, "summary")) == SC_OK &&
              src_set_str(rec, "body", desc) == SC_OK && src_set_str(rec, "status", status) == SC_OK &&
              src_set_str(rec, "state", state) == SC_OK && src_set_str(rec, "status_category", src_str(sc, "key")) == SC_OK &&
              src_set_str(rec, "priority", src_str2(f, "priority", "name")) == SC_OK &&
              src_set_str(rec, "type", src_str2(f, "issuetype", "name")) == SC_OK &&
              src_set_str(rec, "resolution", src_str2(f, "resolution", "name")) == SC_OK &&
              src_set_str(rec, "project", src_str2(f, "project", "key")) == SC_OK &&
              src_set_str(rec, "parent", src_str2(f, "parent", "key")) == SC_OK &&
              src_set_str(rec, "author", src_str2(f, "reporter", "displayName")) == SC_OK &&
              src_set_str(rec, "author_email", src_str2(f, "reporter", "emailAddress")) == SC_OK &&
              src_set_str(rec, "assignee", src_str2(f, "assignee", "displayName")) == SC_OK &&
              src_add_names(rec, "labels", json_object_get(f, "labels"), "name") == SC_OK &&
              src_add_names(rec, "components", json_object_get(f, "components"), "name") == SC_OK &&
              src_add_names(rec, "versions", json_object_get(f, "fixVersions"), "name") == SC_OK &&
              (!*j->site || sc_rec_set_str(rec, "url", url) == SC_OK) && jira__custom(j, rec, f) == SC_OK;
    free(desc);
    if (!ok) return *why = sc_rec_errmsg(rec), false;
    return src_set_date(rec, "date", src_str(f, "created"), why) &&
           src_set_date(rec, "updated", src_str(f, "updated"), why) &&
           src_set_date(rec, "closed", src_str(f, "resolutiondate"), why);
}

/* One issue of a search page. */
static sc_status jira__issue(jira_run *j, const json_t *it, const char *where, long idx) {
    const char *key = src_str(it, "key"), *why = NULL;
    const json_t *f = json_object_get(it, "fields");
    if (!key || !*key) {
        src_malformed(&j->r, where, idx, "an issue needs a string 'key'");
        return SC_OK;
    }
    if (!json_is_object(f) || !src_str(f, "summary")) {
        src_malformed(&j->r, where, idx, "issue %s has no 'fields' object with a 'summary'", key);
        return SC_OK;
    }
    int64_t updated;
    if (!records_parse_date(src_str(f, "updated"), &updated)) {
        src_malformed(&j->r, where, idx, "issue %s: 'fields.updated' is not a date", key);
        return SC_OK;
    }
    if (!j->r.opt.full && j->since_t && updated < j->since_t - JIRA_OVERLAP_S) return SC_OK; /* saved answers */
    sc_rec *rec = NULL;
    char *err = NULL;
    if (sc_rec_new(SC_REC_KIND_ISSUE, j->r.source, key, &rec, &err) != SC_OK) {
        src_malformed(&j->r, where, idx, "%s", err ? err : "out of memory");
        sc_free(err);
        return SC_OK;
    }
    if (!jira__fields(j, rec, key, f, &why)) {
        src_malformed(&j->r, where, idx, "issue %s: %s", key, why);
        sc_rec_free(rec);
        return SC_OK;
    }
    if (updated > j->max_updated) j->max_updated = updated;
    j->r.sum->items++;
    const char *title = src_str(f, "summary");
    const json_t *cm = json_object_get(f, "comment");
    const json_t *cs = json_object_get(cm, "comments"), *total = json_object_get(cm, "total");
    src_texts keep = {0};
    sc_status rc = SC_OK;
    size_t i;
    const json_t *c;
    json_array_foreach(cs, i, c) {
        if (!json_is_object(c)) src_malformed(&j->r, where, idx, "issue %s: comment %zu is not an object", key, i);
        else if ((rc = jira__comment(j, c, key, title, where, idx, &keep)) != SC_OK) break;
    }
    if (rc == SC_OK && json_is_integer(total) && json_integer_value(total) > (json_int_t)json_array_size(cs))
        rc = jira__more_comments(j, key, title, json_array_size(cs), &keep);
    if (rc == SC_OK && keep.total) rc = sc_rec_set_int(rec, "n_comments", (int64_t)keep.total);
    if (rc == SC_OK) rc = src_texts_put(&keep, rec, "comments");
    if (rc == SC_OK) rc = src_put(&j->r, rec);
    src_texts_free(&keep);
    sc_rec_free(rec);
    return rc;
}

/* ==== The run ==== */

/* The JQL without its ORDER BY clause (outside quotes), owned. */
static char *jira__strip_order(const char *jql) {
    size_t n = strlen(jql), cut = n;
    char q = 0;
    for (size_t i = 0; i < n; i++) {
        if (q) {
            if (jql[i] == '\\' && i + 1 < n) i++;
            else if (jql[i] == q) q = 0;
            continue;
        }
        if (jql[i] == '"' || jql[i] == '\'') q = jql[i];
        else if (!strncasecmp(jql + i, "order", 5) && (i == 0 || isspace((unsigned char)jql[i - 1]))) {
            size_t k = i + 5;
            while (k < n && isspace((unsigned char)jql[k])) k++;
            if (k > i + 5 && !strncasecmp(jql + k, "by", 2) && (k + 2 == n || isspace((unsigned char)jql[k + 2]))) {
                cut = i;
                break;
            }
        }
    }
    while (cut && isspace((unsigned char)jql[cut - 1])) cut--;
    size_t a = 0;
    while (a < cut && isspace((unsigned char)jql[a])) a++;
    char *s = malloc(cut - a + 1);
    if (s) {
        memcpy(s, jql + a, cut - a);
        s[cut - a] = '\0';
    }
    return s;
}

/* The JQL of this run: the user's, the since condition, created order. Owned. */
static char *jira__jql(jira_run *j, const char *jql, bool full) {
    char *base = jira__strip_order(jql);
    if (!base) return NULL;
    util_buf b = {0};
    if (*base) util_buf_printf(&b, "(%s)", base);
    if (!full && j->since_t) {
        char when[40];
        time_t t = (time_t)(j->since_t - JIRA_OVERLAP_S);
        struct tm tm;
        gmtime_r(&t, &tm);
        strftime(when, sizeof when, "%Y/%m/%d %H:%M", &tm);
        util_buf_printf(&b, "%supdated >= \"%s\"", *base ? " AND " : "", when);
    }
    util_buf_printf(&b, "%sORDER BY created ASC, key ASC", b.len ? " " : "");
    free(base);
    if (b.oom) {
        util_buf_free(&b);
        return NULL;
    }
    return b.data;
}

/* The cursor: since, whether the last full sync finished, and of which JQL. */
static sc_status jira__cursor(jira_run *j, const char *jql, bool *full) {
    char *text = NULL;
    sc_status rc = sc_records_get_cursor(j->r.rs, j->r.source, &text);
    json_t *c = text ? json_loads(text, 0, NULL) : NULL;
    sc_free(text);
    const char *since = src_str(c, "since"), *was = src_str(c, "jql");
    bool synced = json_is_true(json_object_get(c, "synced"));
    if (since && records_parse_date(since, &j->since_t)) snprintf(j->since, sizeof j->since, "%s", since);
    else j->since_t = 0;
    *full = j->r.opt.full || !synced || !j->since_t || !was || strcmp(was, jql);
    json_decref(c);
    return rc;
}

/* The URL of the search page starting at start_at. Owned. */
static char *jira__url(jira_run *j, const char *ejql, long start_at, unsigned per_page) {
    util_buf b = {0};
    util_buf_printf(&b, "%s/search?jql=%s&startAt=%ld&maxResults=%u&%s", j->r.api, ejql, start_at, per_page, j->fields);
    if (b.oom) util_buf_free(&b);
    return b.oom ? NULL : b.data;
}

/* The URL of an enhanced search page (token NULL = the first). Owned. */
static char *jira__url_jql(jira_run *j, const char *ejql, const char *token, unsigned per_page) {
    char *et = token ? net_escape(token) : NULL;
    util_buf b = {0};
    if (!token || et)
        util_buf_printf(&b, "%s/search/jql?jql=%s&maxResults=%u&%s%s%s", j->r.api, ejql, per_page, j->fields,
                        et ? "&nextPageToken=" : "", et ? et : "");
    free(et);
    if (b.oom || !b.data) util_buf_free(&b);
    return b.data;
}

/* An issue of the sweep: its key noted as seen. */
static sc_status jira__sweep_issue(jira_run *j, const json_t *it, const char *where, long idx) {
    const char *key = src_str(it, "key");
    if (!key || !*key) {
        src_malformed(&j->r, where, idx, "an issue needs a string 'key'");
        return SC_OK;
    }
    return src_seen(&j->r, SC_REC_KIND_ISSUE, key);
}

typedef sc_status (*jira_issue_fn)(jira_run *j, const json_t *it, const char *where, long idx);

/* Page through the search of JQL q (owned by the caller), calling fn for each issue. */
static sc_status jira__search(jira_run *j, const char *q, unsigned pp, jira_issue_fn fn) {
    char *ejql = q ? net_escape(q) : NULL;
    bool token_paging = j->token_paging;
    sc_status rc;
    char *first = !ejql ? NULL : token_paging ? jira__url_jql(j, ejql, NULL, pp) : jira__url(j, ejql, 0, pp);
    src_list l;
    rc = first ? src_list_open(&l, &j->r, "search", NULL) : records_fail(j->r.rs, SC_NOMEM, "out of memory");
    if (rc == SC_OK) rc = src_list_set_next(&l, first);
    free(first);
    json_t *page = NULL;
    long start = 0;
    j->total = -1;
    for (;;) {
        if (rc != SC_OK) break;
        rc = src_list_next(&l, &page, true);
        if (rc == SC_NOTFOUND && token_paging && l.page == 0) {
            /* no enhanced search here (Jira Data Center, an older site): page by startAt */
            token_paging = false;
            char *url = jira__url(j, ejql, 0, pp);
            rc = url ? src_list_set_next(&l, url) : records_fail(j->r.rs, SC_NOMEM, "out of memory");
            free(url);
            continue;
        }
        if (rc != SC_OK || !page) break;
        const json_t *issues = json_object_get(page, "issues"), *total = json_object_get(page, "total");
        if (json_is_null(page)) {
            start += (long)pp; /* a page that was not JSON: the next one starts a page further */
        } else if (!json_is_array(issues)) {
            src_malformed(&j->r, l.where, -1, "expected a search answer: an object with an 'issues' array");
        } else {
            char where[sizeof l.where];
            snprintf(where, sizeof where, "%s", l.where);
            j->names = json_object_get(page, "names");
            size_t i;
            json_t *it;
            json_array_foreach(issues, i, it) {
                if (rc == SC_OK) rc = src_cancelled(&j->r);
                if (rc != SC_OK) break;
                if (!json_is_object(it)) src_malformed(&j->r, where, (long)i, "expected an object (an issue)");
                else rc = fn(j, it, where, (long)i);
            }
            src_progress(&j->r, "search", j->r.sum->items, json_is_integer(total) ? (uint64_t)json_integer_value(total) : 0,
                         false);
        }
        const json_t *sa = json_object_get(page, "startAt");
        if (json_is_integer(sa)) start = (long)json_integer_value(sa);
        start += (long)json_array_size(issues);
        if (json_is_integer(total)) j->total = (long)json_integer_value(total);
        char *next = NULL;
        const char *token = src_str(page, "nextPageToken");
        if (token_paging) {
            if (rc == SC_OK && token && *token && !json_is_true(json_object_get(page, "isLast")) && json_array_size(issues))
                next = jira__url_jql(j, ejql, token, pp);
        } else if (rc == SC_OK && (json_array_size(issues) || (json_is_null(page) && j->total >= 0)) &&
                   (j->total < 0 || start < j->total)) {
            next = jira__url(j, ejql, start, pp);
        }
        if (rc == SC_OK) rc = src_list_set_next(&l, next);
        free(next);
        j->names = NULL;
        json_decref(page);
    }
    src_list_close(&l);
    free(ejql);
    j->token_paging = token_paging;
    return rc;
}

/* After an incremental pass: the run's JQL without the since condition,
** keys only; stored issues it did not show are removed, with their comments. */
static sc_status jira__sweep(jira_run *j, const char *jql) {
    if (!src_may_remove(&j->r)) return SC_OK;
    j->r.sum->swept_run = true;
    uint64_t skipped = j->r.pages_skipped; /* a cut sweep page stops the removal, not the cursor */
    j->fields = "fields=key";
    char *q = jira__jql(j, jql, true);
    sc_status rc = q ? jira__search(j, q, 100, jira__sweep_issue) : records_fail(j->r.rs, SC_NOMEM, "out of memory");
    free(q);
    bool ok = src_may_remove(&j->r);
    j->r.pages_skipped = skipped;
    if (rc != SC_OK || !ok) return rc;
    static const sc_rec_kind kinds[] = {SC_REC_KIND_ISSUE};
    rc = src_remove_unseen(&j->r, kinds, 1);
    if (rc == SC_OK) rc = src_remove_orphans(&j->r, SC_REC_KIND_COMMENT, "key", kinds, 1);
    j->r.sum->swept = j->r.n_unseen_removed;
    return rc;
}

static sc_status jira__run(jira_run *j, const char *jql) {
    bool full = false;
    sc_status rc = jira__cursor(j, jql, &full);
    if (rc != SC_OK) return rc;
    j->r.opt.full = full;
    j->r.track = full;
    j->r.sum->full = full;
    j->fields = "fields=*all&expand=names";
    j->token_paging = j->r.net && j->version == 3;
    char *q = jira__jql(j, jql, full);
    rc = q ? jira__search(j, q, j->r.opt.per_page ? j->r.opt.per_page : 50, jira__issue)
           : records_fail(j->r.rs, SC_NOMEM, "out of memory");
    free(q);
    if (rc != SC_OK) return rc;
    if (full && src_may_remove(&j->r)) {
        static const sc_rec_kind kinds[] = {SC_REC_KIND_ISSUE, SC_REC_KIND_COMMENT};
        rc = src_remove_unseen(&j->r, kinds, 2);
    } else if (!full && !j->r.opt.no_sweep) {
        rc = jira__sweep(j, jql);
    }
    if (rc == SC_OK)
        rc = src_write_cursor(&j->r, json_pack("{s:i, s:s, s:b}", "format", JIRA_CURSOR_FORMAT, "jql", jql, "synced", true),
                              j->max_updated, j->since_t);
    return rc == SC_OK ? sc_records_flush(j->r.rs) : rc;
}

/* The host of url (for the default source name) into buf. */
static void jira__host(const char *url, char *buf, size_t size) {
    const char *h = strstr(url, "://");
    h = h ? h + 3 : url;
    size_t n = strcspn(h, "/:?#");
    snprintf(buf, size, "%.*s", (int)(n < 180 ? n : 180), h);
}

sc_status sc_jira_ingest(sc_records *rs, const char *jql, const sc_source_options *opt, sc_source_summary *out) {
    if (!rs) return SC_MISUSE;
    sc_source_summary sum;
    memset(&sum, 0, sizeof sum);
    jira_run j;
    memset(&j, 0, sizeof j);
    static const char *const headers[] = {"Accept: application/json"};
    sc_status rc = src_begin(&j.r, rs, opt, &sum, headers, 1);
    const char *site = j.r.opt.api_url;
    if (rc == SC_OK && !jql) rc = records_fail(rs, SC_INVALID, "a JQL query is required (--jql; \"\" for every issue)");
    if (rc == SC_OK && j.r.opt.api_version != 2 && j.r.opt.api_version != 3)
        rc = records_fail(rs, SC_INVALID, "Jira REST API version %u: expected 2 or 3", j.r.opt.api_version);
    if (rc == SC_OK && j.r.net && (!site || (strncmp(site, "http://", 7) && strncmp(site, "https://", 8))))
        rc = records_fail(rs, SC_INVALID, "--url '%.200s' is not the http:// or https:// URL of a Jira site",
                          site ? site : "");
    if (site) {
        size_t n = strlen(site);
        while (n && site[n - 1] == '/') n--;
        snprintf(j.site, sizeof j.site, "%.*s", (int)(n < sizeof j.site - 1 ? n : sizeof j.site - 1), site);
    }
    j.version = j.r.opt.api_version;
    if (j.r.net) snprintf(j.r.api, sizeof j.r.api, "%.2000s/rest/api/%u", j.site, j.version);
    char host[200];
    if (j.r.opt.source) snprintf(j.r.source, sizeof j.r.source, "%s", j.r.opt.source);
    else if (*j.site) jira__host(j.site, host, sizeof host), snprintf(j.r.source, sizeof j.r.source, "jira:%.190s", host);
    else {
        const char *dir = j.r.opt.from_dir ? j.r.opt.from_dir : "jira";
        const char *base = strrchr(dir, '/');
        snprintf(j.r.source, sizeof j.r.source, "jira:%.180s", base && base[1] ? base + 1 : dir);
    }
    if (rc == SC_OK) rc = jira__run(&j, jql);
    if (rc != SC_OK && rc != SC_INVALID) sc_records_flush(rs); /* keep the complete issues read (the cursor stays) */
    src_end(&j.r);
    if (out) *out = sum;
    return rc;
}
