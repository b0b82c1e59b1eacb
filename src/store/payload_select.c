/*
** store/payload_select.c: with_payload's include and exclude lists, as key
** paths (the syntax of filter keys: "a.b", "a[].b", "a[2]"), as Qdrant
** applies them: include keeps only the values at the paths, with their
** enclosing objects and arrays; exclude removes them.
**
** DESIGN
** - A path that does not parse is taken as one top-level key, so keys with
**   odd characters still select themselves.
** - Include builds the result by merging each path's projection into it:
**   "a[].b" and "a[].c" give the elements of a with b and c.
*/
#include "store/store_int.h"
#include "store/filter_int.h"

#include <stdlib.h>
#include <string.h>

/* Merge the projection of src along segs[0..n) into *dst (created when
** NULL). false when memory runs out. */
static bool store__project(const json_t *src, const filter_seg *segs, size_t n, json_t **dst) {
    if (n == 0) {
        json_t *copy = json_deep_copy(src);
        if (!copy) return false;
        json_decref(*dst); /* the whole value wins over parts of it */
        *dst = copy;
        return true;
    }
    const filter_seg *s = &segs[0];
    if (s->kind == FILTER_SEG_KIND_KEY) {
        const json_t *v = json_is_object(src) ? json_object_getn(src, s->name, s->name_len) : NULL;
        if (!v) return true;
        if (!*dst && !(*dst = json_object())) return false;
        if (!json_is_object(*dst)) return true;
        json_t *child = json_object_getn(*dst, s->name, s->name_len);
        json_incref(child);
        bool ok = store__project(v, segs + 1, n - 1, &child) && json_object_setn_new(*dst, s->name, s->name_len, child) == 0;
        if (!ok) json_decref(child);
        return ok;
    }
    if (!json_is_array(src)) return true;
    if (!*dst && !(*dst = json_array())) return false;
    if (!json_is_array(*dst)) return true;
    size_t from = s->kind == FILTER_SEG_KIND_INDEX ? s->index : 0;
    size_t to = s->kind == FILTER_SEG_KIND_INDEX ? s->index + 1 : json_array_size(src);
    for (size_t i = from; i < to && i < json_array_size(src); i++) {
        size_t at = s->kind == FILTER_SEG_KIND_INDEX ? 0 : i; /* one indexed element comes back alone */
        json_t *child = json_array_get(*dst, at);
        json_incref(child);
        if (!store__project(json_array_get(src, i), segs + 1, n - 1, &child)) {
            json_decref(child);
            return false;
        }
        if (!child) continue;
        int r = at < json_array_size(*dst) ? json_array_set_new(*dst, at, child) : json_array_append_new(*dst, child);
        if (r != 0) return false;
    }
    return true;
}

/* Remove the values at segs[0..n) from v (in place). */
static void store__remove(json_t *v, const filter_seg *segs, size_t n) {
    const filter_seg *s = &segs[0];
    if (s->kind == FILTER_SEG_KIND_KEY) {
        if (!json_is_object(v)) return;
        json_t *child = json_object_getn(v, s->name, s->name_len);
        if (!child) return;
        if (n == 1) {
            char *key = strndup(s->name, s->name_len);
            if (key) json_object_del(v, key);
            free(key);
        } else {
            store__remove(child, segs + 1, n - 1);
        }
        return;
    }
    if (!json_is_array(v)) return;
    if (s->kind == FILTER_SEG_KIND_INDEX) {
        if (n == 1) json_array_remove(v, s->index);
        else store__remove(json_array_get(v, s->index), segs + 1, n - 1);
        return;
    }
    if (n == 1) {
        json_array_clear(v);
        return;
    }
    for (size_t i = 0; i < json_array_size(v); i++) store__remove(json_array_get(v, i), segs + 1, n - 1);
}

/* Parse a selector path; one that does not parse is the top-level key of
** that name. */
static bool store__sel_path(const char *text, filter_path *p, filter_seg *one) {
    if (filter_path_parse(text, p, NULL) == SC_OK) return true;
    memset(p, 0, sizeof *p);
    *one = (filter_seg){.kind = FILTER_SEG_KIND_KEY, .name = (char *)text, .name_len = strlen(text)};
    p->segs = one;
    p->n_segs = 1;
    return false;
}

json_t *store_payload_select(const json_t *payload, const sc_with *with) {
    bool include = with->payload_include != NULL;
    const char *const *list = include ? with->payload_include : with->payload_exclude;
    size_t n = include ? with->n_payload_include : with->n_payload_exclude;
    json_t *out = include ? json_object() : json_deep_copy(payload);
    for (size_t i = 0; out && i < n; i++) {
        if (!list[i]) continue;
        filter_path p;
        filter_seg one;
        bool parsed = store__sel_path(list[i], &p, &one);
        bool ok = true;
        if (include) ok = store__project(payload, p.segs, p.n_segs, &out);
        else store__remove(out, p.segs, p.n_segs);
        if (parsed) filter_path_clear(&p);
        if (!ok) {
            json_decref(out);
            out = NULL;
        }
    }
    return out;
}

/* Merge patch into the object at segs[0..n) under cur, creating missing
** objects on the way (Qdrant's set_payload with `key`): an object there
** takes patch's keys, anything else is replaced by a copy of patch; "[]"
** reaches every element of an array, "[N]" one. false when memory runs out. */
static bool store__set_at(json_t *cur, const filter_seg *segs, size_t n, const json_t *patch) {
    const filter_seg *s = &segs[0];
    if (s->kind == FILTER_SEG_KIND_KEY) {
        if (!json_is_object(cur)) return true;
        json_t *child = json_object_getn(cur, s->name, s->name_len);
        if (n == 1 && json_is_object(child)) return json_object_update(child, (json_t *)patch) == 0;
        if (n == 1 || (!json_is_object(child) && !json_is_array(child))) {
            child = n == 1 ? json_deep_copy(patch) : json_object();
            if (!child || json_object_setn_new(cur, s->name, s->name_len, child) != 0) return false;
            if (n == 1) return true;
        }
        return store__set_at(child, segs + 1, n - 1, patch);
    }
    if (!json_is_array(cur)) return true;
    size_t from = s->kind == FILTER_SEG_KIND_INDEX ? s->index : 0;
    size_t to = s->kind == FILTER_SEG_KIND_INDEX ? s->index + 1 : json_array_size(cur);
    for (size_t i = from; i < to && i < json_array_size(cur); i++) {
        json_t *e = json_array_get(cur, i);
        if (n > 1) {
            if (!store__set_at(e, segs + 1, n - 1, patch)) return false;
        } else if (json_is_object(e)) {
            if (json_object_update(e, (json_t *)patch) != 0) return false;
        } else {
            json_t *copy = json_deep_copy(patch);
            if (!copy || json_array_set_new(cur, i, copy) != 0) return false;
        }
    }
    return true;
}

sc_status store_payload_set_at(json_t *payload, const char *key, const json_t *patch) {
    filter_path p;
    filter_seg one;
    bool parsed = store__sel_path(key, &p, &one);
    bool ok = store__set_at(payload, p.segs, p.n_segs, patch);
    if (parsed) filter_path_clear(&p);
    return ok ? SC_OK : store_fail(SC_NOMEM, "out of memory setting the payload at `%s`", key);
}
