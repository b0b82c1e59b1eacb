/*
** mcp/args.c: tool arguments and outputs. Every argument is checked by
** name and type, and a bad one becomes a JSON-RPC "invalid params" error
** (-32602) whose message and data.field name it. Outputs are compact JSON
** cut to the caller's max_tokens, with a cursor to the rest.
*/
#include "mcp/mcp_int.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

bool mcp_arg_fail(mcp_call *c, const char *field, const char *fmt, ...) {
    if (c->code) return false; /* the first error wins */
    c->code = MCP_ERR_PARAMS;
    snprintf(c->field, sizeof c->field, "%s", field);
    va_list ap;
    va_start(ap, fmt);
    char what[512];
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    snprintf(c->msg, sizeof c->msg, "Invalid arguments: `%s` %s", field, what);
    return false;
}

bool mcp_arg_known(mcp_call *c, const char *const *allowed) {
    const char *key;
    const json_t *v;
    json_object_foreach((json_t *)c->args, key, v) {
        bool ok = false;
        for (size_t i = 0; allowed[i] && !ok; i++) ok = !strcmp(allowed[i], key);
        if (!ok) {
            char expected[256] = "";
            for (size_t i = 0; allowed[i]; i++)
                snprintf(expected + strlen(expected), sizeof expected - strlen(expected), "%s%s", i ? ", " : "",
                         allowed[i]);
            return mcp_arg_fail(c, key, "is not an argument of this tool (it takes: %s)",
                                *expected ? expected : "none");
        }
    }
    return true;
}

bool mcp_arg_str(mcp_call *c, const char *key, bool required, const char **out) {
    const json_t *v = json_object_get(c->args, key);
    *out = NULL;
    if (!v || json_is_null(v)) return required ? mcp_arg_fail(c, key, "is required") : true;
    if (!json_is_string(v)) return mcp_arg_fail(c, key, "must be a string");
    *out = json_string_value(v);
    if (required && !**out) return mcp_arg_fail(c, key, "must not be empty");
    return true;
}

bool mcp_arg_uint(mcp_call *c, const char *key, uint32_t def, uint32_t lo, uint32_t hi, uint32_t *out) {
    const json_t *v = json_object_get(c->args, key);
    *out = def;
    if (!v || json_is_null(v)) return true;
    double d = json_is_integer(v) ? (double)json_integer_value(v) : json_is_real(v) ? json_real_value(v) : (double)NAN;
    if (isnan(d) || d != floor(d)) return mcp_arg_fail(c, key, "must be an integer from %u to %u", lo, hi);
    if (d < lo || d > hi) return mcp_arg_fail(c, key, "must be from %u to %u, got %.0f", lo, hi, d);
    *out = (uint32_t)d;
    return true;
}

bool mcp_arg_num(mcp_call *c, const char *key, double def, double lo, double hi, double *out) {
    const json_t *v = json_object_get(c->args, key);
    *out = def;
    if (!v || json_is_null(v)) return true;
    if (!json_is_number(v)) return mcp_arg_fail(c, key, "must be a number from %g to %g", lo, hi);
    double d = json_number_value(v);
    if (!(d >= lo && d <= hi)) return mcp_arg_fail(c, key, "must be from %g to %g, got %g", lo, hi, d);
    *out = d;
    return true;
}

bool mcp_arg_bool(mcp_call *c, const char *key, bool def, bool *out) {
    const json_t *v = json_object_get(c->args, key);
    *out = def;
    if (!v || json_is_null(v)) return true;
    if (!json_is_boolean(v)) return mcp_arg_fail(c, key, "must be true or false");
    *out = json_is_true(v);
    return true;
}

bool mcp_arg_enum(mcp_call *c, const char *key, const char *const *names, int n, int def, int *out) {
    const char *s;
    *out = def;
    if (!mcp_arg_str(c, key, false, &s)) return false;
    if (!s) return true;
    for (int i = 0; i < n; i++)
        if (!strcmp(s, names[i])) return *out = i, true;
    char expected[256] = "";
    for (int i = 0; i < n; i++)
        snprintf(expected + strlen(expected), sizeof expected - strlen(expected), "%s%s", i ? ", " : "", names[i]);
    return mcp_arg_fail(c, key, "must be one of %s, got '%.64s'", expected, s);
}

bool mcp_arg_list(mcp_call *c, const char *key, const char **dst, size_t max, size_t *n) {
    const json_t *v = json_object_get(c->args, key);
    *n = 0;
    if (!v || json_is_null(v)) return true;
    if (!json_is_string(v) && !json_is_array(v)) return mcp_arg_fail(c, key, "must be an array of strings");
    size_t count = json_is_array(v) ? json_array_size(v) : 1;
    if (count > max) return mcp_arg_fail(c, key, "takes at most %zu values, got %zu", max, count);
    for (size_t i = 0; i < count; i++) {
        const json_t *item = json_is_array(v) ? json_array_get(v, i) : v;
        if (!json_is_string(item) || !*json_string_value(item)) {
            char f[96];
            snprintf(f, sizeof f, "%s[%zu]", key, i);
            return mcp_arg_fail(c, f, "must be a non-empty string");
        }
        dst[(*n)++] = json_string_value(item);
    }
    return true;
}

bool mcp_arg_cursor(mcp_call *c, uint32_t *offset) {
    const char *s;
    *offset = 0;
    if (!mcp_arg_str(c, "cursor", false, &s)) return false;
    if (!s) return true;
    char *end = NULL;
    unsigned long v = strtoul(s, &end, 10);
    if (!*s || *end || *s == '-' || *s == '+' || v > 100000)
        return mcp_arg_fail(c, "cursor", "must be a next_cursor value of an earlier result, got '%.64s'", s);
    *offset = (uint32_t)v;
    return true;
}

/* ==== Output ==== */

size_t mcp_tokens(size_t n_bytes) { return (n_bytes + 2) / 3; }

/* Bytes of o as compact JSON (0 when it cannot be printed). */
static size_t mcp__json_size(const json_t *o) {
    return json_dumpb(o, NULL, 0, MCP_JSON_FLAGS);
}

/* Drop the bulky fields of an item, largest first, until it fits bytes. */
static void mcp__shrink(json_t *item, size_t bytes) {
    static const char *const bulky[] = {"source", "snippet", "doc", "members", "signature"};
    for (size_t i = 0; i < sizeof bulky / sizeof *bulky && mcp__json_size(item) > bytes; i++) {
        if (!json_object_get(item, bulky[i])) continue;
        json_object_del(item, bulky[i]);
        json_object_set_new(item, "cut", json_true());
    }
}

json_t *mcp_page_fit(json_t *head, json_t *items, uint32_t offset, uint32_t limit, uint32_t max_tokens, bool more) {
    json_t *out = json_array();
    size_t budget = (size_t)max_tokens * 3; /* bytes: the inverse of mcp_tokens */
    size_t used = mcp__json_size(head) + 32; /* + "results":[] and "next_cursor":"N" */
    size_t n = json_array_size(items), i = offset, taken = 0;
    bool cut = false;
    for (; i < n && taken < limit; i++) {
        json_t *it = json_array_get(items, i);
        size_t sz = mcp__json_size(it) + 1;
        if (used + sz > budget) {
            if (taken) {
                cut = true;
                break;
            }
            mcp__shrink(it, budget > used ? budget - used : 0);
            sz = mcp__json_size(it) + 1;
        }
        json_array_append(out, it);
        used += sz;
        taken++;
    }
    json_object_set_new(head, "results", out);
    if (i < n || more) {
        char cur[24];
        snprintf(cur, sizeof cur, "%zu", i);
        json_object_set_new(head, "next_cursor", json_string(cur));
    }
    if (cut) json_object_set_new(head, "budget_cut", json_true());
    json_decref(items);
    return head;
}

json_t *mcp_result(json_t *o, bool is_error) {
    char *text = o ? json_dumps(o, MCP_JSON_FLAGS) : NULL;
    json_decref(o);
    json_t *r = json_pack("{s:[{s:s,s:s}],s:b}", "content", "type", "text", "text", text ? text : "{}", "isError",
                          is_error);
    free(text);
    return r;
}

json_t *mcp_result_error(const char *fmt, ...) {
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return json_pack("{s:[{s:s,s:s}],s:b}", "content", "type", "text", "text", msg, "isError", true);
}
