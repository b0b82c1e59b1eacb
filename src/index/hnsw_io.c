/*
** index/hnsw_io: the HNSW index file. Saved atomically (temporary file,
** fsync, rename) and loaded straight into the in-memory arrays, without
** rebuilding anything. Every byte is covered by a checksum and the loaded
** graph is checked for consistency (levels, counts, neighbour rows, entry
** point), so a truncated or damaged file gives SC_CORRUPT with the offset
** of the first bad byte instead of a crash later.
**
** DESIGN (file format, version 1, little-endian, native float)
**   offset 0   char[8] "SCHNSWX1"
**          8   u32 version (1), u32 header size (128)
**         16   u32 metric, dim, m, ef_construct, ef
**         36   u32 capacity, n_live, n_deleted, entry; i32 max_level
**         56   u64 seed, file size, upper words, quant bytes, code size
**         96   u64 user tag (hnsw_index_set_user_tag), zero padding to 120
**        120   u64 checksum of bytes 0..119
**   then sections, each followed by the u64 util_hash64_v1 of its bytes:
**     levels  i8[capacity]             (-1 = absent row)
**     flags   u8[capacity]             (bit 0 = tombstone)
**     level0  u32[capacity * (1 + 2m)] ([count, rows...] per row)
**     upper   u32[upper words]         (rows with level > 0 in row order,
**                                       level * (1 + m) words each)
**     quant   quant_serialize bytes    (only when quant bytes > 0; carries
**                                       its own checksum)
**     codes   u8[capacity * code size] (only with a quantizer)
*/
#include "index/hnsw_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define HNSW_MAGIC "SCHNSWX1"
#define HNSW_VERSION 1u
#define HNSW_HEADER_SIZE 128u

/* Fixed header, in file order (no padding between members). */
typedef struct hnsw__header {
    char magic[8];          /* HNSW_MAGIC */
    uint32_t version;       /* HNSW_VERSION */
    uint32_t header_size;   /* HNSW_HEADER_SIZE */
    uint32_t metric;        /* index_metric */
    uint32_t dim;           /* dimensions */
    uint32_t m;             /* neighbours on upper levels */
    uint32_t ef_construct;  /* build beam width */
    uint32_t ef;            /* default search beam width */
    uint32_t capacity;      /* rows in the arrays */
    uint32_t n_live;        /* live rows */
    uint32_t n_deleted;     /* tombstoned rows */
    uint32_t entry;         /* entry point or HNSW_NONE */
    int32_t max_level;      /* entry's level or -1 */
    uint64_t seed;          /* level seed */
    uint64_t file_size;     /* total bytes of the file */
    uint64_t upper_words;   /* u32 words of the upper section */
    uint64_t quant_bytes;   /* bytes of the quant section (0 = none) */
    uint64_t code_size;     /* bytes per code */
    uint64_t user_tag;      /* the store's tag */
    uint8_t pad[16];        /* zero */
    uint64_t checksum;      /* util_hash64_v1 of the 120 bytes before */
} hnsw__header;

_Static_assert(sizeof(hnsw__header) == HNSW_HEADER_SIZE, "header layout");

/* ==== Save ==== */

/* Write n bytes then their checksum. */
static bool hnsw__put(FILE *f, const void *p, size_t n, bool sum) {
    if (n && fwrite(p, 1, n, f) != n) return false;
    if (!sum) return true;
    uint64_t h = util_hash64_v1(p, n, 0);
    return fwrite(&h, 8, 1, f) == 1;
}

sc_status hnsw_index_save(const hnsw_index *idx, const char *path, sc_err *err) {
    hnsw__header h;
    memset(&h, 0, sizeof h);
    memcpy(h.magic, HNSW_MAGIC, 8);
    h.version = HNSW_VERSION;
    h.header_size = HNSW_HEADER_SIZE;
    h.metric = (uint32_t)idx->p.metric;
    h.dim = idx->p.dim;
    h.m = idx->p.m;
    h.ef_construct = idx->p.ef_construct;
    h.ef = idx->p.ef;
    h.capacity = idx->capacity;
    h.n_live = idx->n_live;
    h.n_deleted = idx->n_deleted;
    h.entry = idx->entry;
    h.max_level = idx->max_level;
    h.seed = idx->p.seed;
    h.user_tag = idx->user_tag;
    uint64_t uw = 0;
    for (uint32_t r = 0; r < idx->capacity; r++)
        if (idx->level[r] > 0) uw += (uint64_t)idx->level[r] * idx->up_stride;
    h.upper_words = uw;
    h.quant_bytes = idx->q ? quant_serial_size(idx->q) : 0;
    h.code_size = idx->q ? idx->code_size : 0;
    uint64_t cap = idx->capacity;
    h.file_size = HNSW_HEADER_SIZE + (cap + 8) + (cap + 8) + (cap * idx->l0_stride * 4 + 8) +
                  (uw * 4 + 8) + h.quant_bytes + (idx->q ? cap * h.code_size + 8 : 0);
    h.checksum = util_hash64_v1(&h, offsetof(hnsw__header, checksum), 0);

    size_t plen = strlen(path);
    char *tmp = malloc(plen + 5);
    uint32_t *up = malloc(uw ? uw * 4 : 1);
    uint8_t *qb = h.quant_bytes ? malloc(h.quant_bytes) : NULL;
    if (!tmp || !up || (h.quant_bytes && !qb)) {
        free(tmp);
        free(up);
        free(qb);
        return sc_err_set(err, SC_NOMEM, "hnsw: out of memory saving %s", path);
    }
    memcpy(tmp, path, plen);
    memcpy(tmp + plen, ".tmp", 5);
    uint64_t o = 0;
    for (uint32_t r = 0; r < idx->capacity; r++)
        if (idx->level[r] > 0) {
            size_t n = (size_t)idx->level[r] * idx->up_stride;
            memcpy(up + o, idx->upper[r], n * 4);
            o += n;
        }
    if (qb) quant_serialize(idx->q, qb);
    sc_status rc = SC_OK;
    FILE *f = fopen(tmp, "wb");
    bool ok = f != NULL;
    ok = ok && hnsw__put(f, &h, sizeof h, false);
    ok = ok && hnsw__put(f, idx->level, cap, true);
    ok = ok && hnsw__put(f, idx->flags, cap, true);
    ok = ok && hnsw__put(f, idx->l0, cap * idx->l0_stride * 4, true);
    ok = ok && hnsw__put(f, up, uw * 4, true);
    if (qb) {
        ok = ok && hnsw__put(f, qb, h.quant_bytes, false);
        ok = ok && hnsw__put(f, idx->codes, cap * h.code_size, true);
    }
    ok = ok && fflush(f) == 0 && fsync(fileno(f)) == 0;
    int e = errno;
    if (f && fclose(f) != 0 && ok) {
        ok = false;
        e = errno;
    }
    if (ok && rename(tmp, path) != 0) {
        ok = false;
        e = errno;
    }
    if (!ok) {
        rc = sc_err_set(err, SC_IOERR, "hnsw: cannot write %s: %s", f ? path : tmp, strerror(e));
        (void)unlink(tmp);
    }
    free(tmp);
    free(up);
    free(qb);
    return rc;
}

/* ==== Load ==== */

/* Reading state: file, position, path for messages. */
typedef struct hnsw__reader {
    FILE *f;          /* open file */
    uint64_t off;     /* offset of the next byte */
    const char *path; /* for messages */
} hnsw__reader;

/* Read n bytes (and their checksum when sum). */
static sc_status hnsw__get(hnsw__reader *r, void *p, size_t n, bool sum, const char *what,
                           sc_err *err) {
    if (n && fread(p, 1, n, r->f) != n)
        return sc_err_set(err, SC_CORRUPT, "hnsw: %s: %s section truncated at offset %llu", r->path,
                          what, (unsigned long long)r->off);
    uint64_t start = r->off;
    r->off += n;
    if (!sum) return SC_OK;
    uint64_t h;
    if (fread(&h, 8, 1, r->f) != 1)
        return sc_err_set(err, SC_CORRUPT, "hnsw: %s: %s checksum truncated at offset %llu", r->path,
                          what, (unsigned long long)r->off);
    if (h != util_hash64_v1(p, n, 0))
        return sc_err_set(err, SC_CORRUPT,
                          "hnsw: %s: %s section (offset %llu, %zu bytes) fails its checksum at offset %llu",
                          r->path, what, (unsigned long long)start, n, (unsigned long long)r->off);
    r->off += 8;
    return SC_OK;
}

/* Check one neighbour list; off = file offset of its count word. */
static sc_status hnsw__check_list(const hnsw_index *idx, const uint32_t *list, uint32_t maxn, int lc,
                                  uint64_t off, const char *path, sc_err *err) {
    if (list[0] > maxn)
        return sc_err_set(err, SC_CORRUPT, "hnsw: %s: neighbour count %u > %u at offset %llu", path,
                          list[0], maxn, (unsigned long long)off);
    for (uint32_t i = 0; i < list[0]; i++) {
        uint32_t nb = list[1 + i];
        if (nb >= idx->capacity || idx->level[nb] < lc)
            return sc_err_set(err, SC_CORRUPT, "hnsw: %s: neighbour row %u invalid at offset %llu",
                              path, nb, (unsigned long long)(off + 4 * (1 + (uint64_t)i)));
    }
    return SC_OK;
}

/* Consistency of the graph read from the file (offsets of each section). */
static sc_status hnsw__validate(const hnsw_index *idx, const hnsw__header *h, uint64_t o_lev,
                                uint64_t o_flag, uint64_t o_l0, uint64_t o_up, const char *path,
                                sc_err *err) {
    uint32_t live = 0, dead = 0;
    int top = -1;
    uint64_t uw = 0;
    for (uint32_t r = 0; r < idx->capacity; r++) {
        int l = idx->level[r];
        if (l < -1 || l > HNSW_MAX_LEVEL)
            return sc_err_set(err, SC_CORRUPT, "hnsw: %s: level %d of row %u at offset %llu", path, l,
                              r, (unsigned long long)(o_lev + r));
        if (idx->flags[r] & ~HNSW_FLAG_DELETED || (l < 0 && idx->flags[r]))
            return sc_err_set(err, SC_CORRUPT, "hnsw: %s: flags 0x%x of row %u at offset %llu", path,
                              idx->flags[r], r, (unsigned long long)(o_flag + r));
        if (l < 0) continue;
        if (idx->flags[r]) dead++; else live++;
        if (l > top) top = l;
        if (l > 0) uw += (uint64_t)l * idx->up_stride;
    }
    if (live != h->n_live || dead != h->n_deleted || uw != h->upper_words)
        return sc_err_set(err, SC_CORRUPT,
                          "hnsw: %s: header counts (live %u, deleted %u, upper %llu) disagree with "
                          "the levels section at offset %llu",
                          path, h->n_live, h->n_deleted, (unsigned long long)h->upper_words,
                          (unsigned long long)o_lev);
    if (top >= 0 ? (h->entry >= idx->capacity || idx->level[h->entry] != top || h->max_level != top)
                 : (h->entry != HNSW_NONE || h->max_level != -1))
        return sc_err_set(err, SC_CORRUPT, "hnsw: %s: entry point %u / max level %d invalid at offset 48",
                          path, h->entry, h->max_level);
    uint64_t uo = o_up;
    for (uint32_t r = 0; r < idx->capacity; r++) {
        uint64_t off = o_l0 + (uint64_t)r * idx->l0_stride * 4;
        if (idx->level[r] < 0) {
            if (idx->l0[(size_t)r * idx->l0_stride] != 0)
                return sc_err_set(err, SC_CORRUPT, "hnsw: %s: absent row %u has neighbours at offset %llu",
                                  path, r, (unsigned long long)off);
            continue;
        }
        sc_status rc = hnsw__check_list(idx, hnsw_list(idx, r, 0), idx->m0, 0, off, path, err);
        if (rc != SC_OK) return rc;
        for (int lc = 1; lc <= idx->level[r]; lc++) {
            rc = hnsw__check_list(idx, hnsw_list(idx, r, lc), idx->p.m, lc, uo, path, err);
            if (rc != SC_OK) return rc;
            uo += idx->up_stride * 4;
        }
    }
    return SC_OK;
}

sc_status hnsw_index_load(const char *path, const hnsw_source *src, hnsw_index **out, sc_err *err) {
    if (!path || !src || !out) return sc_err_set(err, SC_MISUSE, "hnsw_index_load: NULL argument");
    FILE *f = fopen(path, "rb");
    if (!f) return sc_err_set(err, SC_IOERR, "hnsw: cannot open %s: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fileno(f), &st) != 0) {
        int e = errno;
        fclose(f);
        return sc_err_set(err, SC_IOERR, "hnsw: cannot stat %s: %s", path, strerror(e));
    }
    hnsw_index *idx = NULL;
    uint32_t *up = NULL;
    uint8_t *qb = NULL;
    sc_status rc;
    hnsw__header h;
    hnsw__reader rd = {f, 0, path};
    if ((uint64_t)st.st_size < HNSW_HEADER_SIZE || fread(&h, sizeof h, 1, f) != 1) {
        rc = sc_err_set(err, SC_CORRUPT, "hnsw: %s: header truncated at offset %llu (file has %llu bytes)",
                        path, (unsigned long long)st.st_size, (unsigned long long)st.st_size);
        goto fail;
    }
    rd.off = HNSW_HEADER_SIZE;
    if (memcmp(h.magic, HNSW_MAGIC, 8) != 0) {
        rc = sc_err_set(err, SC_CORRUPT, "hnsw: %s: bad magic at offset 0", path);
        goto fail;
    }
    if (h.checksum != util_hash64_v1(&h, offsetof(hnsw__header, checksum), 0)) {
        rc = sc_err_set(err, SC_CORRUPT, "hnsw: %s: header checksum mismatch at offset 120", path);
        goto fail;
    }
    if (h.version != HNSW_VERSION || h.header_size != HNSW_HEADER_SIZE) {
        rc = sc_err_set(err, SC_UNSUPPORTED, "hnsw: %s: version %u at offset 8 (this build reads %u)",
                        path, h.version, HNSW_VERSION);
        goto fail;
    }
    if (h.file_size != (uint64_t)st.st_size) {
        rc = sc_err_set(err, SC_CORRUPT, "hnsw: %s: truncated or extended: %llu bytes, header says %llu (offset %llu)",
                        path, (unsigned long long)st.st_size, (unsigned long long)h.file_size,
                        (unsigned long long)((uint64_t)st.st_size < h.file_size ? (uint64_t)st.st_size : h.file_size));
        goto fail;
    }
    hnsw_params p = hnsw_params_default();
    p.metric = (index_metric)h.metric;
    p.dim = h.dim;
    p.m = h.m;
    p.ef_construct = h.ef_construct;
    p.ef = h.ef;
    p.seed = h.seed;
    sc_err perr = {0};
    rc = hnsw_index_new(&p, src, &idx, &perr);
    if (rc != SC_OK) {
        rc = sc_err_set(err, rc == SC_NOMEM ? SC_NOMEM : SC_CORRUPT, "hnsw: %s: parameters at offset 16: %s",
                        path, perr.msg);
        goto fail;
    }
    uint64_t cap = h.capacity;
    uint64_t expect = HNSW_HEADER_SIZE + (cap + 8) * 2 + (cap * idx->l0_stride * 4 + 8) +
                      (h.upper_words * 4 + 8) + h.quant_bytes +
                      (h.quant_bytes ? cap * h.code_size + 8 : 0);
    if (expect != h.file_size || h.upper_words > cap * HNSW_MAX_LEVEL * idx->up_stride) {
        rc = sc_err_set(err, SC_CORRUPT, "hnsw: %s: section sizes disagree with file size at offset 36", path);
        goto fail;
    }
    rc = hnsw_reserve(idx, h.capacity, err);
    if (rc != SC_OK) goto fail;
    /* hnsw_reserve may round up; the file's capacity is what was saved. */
    uint64_t o_lev = rd.off;
    if ((rc = hnsw__get(&rd, idx->level, cap, true, "levels", err)) != SC_OK) goto fail;
    uint64_t o_flag = rd.off;
    if ((rc = hnsw__get(&rd, idx->flags, cap, true, "flags", err)) != SC_OK) goto fail;
    uint64_t o_l0 = rd.off;
    if ((rc = hnsw__get(&rd, idx->l0, cap * idx->l0_stride * 4, true, "level0", err)) != SC_OK) goto fail;
    uint64_t o_up = rd.off;
    up = malloc(h.upper_words ? h.upper_words * 4 : 1);
    if (!up) {
        rc = sc_err_set(err, SC_NOMEM, "hnsw: out of memory loading %s", path);
        goto fail;
    }
    if ((rc = hnsw__get(&rd, up, h.upper_words * 4, true, "upper", err)) != SC_OK) goto fail;
    /* Rows beyond the saved capacity (rounding of reserve) stay absent. */
    uint32_t saved_cap = idx->capacity;
    idx->capacity = h.capacity;
    uint64_t uo = 0;
    for (uint32_t r = 0; r < h.capacity; r++) {
        int l = idx->level[r];
        if (l <= 0 || l > HNSW_MAX_LEVEL) continue;
        size_t n = (size_t)l * idx->up_stride;
        if (uo + n > h.upper_words) break; /* caught by validation */
        idx->upper[r] = malloc(n * 4);
        if (!idx->upper[r]) {
            idx->capacity = saved_cap;
            rc = sc_err_set(err, SC_NOMEM, "hnsw: out of memory loading %s", path);
            goto fail;
        }
        memcpy(idx->upper[r], up + uo, n * 4);
        uo += n;
    }
    idx->n_live = h.n_live;
    idx->n_deleted = h.n_deleted;
    rc = hnsw__validate(idx, &h, o_lev, o_flag, o_l0, o_up, path, err);
    idx->capacity = saved_cap;
    if (rc != SC_OK) goto fail;
    idx->entry = h.entry;
    idx->max_level = h.max_level;
    idx->user_tag = h.user_tag;
    if (h.quant_bytes) {
        qb = malloc(h.quant_bytes);
        if (!qb) {
            rc = sc_err_set(err, SC_NOMEM, "hnsw: out of memory loading %s", path);
            goto fail;
        }
        uint64_t o_q = rd.off;
        if ((rc = hnsw__get(&rd, qb, h.quant_bytes, false, "quant", err)) != SC_OK) goto fail;
        rc = quant_deserialize(qb, h.quant_bytes, o_q, &idx->q, err);
        if (rc != SC_OK) goto fail;
        if (quant_code_size(idx->q) != h.code_size) {
            rc = sc_err_set(err, SC_CORRUPT, "hnsw: %s: code size %llu disagrees with quantizer at offset 88",
                            path, (unsigned long long)h.code_size);
            goto fail;
        }
        idx->code_size = h.code_size;
        idx->codes = calloc(idx->capacity, h.code_size);
        if (!idx->codes) {
            rc = sc_err_set(err, SC_NOMEM, "hnsw: out of memory loading %s", path);
            goto fail;
        }
        if ((rc = hnsw__get(&rd, idx->codes, cap * h.code_size, true, "codes", err)) != SC_OK) goto fail;
    }
    free(up);
    free(qb);
    fclose(f);
    *out = idx;
    return SC_OK;
fail:
    free(up);
    free(qb);
    hnsw_index_free(idx);
    fclose(f);
    return rc;
}
