/*
** index/hnsw_insert: single-row mutations of the HNSW index other than add
** (which is a batch of one, see hnsw_build.c): tombstoning delete, in-place
** update, and quantization of the whole index.
**
** A tombstoned row keeps its place in the graph so walks still pass
** through it; it is only left out of results. hnsw_index_vacuum removes it.
*/
#include "index/hnsw_int.h"

#include <stdlib.h>
#include <string.h>

sc_status hnsw_index_delete(hnsw_index *idx, uint32_t row, sc_err *err) {
    if (!hnsw_index_contains(idx, row))
        return sc_err_set(err, SC_NOTFOUND, "hnsw: row %u is not live in the index", row);
    idx->flags[row] |= HNSW_FLAG_DELETED;
    idx->n_live--;
    idx->n_deleted++;
    return SC_OK;
}

sc_status hnsw_index_update(hnsw_index *idx, uint32_t row, sc_err *err) {
    if (!hnsw_index_contains(idx, row))
        return sc_err_set(err, SC_NOTFOUND, "hnsw: row %u is not live in the index", row);
    hnsw_encode_row(idx, row);
    hnsw_scratch *s = hnsw_scratch_get(idx);
    if (!s) return sc_err_set(err, SC_NOMEM, "hnsw: out of memory for scratch");
    /* The old lists stay in place during the search: they are valid edges
    ** and let the walk pass through row (which excludes itself). */
    sc_status rc = hnsw_link(idx, row, s);
    hnsw_scratch_put(idx, s);
    if (rc != SC_OK) return sc_err_set(err, rc, "hnsw: relinking row %u failed", row);
    return SC_OK;
}

sc_status hnsw_index_quantize(hnsw_index *idx, const quant_params *qp, sc_err *err) {
    if (!qp) return sc_err_set(err, SC_MISUSE, "hnsw_index_quantize: NULL params");
    if (qp->mode == QUANT_MODE_NONE) {
        quant_free(idx->q);
        free(idx->codes);
        idx->q = NULL;
        idx->codes = NULL;
        idx->code_size = 0;
        return SC_OK;
    }
    /* Sample live rows evenly (deterministic: every step-th live row). */
    uint32_t want = qp->max_train ? qp->max_train : 20000;
    if (idx->n_live == 0) return sc_err_set(err, SC_INVALID, "hnsw: cannot train a quantizer on an empty index");
    uint32_t step = idx->n_live > want ? (idx->n_live + want - 1) / want : 1;
    const float **vecs = malloc(((size_t)idx->n_live / step + 1) * sizeof *vecs);
    if (!vecs) return sc_err_set(err, SC_NOMEM, "hnsw: out of memory");
    size_t nv = 0;
    uint32_t seen = 0;
    for (uint32_t r = 0; r < idx->capacity; r++) {
        if (!hnsw_index_contains(idx, r)) continue;
        if (seen++ % step == 0) vecs[nv++] = hnsw_vec(idx, r);
    }
    quant *q = NULL;
    sc_status rc = quant_train(qp, idx->p.metric, idx->p.dim, vecs, nv, &q, err);
    free(vecs);
    if (rc != SC_OK) return rc;
    size_t cs = quant_code_size(q);
    uint8_t *codes = calloc(idx->capacity ? idx->capacity : 1, cs);
    if (!codes) {
        quant_free(q);
        return sc_err_set(err, SC_NOMEM, "hnsw: out of memory for codes");
    }
    quant_free(idx->q);
    free(idx->codes);
    idx->q = q;
    idx->codes = codes;
    idx->code_size = cs;
    for (uint32_t r = 0; r < idx->capacity; r++)
        if (idx->level[r] >= 0) hnsw_encode_row(idx, r);
    /* Scratch query buffers are resized lazily by hnsw_scratch_get. */
    return SC_OK;
}
