/*
** repo/results.c: the JSON result schema of code searches, shared by the
** CLI (`semcode search|similar|duplicates --json`) and the HTTP server
** (`/code/search`, `/code/similar`, `/code/duplicates`), so both print the
** same objects:
**   search / similar: {<label>, mode, took_ms, results: [hit…]}
**   duplicates:       {threshold, min_lines, took_ms, clusters: [{size, similarity, members: [hit…]}]}
**   hit:              {rank, score, path, start_line, end_line, kind, name,
**                      qualified_name, language, signature, snippet, [repo],
**                      [file_entities], [features: {name: {value, contribution}}]}
**   a hybrid search adds {confidence, low_confidence} to the top level.
*/
#include "repo/repo_int.h"

#include <jansson.h>
#include <math.h>
#include <stdlib.h>

#include "semcode/rank.h"

/* JSON array of n hits (new reference, NULL when out of memory). */
static json_t *results__hits(const sc_code_hit *items, size_t n) {
    json_t *arr = json_array();
    for (size_t i = 0; arr && i < n; i++) {
        const sc_code_hit *x = &items[i];
        json_t *o = json_pack("{s:i, s:f, s:s, s:i, s:i, s:s, s:s, s:s, s:s, s:s, s:s}", "rank", (int)x->rank, "score",
                              (double)x->score, "path", x->path, "start_line", (int)x->start_line, "end_line",
                              (int)x->end_line, "kind", x->kind, "name", x->name, "qualified_name", x->qualified_name,
                              "language", x->language, "signature", x->signature, "snippet", x->snippet);
        if (o && x->repo) json_object_set_new(o, "repo", json_string(x->repo));
        if (o && x->n_entities > 1) json_object_set_new(o, "file_entities", json_integer(x->n_entities));
        if (o && x->n_features == sc_rank_n_features()) { /* --explain: each feature's value and contribution */
            double contrib[SC_RANK_MAX_FEATURES];
            double base = sc_rank_explain(x->features, contrib);
            json_t *fe = json_object();
            for (uint32_t j = 0; fe && j < x->n_features; j++)
                json_object_set_new(fe, sc_rank_feature_name(j),
                                    json_pack("{s:f, s:f}", "value", (double)x->features[j], "contribution", contrib[j]));
            json_object_set_new(o, "features", fe);
            json_object_set_new(o, "score_base", json_real(base)); /* score = score_base + the contributions */
        }
        if (!o || json_array_append_new(arr, o) != 0) {
            json_decref(arr);
            return NULL;
        }
    }
    return arr;
}

/* Compact text of o (owned, sc_free), consuming o; NULL when o is NULL. */
static char *results__dump(json_t *o) {
    char *text = o ? json_dumps(o, JSON_COMPACT) : NULL;
    json_decref(o);
    return text;
}

static json_t *results__hits_obj(const sc_code_hits *h, const char *label, const char *value, sc_search_mode mode) {
    if (!h || !label || !value) return NULL;
    json_t *results = results__hits(h->items, h->n);
    if (!results) return NULL;
    json_t *o = json_pack("{s:s, s:s, s:f, s:o}", label, value, "mode", sc_search_mode_name(mode), "took_ms",
                          h->took_ms, "results", results);
    if (o && !isnan(h->confidence)) {
        json_object_set_new(o, "confidence", json_real(h->confidence));
        json_object_set_new(o, "low_confidence", json_boolean(h->low_confidence));
    }
    return o;
}

char *sc_code_hits_json(const sc_code_hits *h, const char *label, const char *value, sc_search_mode mode) {
    return results__dump(results__hits_obj(h, label, value, mode));
}

static json_t *results__clusters_obj(const sc_dup_clusters *d, float threshold, uint32_t min_lines) {
    if (!d) return NULL;
    json_t *clusters = json_array();
    for (size_t i = 0; clusters && i < d->n; i++) {
        json_t *members = results__hits(d->items[i].items, d->items[i].n);
        json_t *c = members ? json_pack("{s:i, s:f, s:o}", "size", (int)d->items[i].n, "similarity",
                                        (double)d->items[i].similarity, "members", members)
                            : NULL;
        if (!c || json_array_append_new(clusters, c) != 0) {
            json_decref(clusters);
            return NULL;
        }
    }
    if (!clusters) return NULL;
    return json_pack("{s:f, s:i, s:f, s:o}", "threshold",
                     (double)(threshold > 0 ? threshold : SC_DUPLICATES_DEFAULT_THRESHOLD), "min_lines",
                     (int)min_lines, "took_ms", d->took_ms, "clusters", clusters);
}

char *sc_dup_clusters_json(const sc_dup_clusters *d, float threshold, uint32_t min_lines) {
    return results__dump(results__clusters_obj(d, threshold, min_lines));
}
