/*
** server/embeddings.c: the built-in model over HTTP. POST /v1/embeddings
** answers OpenAI's embeddings API (input string or array of strings,
** model, encoding_format float | base64, dimensions equal to the model's),
** so the remote provider of the embedding pipeline, or any OpenAI client,
** can use a semcode server. server_embed_text turns Qdrant inference
** objects (Documents) {"text": …, "model": "builtin"} of /points/query and
** of upserts into vectors; Documents of model "qdrant/bm25" are not
** embedded: they are texts for the store's BM25 index. Every text goes
** through one embedder over the model (with the embedding cache when one is
** configured), whose calls are serialised; the metrics count texts
** embedded and cache hits and misses.
*/
#include "server/server_int.h"

#include <stdlib.h>
#include <string.h>

#define SERVER_MAX_INPUTS 2048 /* texts per /v1/embeddings request */

/* Model names the built-in model answers to. */
static bool server__model_name_ok(const char *name) {
    return !name || !strcmp(name, "builtin") || !strcmp(name, "semcode-builtin");
}

bool server_model_is_bm25(const char *model) {
    return model && (!strcmp(model, "qdrant/bm25") || !strcmp(model, "bm25"));
}

bool server_embed_texts(server_call *call, const char *const *texts, size_t n, sc_embed_role role, const char *what,
                        const char *const *whats, float *out) {
    server_ctx *ctx = call->ctx;
    sc_embed_item one, *items = n == 1 ? &one : calloc(n, sizeof *items);
    if (!items) return server_fail(call, 500, "out of memory"), false;
    sc_embed_summary sum = {0};
    pthread_mutex_lock(&ctx->embed_mu);
    sc_embed_cache_stats before = sc_embed_cache_get_stats(ctx->cache);
    sc_status rc = sc_embedder_embed(ctx->embedder, role == SC_EMBED_ROLE_QUERY ? SC_EMBED_ROLE_QUERY : SC_EMBED_ROLE_CODE,
                                     texts, n, out, items, &sum);
    sc_embed_cache_stats after = sc_embed_cache_get_stats(ctx->cache);
    pthread_mutex_unlock(&ctx->embed_mu);
    server_metrics_count_embeddings(ctx->metrics, sum.newly_embedded);
    if (ctx->cache) server_metrics_count_cache(ctx->metrics, after.hits - before.hits, after.misses - before.misses, after.entries);
    bool ok = true;
    if (rc != SC_OK) ok = !!server_fail(call, 500, "embedding failed: %s", sc_status_str(rc));
    for (size_t i = 0; ok && i < n; i++) {
        if (items[i].status == SC_OK) continue;
        if (whats) server_fail(call, 400, "Wrong input: %s: %s", whats[i], items[i].error);
        else if (n == 1) server_fail(call, 400, "Wrong input: %s: %s", what, items[i].error);
        else server_fail(call, 400, "Wrong input: %s[%zu]: %s", what, i, items[i].error);
        ok = false;
    }
    if (items != &one) free(items);
    return ok;
}

bool server_embed_model_ok(server_call *call, const char *model) {
    if (!call->ctx->model || !call->ctx->embedder)
        return server_fail(call, 400, "Wrong input: text queries need the built-in model, and this server has none loaded (--model FILE)"), false;
    if (!server__model_name_ok(model))
        return server_fail(call, 400, "Wrong input: unknown model `%s`; this server embeds with `builtin`", model), false;
    return true;
}

bool server_embed_text(server_call *call, const char *text, const char *model, sc_embed_role role, float **out,
                       uint32_t *dim) {
    if (!server_embed_model_ok(call, model)) return false;
    uint32_t d = sc_model_dim(call->ctx->model);
    float *v = malloc(d * sizeof *v);
    if (!v) return server_fail(call, 500, "out of memory"), false;
    if (!server_embed_texts(call, &text, 1, role, "text", NULL, v)) {
        free(v);
        return false;
    }
    *out = v;
    *dim = d;
    return true;
}

/* Standard base64 of n bytes (owned, NUL-terminated). */
static char *server__base64(const unsigned char *p, size_t n) {
    static const char tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    char *out = malloc(4 * ((n + 2) / 3) + 1), *o = out;
    if (!out) return NULL;
    for (size_t i = 0; i < n; i += 3) {
        uint32_t v = (uint32_t)p[i] << 16 | (i + 1 < n ? (uint32_t)p[i + 1] << 8 : 0) | (i + 2 < n ? p[i + 2] : 0);
        *o++ = tab[v >> 18 & 63];
        *o++ = tab[v >> 12 & 63];
        *o++ = i + 1 < n ? tab[v >> 6 & 63] : '=';
        *o++ = i + 2 < n ? tab[v & 63] : '=';
    }
    *o = 0;
    return out;
}

/* Whitespace-separated words: the usage count reported to clients. */
static size_t server__words(const char *s) {
    size_t n = 0;
    bool in = false;
    for (; *s; s++) {
        bool sp = *s == ' ' || *s == '\t' || *s == '\n' || *s == '\r';
        if (!sp && !in) n++;
        in = !sp;
    }
    return n;
}

json_t *server_api_embeddings(server_call *call) {
    sc_model *m = call->ctx->model;
    const json_t *b = call->body;
    if (!b) return server_fail(call, 400, "a JSON body with `input` and `model` is required");
    const json_t *input = json_object_get(b, "input");
    const char *model = NULL, *fmt = NULL;
    if (!server_json_str(call, b, "model", &model) || !server_json_str(call, b, "encoding_format", &fmt)) return NULL;
    if (!model) return server_fail(call, 400, "`model` is required (this server serves `builtin`)");
    if (!server__model_name_ok(model)) return server_fail(call, 404, "The model `%s` does not exist; this server serves `builtin`", model);
    if (!m || !call->ctx->embedder)
        return server_fail(call, 503, "no embedding model is loaded (none was found: start the server with --model FILE or set SEMCODE_MODEL)");
    bool b64 = false;
    if (fmt && !strcmp(fmt, "base64")) b64 = true;
    else if (fmt && strcmp(fmt, "float")) return server_fail(call, 400, "`encoding_format` must be \"float\" or \"base64\"");
    uint32_t dim = sc_model_dim(m);
    uint64_t want_dim;
    if (!server_json_uint(call, b, "dimensions", dim, 1, 65536, &want_dim)) return NULL;
    if (want_dim != dim)
        return server_fail(call, 400, "`dimensions`: the builtin model produces %u dimensions and cannot shorten them", dim);
    size_t n;
    const char **texts;
    if (json_is_string(input)) {
        n = 1;
    } else if (json_is_array(input)) {
        n = json_array_size(input);
        if (n == 0 || n > SERVER_MAX_INPUTS)
            return server_fail(call, 400, "`input` must hold 1..%d strings", SERVER_MAX_INPUTS);
    } else {
        return server_fail(call, 400, "`input` must be a string or an array of strings");
    }
    texts = malloc(n * sizeof *texts);
    float *vecs = malloc(n * dim * sizeof *vecs);
    json_t *out = NULL;
    if (!texts || !vecs) {
        server_fail(call, 500, "out of memory");
        goto done;
    }
    size_t words = 0;
    for (size_t i = 0; i < n; i++) {
        const json_t *t = json_is_string(input) ? input : json_array_get(input, i);
        if (!json_is_string(t)) {
            server_fail(call, 400, "input[%zu] must be a string (token arrays are not supported)", i);
            goto done;
        }
        texts[i] = json_string_value(t);
        if (!*texts[i]) {
            server_fail(call, 400, "input[%zu] is empty", i);
            goto done;
        }
        words += server__words(texts[i]);
    }
    if (!server_embed_texts(call, texts, n, SC_EMBED_ROLE_QUERY, "input", NULL, vecs)) goto done;
    json_t *data = json_array();
    for (size_t i = 0; i < n; i++) {
        json_t *emb;
        if (b64) {
            char *s = server__base64((const unsigned char *)(vecs + i * dim), dim * sizeof(float));
            emb = s ? json_string(s) : NULL;
            free(s);
        } else {
            emb = json_array();
            for (uint32_t j = 0; j < dim; j++) json_array_append_new(emb, server_json_f32(vecs[i * dim + j]));
        }
        json_array_append_new(data, json_pack("{s:s,s:I,s:o}", "object", "embedding", "index", (json_int_t)i,
                                              "embedding", emb ? emb : json_null()));
    }
    out = json_pack("{s:s,s:o,s:s,s:{s:I,s:I}}", "object", "list", "data", data, "model", model, "usage",
                    "prompt_tokens", (json_int_t)words, "total_tokens", (json_int_t)words);
done:
    free(texts);
    free(vecs);
    return out;
}
