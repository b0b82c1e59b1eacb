/*
** index/hnsw_revive: bring a tombstoned row back to life with a new vector.
** The store reuses the slot of a deleted point for a new one; until a
** vacuum has reclaimed the tombstone, the row cannot be added again, so it
** is revived instead: the tombstone bit is cleared and the row relinked
** like an update (its old in-links remain valid graph edges).
*/
#include "index/hnsw_int.h"

sc_status hnsw_index_revive(hnsw_index *idx, uint32_t row, sc_err *err) {
    if (row >= idx->capacity || idx->level[row] < 0 || !(idx->flags[row] & HNSW_FLAG_DELETED))
        return sc_err_set(err, SC_NOTFOUND, "hnsw: row %u is not tombstoned", row);
    idx->flags[row] &= (uint8_t)~HNSW_FLAG_DELETED;
    idx->n_deleted--;
    idx->n_live++;
    return hnsw_index_update(idx, row, err);
}

bool hnsw_index_is_tombstoned(const hnsw_index *idx, uint32_t row) {
    return row < idx->capacity && idx->level[row] >= 0 && (idx->flags[row] & HNSW_FLAG_DELETED);
}
