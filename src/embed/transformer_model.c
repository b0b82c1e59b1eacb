/*
** embed/transformer_model: a transformer model behind the common model
** handle. sc_model_load (model.c) calls transformer_model_load when its
** path is a directory, so every caller of sc_model_* (CLI, repo, server)
** can use a Hugging Face model wherever the built-in one is used:
** sc_model_embed, sc_model_dim, sc_model_hash, sc_model_metadata and
** sc_model_free dispatch on sc_model.tf. The query/code role is ignored
** (one tower).
*/
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "embed/embed.h"
#include "embed/transformer_int.h"

sc_status transformer_model_load(const char *dir, sc_model **out, char **errmsg) {
    sc_transformer *tf = NULL;
    sc_status rc = sc_transformer_load(dir, NULL, &tf, errmsg);
    if (rc != SC_OK) return rc;
    sc_model *m = calloc(1, sizeof *m);
    json_t *meta = json_pack("{s:s,s:s,s:s,s:i}", "kind", "transformer", "path", dir, "describe",
                             sc_transformer_describe(tf), "dim", (json_int_t)sc_transformer_dim(tf));
    char *meta_text = meta ? json_dumps(meta, JSON_COMPACT) : NULL;
    json_decref(meta);
    if (!m || !meta_text) {
        free(m);
        free(meta_text);
        sc_transformer_free(tf);
        if (errmsg) *errmsg = util_strdup("out of memory");
        return SC_NOMEM;
    }
    pthread_mutex_init(&m->mu, NULL);
    m->tf = tf;
    m->cfg.dim = sc_transformer_dim(tf);
    m->hash = sc_transformer_hash(tf);
    m->meta = meta_text;
    *out = m;
    return SC_OK;
}
