/*
** records/adf.c: Atlassian Document Format to text, for Jira's REST API 3
** (descriptions, comments and rich custom fields are ADF documents:
** {"type": "doc", "version": 1, "content": [nodes]}). A walk over the
** nodes: block nodes end their line, inline nodes add their text, and the
** nodes that carry their text in attributes (mention, emoji, status, date,
** cards) give it. Unknown nodes are walked through their children, so a
** newer node type loses at most its own decoration, never its text.
** Depth is bounded (ADF_MAX_DEPTH): deeper nodes are skipped.
*/
#include "records/source_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define ADF_MAX_DEPTH 64

/* The walk's output. */
typedef struct adf_out {
    util_buf *b;   /* text so far */
    size_t fresh;  /* b->len right after a list or task marker: the item's first block stays on its line */
} adf_out;

/* End the current line (no empty lines in a row, none at the start, none
** right after a marker). */
static void adf__newline(adf_out *o) {
    if (o->b->len && o->b->data[o->b->len - 1] != '\n' && o->b->len != o->fresh) util_buf_puts(o->b, "\n");
}

static void adf__walk(const json_t *node, adf_out *o, int depth);

/* The children of node, with sep between them (NULL = none). */
static void adf__children(const json_t *node, adf_out *o, int depth, const char *sep) {
    const json_t *content = json_object_get(node, "content");
    size_t i;
    const json_t *child;
    json_array_foreach(content, i, child) {
        if (sep && i) util_buf_puts(o->b, sep);
        adf__walk(child, o, depth + 1);
    }
}

/* attrs[key] of node as a string (NULL when absent). */
static const char *adf__attr(const json_t *node, const char *key) {
    return json_string_value(json_object_get(json_object_get(node, "attrs"), key));
}

/* A list: each item on its own line, "- " or "N. " before it. */
static void adf__list(const json_t *node, adf_out *o, int depth, bool ordered) {
    const json_t *order = json_object_get(json_object_get(node, "attrs"), "order");
    long n = json_is_integer(order) ? (long)json_integer_value(order) : 1;
    size_t i;
    const json_t *item;
    json_array_foreach(json_object_get(node, "content"), i, item) {
        adf__newline(o);
        for (int d = 0; d < depth / 2 && d < 8; d++) util_buf_puts(o->b, "  ");
        if (ordered) util_buf_printf(o->b, "%ld. ", n++);
        else util_buf_puts(o->b, "- ");
        o->fresh = o->b->len;
        adf__children(item, o, depth + 1, NULL);
        adf__newline(o);
    }
}

/* A table: a row per line, cells joined by " | ". */
static void adf__table(const json_t *node, adf_out *o, int depth) {
    util_buf *out = o->b;
    size_t i;
    const json_t *row;
    json_array_foreach(json_object_get(node, "content"), i, row) {
        adf__newline(o);
        size_t j;
        const json_t *cell;
        json_array_foreach(json_object_get(row, "content"), j, cell) {
            if (j) util_buf_puts(out, " | ");
            size_t mark = out->len;
            o->fresh = mark; /* the cell's first block stays after the " | " */
            adf__children(cell, o, depth + 2, " ");
            /* a cell's paragraphs stay on the row's line, one space apart */
            size_t w = mark;
            for (size_t k = mark; k < out->len; k++) {
                char c = out->data[k] == '\n' ? ' ' : out->data[k];
                if (c == ' ' && (w == mark || out->data[w - 1] == ' ')) continue;
                out->data[w++] = c;
            }
            while (w > mark && out->data[w - 1] == ' ') w--;
            out->len = w;
            if (out->data) out->data[w] = '\0';
        }
        adf__newline(o);
    }
}

static void adf__walk(const json_t *node, adf_out *o, int depth) {
    util_buf *out = o->b;
    if (depth > ADF_MAX_DEPTH) return;
    if (json_is_string(node)) { /* a plain-text field where ADF was expected */
        util_buf_puts(out, json_string_value(node));
        return;
    }
    const char *type = json_string_value(json_object_get(node, "type"));
    if (!type) {
        adf__children(node, o, depth, NULL);
        return;
    }
    const char *a;
    if (!strcmp(type, "text")) {
        const char *t = json_string_value(json_object_get(node, "text"));
        if (t) util_buf_puts(out, t);
    } else if (!strcmp(type, "hardBreak")) {
        util_buf_puts(out, "\n");
    } else if (!strcmp(type, "paragraph") || !strcmp(type, "heading") || !strcmp(type, "codeBlock") ||
               !strcmp(type, "blockquote") || !strcmp(type, "panel") || !strcmp(type, "decisionItem")) {
        adf__newline(o);
        adf__children(node, o, depth, NULL);
        adf__newline(o);
    } else if (!strcmp(type, "bulletList") || !strcmp(type, "orderedList")) {
        adf__list(node, o, depth, type[0] == 'o');
    } else if (!strcmp(type, "taskItem")) {
        adf__newline(o);
        util_buf_puts(out, (a = adf__attr(node, "state")) && !strcmp(a, "DONE") ? "[x] " : "[ ] ");
        o->fresh = out->len;
        adf__children(node, o, depth, NULL);
        adf__newline(o);
    } else if (!strcmp(type, "table")) {
        adf__table(node, o, depth);
    } else if (!strcmp(type, "expand") || !strcmp(type, "nestedExpand")) {
        adf__newline(o);
        if ((a = adf__attr(node, "title")) && *a) util_buf_printf(out, "%s\n", a);
        adf__children(node, o, depth, NULL);
        adf__newline(o);
    } else if (!strcmp(type, "rule")) {
        adf__newline(o);
    } else if (!strcmp(type, "mention")) {
        if ((a = adf__attr(node, "text"))) util_buf_puts(out, a);
        else if ((a = adf__attr(node, "id"))) util_buf_printf(out, "@%s", a);
    } else if (!strcmp(type, "emoji")) {
        if ((a = adf__attr(node, "text")) || (a = adf__attr(node, "shortName"))) util_buf_puts(out, a);
    } else if (!strcmp(type, "status")) {
        if ((a = adf__attr(node, "text"))) util_buf_puts(out, a);
    } else if (!strcmp(type, "inlineCard") || !strcmp(type, "blockCard") || !strcmp(type, "embedCard")) {
        if ((a = adf__attr(node, "url"))) util_buf_puts(out, a);
    } else if (!strcmp(type, "date")) {
        /* attrs.timestamp: milliseconds since the epoch, as a string */
        if ((a = adf__attr(node, "timestamp"))) {
            time_t t = (time_t)(strtoll(a, NULL, 10) / 1000);
            struct tm tm;
            char d[16];
            if (gmtime_r(&t, &tm) && strftime(d, sizeof d, "%Y-%m-%d", &tm)) util_buf_puts(out, d);
        }
    } else if (!strcmp(type, "media") || !strcmp(type, "mediaInline")) {
        if ((a = adf__attr(node, "alt")) && *a) util_buf_puts(out, a);
    } else {
        adf__children(node, o, depth, NULL); /* doc, listItem, mediaSingle, layouts, newer nodes */
    }
}

void records_adf_text(const json_t *node, util_buf *out) {
    size_t mark = out->len;
    adf_out o = {out, (size_t)-1};
    adf__walk(node, &o, 0);
    while (out->len > mark && (out->data[out->len - 1] == '\n' || out->data[out->len - 1] == ' '))
        out->data[--out->len] = '\0';
}
