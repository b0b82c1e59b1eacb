/*
** store/snapshot.c: snapshot files of collections (include/semcode/snapshot.h):
** writing one while the store serves, checking one, restoring a collection
** from one, extracting an attached file.
**
** DESIGN
** - File: a 16-byte header ("SCSNAP\r\n", u32 format version, u32 zero)
**   then records `u32 tag | u32 zero | u64 length | payload | u64 check`,
**   check = XXH3-64 (seed SNAP_SEED) of the 16 record header bytes and the
**   payload. Records: MANI (manifest JSON, first), per collection COLL
**   (JSON: name, config text, points) followed by its KWTM (keyword term
**   rows), PNTS (point rows) and GRPH (u32 vector position + a graph file
**   as hnsw_index_save wrote it) records, BLOB (u32 name length, name,
**   bytes: an attached file), and END (u64 records before it, u64 XXH3-64 of
**   their checks in order) which must be the last bytes of the file. All
**   integers little-endian. docs/FILE_FORMATS.md has the table.
** - Consistency: under the store's read lock (no write is between its
**   SQLite commit and its acknowledgement, since writers hold the write
**   lock across both) a second, read-only SQLite connection begins a read
**   transaction and the in-memory graphs are saved to temporary files; then
**   the lock is released and the rows are streamed from that transaction
**   (WAL snapshot isolation) while writers go on. The saved graphs match
**   those rows exactly, as nothing was written in between.
** - Restore: the whole file is verified first; then, under the write lock,
**   one transaction deletes the collection being replaced, inserts the rows
**   (stamped with a new write sequence number, which is also the watermark
**   of the restored graphs, so no catch-up is needed) and loads the new
**   collection from that transaction before COMMIT. Every record is
**   checked again as it is applied (the file may have changed between the
**   passes); any failure rolls back and removes the graph files written.
** - Bytes from a snapshot are untrusted: lengths are bounded by what is
**   left of the file and by per-record limits before anything is
**   allocated; rows are decoded by the same checks as a store open
**   (store_coll_load), graph files by hnsw_index_load (a bad one is rebuilt).
*/
#include "semcode/snapshot.h"
#include "store/store_int.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <xxhash.h>

#define SNAP_MAGIC "SCSNAP\r\n"
#define SNAP_SEED 0x534e4150u                 /* seed of record checks */
#define SNAP_TAG(a, b, c, d) ((uint32_t)(a) | (uint32_t)(b) << 8 | (uint32_t)(c) << 16 | (uint32_t)(d) << 24)
#define SNAP_MANI SNAP_TAG('M', 'A', 'N', 'I')
#define SNAP_COLL SNAP_TAG('C', 'O', 'L', 'L')
#define SNAP_KWTM SNAP_TAG('K', 'W', 'T', 'M')
#define SNAP_PNTS SNAP_TAG('P', 'N', 'T', 'S')
#define SNAP_GRPH SNAP_TAG('G', 'R', 'P', 'H')
#define SNAP_BLOB SNAP_TAG('B', 'L', 'O', 'B')
#define SNAP_END SNAP_TAG('E', 'N', 'D', '_')
#define SNAP_SMALL_MAX (64u << 20)            /* largest record read into memory (all but GRPH / BLOB) */
#define SNAP_CHUNK (4u << 20)                 /* PNTS / KWTM records are cut near this size */
#define SNAP_NULL_LEN UINT32_MAX              /* field length of a NULL column */

/* ==== Little-endian helpers ==== */

static void snap__put32(uint8_t *p, uint32_t v) {
    for (int i = 0; i < 4; i++) p[i] = (uint8_t)(v >> (8 * i));
}
static void snap__put64(uint8_t *p, uint64_t v) {
    for (int i = 0; i < 8; i++) p[i] = (uint8_t)(v >> (8 * i));
}
static uint32_t snap__get32(const uint8_t *p) {
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static uint64_t snap__get64(const uint8_t *p) { return (uint64_t)snap__get32(p) | (uint64_t)snap__get32(p + 4) << 32; }

/* ==== Writing ==== */

/* An output file being written, with its running hashes. */
typedef struct snap_writer {
    FILE *f;               /* the .tmp file */
    const char *path;      /* its name, for messages */
    uint64_t off;          /* bytes written */
    uint64_t n_records;    /* records written */
    XXH3_state_t *chain;   /* XXH3-64 over the records' checks (END) */
    util_sha256 sha;       /* SHA-256 of the whole file */
} snap_writer;

static sc_status snap__out(snap_writer *w, const void *p, size_t n) {
    if (n && fwrite(p, 1, n, w->f) != n)
        return store_fail(SC_IOERR, "writing snapshot %s: %s", w->path, strerror(errno));
    util_sha256_update(&w->sha, p, n);
    w->off += n;
    return SC_OK;
}

/* Write one record: tag, the payload given in two parts (head may be
** empty) and, when src is not NULL, src's bytes after them (streamed). */
static sc_status snap__record(snap_writer *w, uint32_t tag, const void *head, size_t head_n, const void *body,
                              size_t body_n, FILE *src, uint64_t src_n) {
    uint8_t hdr[16];
    snap__put32(hdr, tag);
    snap__put32(hdr + 4, 0);
    snap__put64(hdr + 8, head_n + body_n + src_n);
    XXH3_state_t *h = XXH3_createState();
    if (!h) return store_fail(SC_NOMEM, "out of memory");
    XXH3_64bits_reset_withSeed(h, SNAP_SEED);
    XXH3_64bits_update(h, hdr, sizeof hdr);
    XXH3_64bits_update(h, head, head_n);
    XXH3_64bits_update(h, body, body_n);
    sc_status rc = snap__out(w, hdr, sizeof hdr);
    if (rc == SC_OK) rc = snap__out(w, head, head_n);
    if (rc == SC_OK) rc = snap__out(w, body, body_n);
    char buf[1 << 16];
    for (uint64_t left = src_n; rc == SC_OK && left;) {
        size_t want = left < sizeof buf ? (size_t)left : sizeof buf;
        if (fread(buf, 1, want, src) != want) {
            rc = store_fail(SC_IOERR, "reading a graph or attached file for snapshot %s: short read", w->path);
            break;
        }
        XXH3_64bits_update(h, buf, want);
        rc = snap__out(w, buf, want);
        left -= want;
    }
    if (rc == SC_OK) {
        uint8_t check[8];
        uint64_t c = XXH3_64bits_digest(h);
        snap__put64(check, c);
        XXH3_64bits_update(w->chain, check, sizeof check);
        rc = snap__out(w, check, sizeof check);
        w->n_records++;
    }
    XXH3_freeState(h);
    return rc;
}

/* A record whose payload is the file at fpath, after head. */
static sc_status snap__record_file(snap_writer *w, uint32_t tag, const void *head, size_t head_n, const char *fpath) {
    FILE *src = fopen(fpath, "rb");
    if (!src) return store_fail(SC_IOERR, "snapshot: cannot open %s: %s", fpath, strerror(errno));
    struct stat stt;
    sc_status rc = fstat(fileno(src), &stt) == 0
                       ? snap__record(w, tag, head, head_n, NULL, 0, src, (uint64_t)stt.st_size)
                       : store_fail(SC_IOERR, "snapshot: cannot stat %s: %s", fpath, strerror(errno));
    fclose(src);
    return rc;
}

/* Append a column value (len + bytes, or the NULL length) to b. */
static void snap__put_field(util_buf *b, const void *p, int n, bool null) {
    uint8_t l[4];
    snap__put32(l, null ? SNAP_NULL_LEN : (uint32_t)n);
    util_buf_append(b, l, 4);
    if (!null && n > 0) util_buf_append(b, p, (size_t)n);
}

/* Write the KWTM and PNTS records of collection id through the read connection ro. */
static sc_status snap__write_rows(snap_writer *w, sqlite3 *ro, int64_t id, const char *name, bool has_sparse,
                                  uint64_t *n_points) {
    sc_status rc = SC_OK;
    util_buf b = {0};
    uint8_t cnt[4];
    uint32_t n = 0;
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(ro, "SELECT id, term FROM kwterms WHERE coll=?1 ORDER BY id", -1, &st, NULL) != SQLITE_OK)
        return store_fail(SC_IOERR, "snapshot of `%s`: reading keyword terms: %s", name, sqlite3_errmsg(ro));
    sqlite3_bind_int64(st, 1, id);
    int step;
    while ((step = sqlite3_step(st)) == SQLITE_ROW || n) {
        if (step == SQLITE_ROW) {
            uint8_t tid[4];
            snap__put32(tid, (uint32_t)sqlite3_column_int64(st, 0));
            util_buf_append(&b, tid, 4);
            snap__put_field(&b, sqlite3_column_text(st, 1), sqlite3_column_bytes(st, 1), false);
            n++;
        }
        if (n && (step != SQLITE_ROW || b.len >= SNAP_CHUNK)) {
            if (b.oom) { rc = store_fail(SC_NOMEM, "out of memory"); break; }
            snap__put32(cnt, n);
            if ((rc = snap__record(w, SNAP_KWTM, cnt, 4, b.data, b.len, NULL, 0)) != SC_OK) break;
            b.len = 0, n = 0;
        }
        if (step != SQLITE_ROW) break;
    }
    if (rc == SC_OK && step != SQLITE_DONE)
        rc = store_fail(SC_IOERR, "snapshot of `%s`: reading keyword terms: %s", name, sqlite3_errmsg(ro));
    sqlite3_finalize(st);
    if (rc != SC_OK) goto done;
    const char *sql = has_sparse ? "SELECT pid, slot, payload, vectors, kw, sparse FROM points WHERE coll=?1 ORDER BY rid"
                                 : "SELECT pid, slot, payload, vectors, kw, NULL FROM points WHERE coll=?1 ORDER BY rid";
    if (sqlite3_prepare_v2(ro, sql, -1, &st, NULL) != SQLITE_OK) {
        rc = store_fail(SC_IOERR, "snapshot of `%s`: reading points: %s", name, sqlite3_errmsg(ro));
        goto done;
    }
    sqlite3_bind_int64(st, 1, id);
    while ((step = sqlite3_step(st)) == SQLITE_ROW || n) {
        if (step == SQLITE_ROW) {
            uint8_t key[STORE_ID_KEY_SIZE] = {0}, slot[4];
            int kn = sqlite3_column_bytes(st, 0);
            if (kn == STORE_ID_KEY_SIZE) memcpy(key, sqlite3_column_blob(st, 0), STORE_ID_KEY_SIZE);
            snap__put32(slot, (uint32_t)sqlite3_column_int64(st, 1));
            util_buf_append(&b, key, sizeof key);
            util_buf_append(&b, slot, 4);
            for (int col = 2; col <= 5; col++)
                snap__put_field(&b, sqlite3_column_blob(st, col), sqlite3_column_bytes(st, col),
                                sqlite3_column_type(st, col) == SQLITE_NULL);
            n++;
            (*n_points)++;
        }
        if (n && (step != SQLITE_ROW || b.len >= SNAP_CHUNK)) {
            if (b.oom) { rc = store_fail(SC_NOMEM, "out of memory"); break; }
            snap__put32(cnt, n);
            if ((rc = snap__record(w, SNAP_PNTS, cnt, 4, b.data, b.len, NULL, 0)) != SC_OK) break;
            b.len = 0, n = 0;
        }
        if (step != SQLITE_ROW) break;
    }
    if (rc == SC_OK && step != SQLITE_DONE)
        rc = store_fail(SC_IOERR, "snapshot of `%s`: reading points: %s", name, sqlite3_errmsg(ro));
    sqlite3_finalize(st);
done:
    util_buf_free(&b);
    return rc;
}

/* One collection being written: what was captured under the lock. */
typedef struct snap_src {
    const char *name;     /* collection name (borrowed from the caller) */
    int64_t id;           /* collections.id */
    bool has_sparse;      /* read the sparse column */
    size_t n_graphs;      /* graphs saved */
    uint32_t vec[SC_MAX_VECTOR_NAMES]; /* their vector positions */
    char *gpath[SC_MAX_VECTOR_NAMES];  /* their temporary files (owned) */
} snap_src;

/* A one-value query on ro into *out (text, owned) or *iv. */
static sc_status snap__query1(sqlite3 *ro, const char *sql, int64_t arg, char **out, int64_t *iv) {
    sqlite3_stmt *st = NULL;
    sc_status rc = SC_OK;
    if (sqlite3_prepare_v2(ro, sql, -1, &st, NULL) != SQLITE_OK)
        return store_fail(SC_IOERR, "snapshot: %s", sqlite3_errmsg(ro));
    sqlite3_bind_int64(st, 1, arg);
    int step = sqlite3_step(st);
    if (step == SQLITE_ROW) {
        if (iv) *iv = sqlite3_column_int64(st, 0);
        if (out && !(*out = util_strdup((const char *)sqlite3_column_text(st, 0))))
            rc = store_fail(SC_NOMEM, "out of memory");
    } else {
        rc = store_fail(step == SQLITE_DONE ? SC_NOTFOUND : SC_IOERR, "snapshot: %s",
                        step == SQLITE_DONE ? "row vanished" : sqlite3_errmsg(ro));
    }
    sqlite3_finalize(st);
    return rc;
}

sc_snapshot_options sc_snapshot_options_default(void) { return (sc_snapshot_options){.kind = "collection"}; }

void sc_snapshot_info_free(sc_snapshot_info *info) {
    if (!info) return;
    free(info->manifest);
    info->manifest = NULL;
}

/* Capture, under the read lock: the read transaction and the graphs. */
static sc_status snap__capture(sc_db *db, sqlite3 *ro, const char *const *colls, size_t n, snap_src *src,
                               const char *path, uint64_t *seq) {
    sc_status rc = SC_OK;
    pthread_rwlock_rdlock(&db->lock);
    for (size_t i = 0; i < n && rc == SC_OK; i++) {
        store_coll *c = NULL;
        if ((rc = store_coll_get(db, colls[i], &c)) != SC_OK) break;
        src[i].name = colls[i];
        src[i].id = c->db_id;
        src[i].has_sparse = c->n_sparse > 0;
    }
    int64_t s = 0;
    if (rc == SC_OK && sqlite3_exec(ro, "BEGIN", NULL, NULL, NULL) != SQLITE_OK)
        rc = store_fail(SC_IOERR, "snapshot: %s", sqlite3_errmsg(ro));
    /* the first read fixes the transaction's view of the WAL */
    if (rc == SC_OK) rc = snap__query1(ro, "SELECT CAST(value AS INTEGER) FROM meta WHERE key='seq' AND ?1=?1", 0,
                                       NULL, &s);
    /* the background indexer links points under db->lock shared too: its graph is read
    ** under ann_lock shared, as searches read it (store_int.h; lock order db->lock, ann_lock) */
    pthread_rwlock_rdlock(&db->ann_lock);
    for (size_t i = 0; i < n && rc == SC_OK; i++) {
        store_coll *c = store_coll_find(db, colls[i]);
        for (size_t v = 0; v < c->n_vecs && rc == SC_OK; v++) {
            if (!c->vecs[v].ann) continue;
            size_t g = src[i].n_graphs;
            char gp[4200];
            snprintf(gp, sizeof gp, "%s.c%zu-v%zu.graph", path, i, v);
            if (!(src[i].gpath[g] = util_strdup(gp))) {
                rc = store_fail(SC_NOMEM, "out of memory");
                break;
            }
            src[i].vec[g] = (uint32_t)v;
            src[i].n_graphs++;
            sc_err err = {0};
            if (hnsw_index_save(c->vecs[v].ann, gp, &err) != SC_OK) rc = store_fail_err(&err);
        }
    }
    pthread_rwlock_unlock(&db->ann_lock);
    pthread_rwlock_unlock(&db->lock);
    *seq = (uint64_t)s;
    return rc;
}

/* Write everything after the capture: header, manifest, collections, blobs, END. */
static sc_status snap__write_all(snap_writer *w, sqlite3 *ro, const snap_src *src, size_t n,
                                 const sc_snapshot_options *opt, uint64_t seq, uint64_t *n_points, char **manifest) {
    uint8_t hdr[16];
    memcpy(hdr, SNAP_MAGIC, 8);
    snap__put32(hdr + 8, SC_SNAPSHOT_FORMAT_VERSION);
    snap__put32(hdr + 12, 0);
    sc_status rc = snap__out(w, hdr, sizeof hdr);
    json_t *m = json_object(), *cl = json_array(), *bl = json_array();
    char when[32];
    time_t now = time(NULL);
    struct tm tmv;
    strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", gmtime_r(&now, &tmv));
    json_object_set_new(m, "format", json_integer(SC_SNAPSHOT_FORMAT_VERSION));
    json_object_set_new(m, "kind", json_string(opt->kind ? opt->kind : "collection"));
    json_object_set_new(m, "created", json_string(when));
    json_object_set_new(m, "semcode", json_string(SC_VERSION_STRING));
    json_object_set_new(m, "seq", json_integer((json_int_t)seq));
    for (size_t i = 0; i < n && rc == SC_OK; i++) {
        int64_t cnt = 0;
        rc = snap__query1(ro, "SELECT count(*) FROM points WHERE coll=?1", src[i].id, NULL, &cnt);
        json_array_append_new(cl, json_pack("{s:s, s:I}", "name", src[i].name, "points", (json_int_t)cnt));
    }
    for (size_t i = 0; i < opt->n_blobs; i++) json_array_append_new(bl, json_string(opt->blob_names[i]));
    json_object_set_new(m, "collections", cl);
    json_object_set_new(m, "blobs", bl);
    if (opt->extra_json) {
        json_error_t jerr;
        json_t *x = json_loads(opt->extra_json, 0, &jerr);
        if (!json_is_object(x) && rc == SC_OK)
            rc = store_fail(SC_INVALID, "snapshot: extra manifest data is not a JSON object");
        json_object_set_new(m, "extra", x ? x : json_object());
    }
    char *mtext = rc == SC_OK ? store_json_dumps(m, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
    json_decref(m);
    if (rc == SC_OK && !mtext) rc = store_fail(SC_NOMEM, "out of memory");
    if (rc == SC_OK) rc = snap__record(w, SNAP_MANI, mtext, strlen(mtext), NULL, 0, NULL, 0);
    for (size_t i = 0; i < n && rc == SC_OK; i++) {
        char *config = NULL;
        if ((rc = snap__query1(ro, "SELECT config FROM collections WHERE id=?1", src[i].id, &config, NULL)) != SC_OK)
            break;
        json_t *cj = json_pack("{s:s, s:s}", "name", src[i].name, "config", config);
        char *ctext = cj ? store_json_dumps(cj, JSON_COMPACT) : NULL;
        json_decref(cj);
        free(config);
        if (!ctext) rc = store_fail(SC_NOMEM, "out of memory");
        if (rc == SC_OK) rc = snap__record(w, SNAP_COLL, ctext, strlen(ctext), NULL, 0, NULL, 0);
        free(ctext);
        if (rc == SC_OK) rc = snap__write_rows(w, ro, src[i].id, src[i].name, src[i].has_sparse, n_points);
        for (size_t g = 0; g < src[i].n_graphs && rc == SC_OK; g++) {
            uint8_t v[4];
            snap__put32(v, src[i].vec[g]);
            rc = snap__record_file(w, SNAP_GRPH, v, 4, src[i].gpath[g]);
        }
    }
    for (size_t i = 0; i < opt->n_blobs && rc == SC_OK; i++) {
        size_t nl = strlen(opt->blob_names[i]);
        if (nl < 1 || nl > 255) {
            rc = store_fail(SC_INVALID, "snapshot: attached file name '%s' must be 1..255 bytes", opt->blob_names[i]);
            break;
        }
        uint8_t head[4 + 255];
        snap__put32(head, (uint32_t)nl);
        memcpy(head + 4, opt->blob_names[i], nl);
        rc = snap__record_file(w, SNAP_BLOB, head, 4 + nl, opt->blob_paths[i]);
    }
    if (rc == SC_OK) {
        uint8_t end[16];
        snap__put64(end, w->n_records);
        snap__put64(end + 8, XXH3_64bits_digest(w->chain));
        rc = snap__record(w, SNAP_END, end, sizeof end, NULL, 0, NULL, 0);
    }
    if (rc == SC_OK) *manifest = mtext;
    else free(mtext);
    return rc;
}

sc_status sc_snapshot_create(sc_db *db, const char *const *colls, size_t n, const sc_snapshot_options *opt,
                             const char *path, sc_snapshot_info *info) {
    if (!db || (!colls && n) || !path || n > 4096) return store_fail(SC_MISUSE, "sc_snapshot_create: bad argument");
    sc_snapshot_options dflt = sc_snapshot_options_default();
    if (!opt) opt = &dflt;
    char tmp[4200], dbp[4200];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    snprintf(dbp, sizeof dbp, "%s/store.db", db->path);
    snap_src *src = calloc(n ? n : 1, sizeof *src);
    snap_writer w = {.path = path};
    sqlite3 *ro = NULL;
    sc_status rc = SC_OK;
    uint64_t seq = 0, n_points = 0;
    char *manifest = NULL;
    util_sha256_init(&w.sha);
    if (!src || !(w.chain = XXH3_createState())) {
        rc = store_fail(SC_NOMEM, "out of memory");
        goto done;
    }
    XXH3_64bits_reset(w.chain);
    if (sqlite3_open_v2(dbp, &ro, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) {
        rc = store_fail(SC_IOERR, "snapshot: cannot open %s: %s", dbp, ro ? sqlite3_errmsg(ro) : "out of memory");
        goto done;
    }
    sqlite3_busy_timeout(ro, 5000);
    if (!(w.f = fopen(tmp, "wb"))) {
        rc = store_fail(SC_IOERR, "cannot create snapshot %s: %s", tmp, strerror(errno));
        goto done;
    }
    if ((rc = snap__capture(db, ro, colls, n, src, path, &seq)) != SC_OK) goto done;
    if ((rc = snap__write_all(&w, ro, src, n, opt, seq, &n_points, &manifest)) != SC_OK) goto done;
    if (fflush(w.f) != 0 || fsync(fileno(w.f)) != 0)
        rc = store_fail(SC_IOERR, "writing snapshot %s: %s", tmp, strerror(errno));
    if (fclose(w.f) != 0 && rc == SC_OK) rc = store_fail(SC_IOERR, "writing snapshot %s: %s", tmp, strerror(errno));
    w.f = NULL;
    if (rc == SC_OK && rename(tmp, path) != 0)
        rc = store_fail(SC_IOERR, "cannot rename %s to %s: %s", tmp, path, strerror(errno));
done:
    if (w.f) fclose(w.f);
    if (rc != SC_OK) unlink(tmp);
    if (ro) {
        sqlite3_exec(ro, "COMMIT", NULL, NULL, NULL);
        sqlite3_close(ro);
    }
    for (size_t i = 0; src && i < n; i++)
        for (size_t g = 0; g < src[i].n_graphs; g++) {
            unlink(src[i].gpath[g]);
            free(src[i].gpath[g]);
        }
    free(src);
    if (rc == SC_OK && info) {
        *info = (sc_snapshot_info){.size = w.off, .n_points = n_points, .seq = seq, .manifest = manifest};
        util_sha256_hex(&w.sha, info->sha256);
        manifest = NULL;
    }
    free(manifest);
    if (w.chain) XXH3_freeState(w.chain);
    return rc;
}

/* ==== Reading ==== */

/* A snapshot file being read, record by record. */
typedef struct snap_reader {
    FILE *f;              /* the file */
    const char *path;     /* its name, for messages */
    uint64_t size;        /* its size */
    uint64_t off;         /* offset of the next byte */
    uint64_t n_records;   /* records read */
    XXH3_state_t *chain;  /* over the checks read */
    XXH3_state_t *rec;    /* the current record's check */
    util_sha256 sha;      /* SHA-256 of everything read */
    uint32_t tag;         /* current record */
    uint64_t len;         /* its payload length */
    uint64_t rec_off;     /* its offset */
    uint64_t left;        /* payload bytes not read yet */
    bool ended;           /* END was read and checked */
} snap_reader;

static sc_status snap__corrupt(const snap_reader *r, uint64_t off, const char *what) {
    return store_fail(SC_CORRUPT, "snapshot %s is corrupt at byte %llu: %s", r->path, (unsigned long long)off, what);
}

static sc_status snap__in(snap_reader *r, void *p, size_t n) {
    if (n > r->size - r->off || fread(p, 1, n, r->f) != n)
        return snap__corrupt(r, r->off, "the file ends early (truncated)");
    util_sha256_update(&r->sha, p, n);
    r->off += n;
    return SC_OK;
}

static void snap__reader_close(snap_reader *r) {
    if (r->f) fclose(r->f);
    if (r->chain) XXH3_freeState(r->chain);
    if (r->rec) XXH3_freeState(r->rec);
    r->f = NULL, r->chain = r->rec = NULL;
}

/* Open path and check the header. */
static sc_status snap__reader_open(snap_reader *r, const char *path) {
    *r = (snap_reader){.path = path};
    util_sha256_init(&r->sha);
    if (!(r->f = fopen(path, "rb"))) return store_fail(errno == ENOENT ? SC_NOTFOUND : SC_IOERR,
                                                       "cannot open snapshot %s: %s", path, strerror(errno));
    struct stat stt;
    if (fstat(fileno(r->f), &stt) != 0 || !S_ISREG(stt.st_mode)) {
        snap__reader_close(r);
        return store_fail(SC_IOERR, "snapshot %s is not a regular file", path);
    }
    r->size = (uint64_t)stt.st_size;
    if (!(r->chain = XXH3_createState()) || !(r->rec = XXH3_createState())) {
        snap__reader_close(r);
        return store_fail(SC_NOMEM, "out of memory");
    }
    XXH3_64bits_reset(r->chain);
    uint8_t hdr[16];
    sc_status rc = snap__in(r, hdr, sizeof hdr);
    if (rc == SC_OK && memcmp(hdr, SNAP_MAGIC, 8))
        rc = store_fail(SC_CORRUPT, "%s is not a semcode snapshot (bad magic)", path);
    if (rc == SC_OK && snap__get32(hdr + 8) > SC_SNAPSHOT_FORMAT_VERSION)
        rc = store_fail(SC_UNSUPPORTED, "snapshot %s has format %u, written by a newer semcode; this build reads 1 to %d",
                        path, snap__get32(hdr + 8), SC_SNAPSHOT_FORMAT_VERSION);
    if (rc == SC_OK && (snap__get32(hdr + 8) == 0 || snap__get32(hdr + 12) != 0))
        rc = snap__corrupt(r, 8, "bad header");
    if (rc != SC_OK) snap__reader_close(r);
    return rc;
}

/* Read the next record's header. SC_NOTFOUND after END (and checks that the file ends there). */
static sc_status snap__next(snap_reader *r) {
    if (r->ended) return r->off == r->size ? SC_NOTFOUND : snap__corrupt(r, r->off, "bytes after the end record");
    uint8_t hdr[16];
    r->rec_off = r->off;
    sc_status rc = snap__in(r, hdr, sizeof hdr);
    if (rc != SC_OK) return rc;
    r->tag = snap__get32(hdr);
    r->len = snap__get64(hdr + 8);
    bool known = r->tag == SNAP_MANI || r->tag == SNAP_COLL || r->tag == SNAP_KWTM || r->tag == SNAP_PNTS ||
                 r->tag == SNAP_GRPH || r->tag == SNAP_BLOB || r->tag == SNAP_END;
    if (!known || snap__get32(hdr + 4) != 0) return snap__corrupt(r, r->rec_off, "unknown record type");
    if (r->len > r->size - r->off || r->size - r->off - r->len < 8)
        return snap__corrupt(r, r->rec_off, "record longer than the rest of the file (truncated)");
    if (r->tag != SNAP_GRPH && r->tag != SNAP_BLOB && r->len > SNAP_SMALL_MAX)
        return snap__corrupt(r, r->rec_off, "record too large");
    if ((r->tag == SNAP_MANI) != (r->n_records == 0))
        return snap__corrupt(r, r->rec_off, "the manifest must be the first record");
    r->left = r->len;
    XXH3_64bits_reset_withSeed(r->rec, SNAP_SEED);
    XXH3_64bits_update(r->rec, hdr, sizeof hdr);
    return SC_OK;
}

/* Read n payload bytes of the current record. */
static sc_status snap__read(snap_reader *r, void *p, size_t n) {
    if (n > r->left) return snap__corrupt(r, r->off, "field runs past its record");
    sc_status rc = snap__in(r, p, n);
    if (rc == SC_OK) {
        XXH3_64bits_update(r->rec, p, n);
        r->left -= n;
    }
    return rc;
}

/* Read the rest of the payload into out (NULL: discard) and check the record. */
static sc_status snap__finish(snap_reader *r, FILE *out) {
    char buf[1 << 16];
    sc_status rc = SC_OK;
    while (rc == SC_OK && r->left) {
        size_t want = r->left < sizeof buf ? (size_t)r->left : sizeof buf;
        if ((rc = snap__read(r, buf, want)) == SC_OK && out && fwrite(buf, 1, want, out) != want)
            rc = store_fail(SC_IOERR, "writing a file from snapshot %s: %s", r->path, strerror(errno));
    }
    uint8_t check[8];
    if (rc == SC_OK) rc = snap__in(r, check, 8);
    if (rc == SC_OK && snap__get64(check) != XXH3_64bits_digest(r->rec))
        rc = snap__corrupt(r, r->rec_off, "record checksum mismatch");
    if (rc != SC_OK) return rc;
    if (r->tag == SNAP_END) {
        r->ended = true;
        return SC_OK;
    }
    XXH3_64bits_update(r->chain, check, 8);
    r->n_records++;
    return SC_OK;
}

/* Read the whole payload (a small record) into *out (owned, NUL-terminated) and check it. */
static sc_status snap__load(snap_reader *r, char **out) {
    char *p = malloc((size_t)r->len + 1);
    if (!p) return store_fail(SC_NOMEM, "out of memory reading snapshot %s", r->path);
    sc_status rc = snap__read(r, p, (size_t)r->len);
    if (rc == SC_OK) rc = snap__finish(r, NULL);
    if (rc != SC_OK) {
        free(p);
        return rc;
    }
    p[r->len] = '\0';
    *out = p;
    return SC_OK;
}

/* Check the END record's payload (read by snap__load) against what was read. */
static sc_status snap__check_end(snap_reader *r, const char *end, uint64_t end_off) {
    if (r->len != 16) return snap__corrupt(r, end_off, "end record has the wrong size");
    if (snap__get64((const uint8_t *)end) != r->n_records ||
        snap__get64((const uint8_t *)end + 8) != XXH3_64bits_digest(r->chain))
        return snap__corrupt(r, end_off, "end record does not match the records (records missing or reordered)");
    return SC_OK;
}

sc_status sc_snapshot_verify(const char *path, sc_snapshot_info *info) {
    if (!path) return store_fail(SC_MISUSE, "sc_snapshot_verify: NULL path");
    snap_reader r;
    sc_status rc = snap__reader_open(&r, path);
    if (rc != SC_OK) return rc;
    char *manifest = NULL;
    uint64_t n_points = 0;
    while (rc == SC_OK && (rc = snap__next(&r)) == SC_OK) {
        uint64_t at = r.rec_off;
        if (r.tag == SNAP_MANI) {
            if ((rc = snap__load(&r, &manifest)) != SC_OK) break;
            json_error_t jerr;
            json_t *m = json_loads(manifest, 0, &jerr);
            if (!json_is_object(m) || !json_is_array(json_object_get(m, "collections")))
                rc = snap__corrupt(&r, at, "manifest is not a JSON object with a collections array");
            json_decref(m);
        } else if (r.tag == SNAP_END) {
            char *end = NULL;
            if ((rc = snap__load(&r, &end)) == SC_OK) rc = snap__check_end(&r, end, at);
            free(end);
        } else if (r.tag == SNAP_PNTS) {
            uint8_t cnt[4];
            if ((rc = snap__read(&r, cnt, 4)) == SC_OK) n_points += snap__get32(cnt);
            if (rc == SC_OK) rc = snap__finish(&r, NULL);
        } else {
            rc = snap__finish(&r, NULL);
        }
    }
    if (rc == SC_NOTFOUND) rc = SC_OK;
    if (rc == SC_OK && !r.ended) rc = snap__corrupt(&r, r.off, "no end record (truncated)");
    if (rc == SC_OK && info) {
        *info = (sc_snapshot_info){.size = r.size, .n_points = n_points, .manifest = manifest};
        json_t *m = json_loads(manifest, 0, NULL);
        info->seq = (uint64_t)json_integer_value(json_object_get(m, "seq"));
        json_decref(m);
        util_sha256_hex(&r.sha, info->sha256);
        manifest = NULL;
    }
    free(manifest);
    snap__reader_close(&r);
    return rc;
}

sc_status sc_snapshot_blob_extract(const char *path, const char *name, const char *dest, char **errmsg) {
    if (errmsg) *errmsg = NULL;
    sc_status rc = path && name && dest ? sc_snapshot_verify(path, NULL)
                                        : store_fail(SC_MISUSE, "sc_snapshot_blob_extract: NULL argument");
    snap_reader r = {0};
    bool found = false;
    char tmp[4200];
    snprintf(tmp, sizeof tmp, "%s.tmp", dest ? dest : "");
    if (rc == SC_OK) rc = snap__reader_open(&r, path);
    while (rc == SC_OK && !found && (rc = snap__next(&r)) == SC_OK) {
        if (r.tag != SNAP_BLOB) {
            rc = snap__finish(&r, NULL);
            continue;
        }
        uint8_t nl[4];
        char nm[256];
        if ((rc = snap__read(&r, nl, 4)) != SC_OK) break;
        uint32_t n = snap__get32(nl);
        if (n < 1 || n > 255) {
            rc = snap__corrupt(&r, r.rec_off, "attached file name length out of range");
            break;
        }
        if ((rc = snap__read(&r, nm, n)) != SC_OK) break;
        nm[n] = '\0';
        if (strcmp(nm, name)) {
            rc = snap__finish(&r, NULL);
            continue;
        }
        FILE *out = fopen(tmp, "wb");
        if (!out) {
            rc = store_fail(SC_IOERR, "cannot create %s: %s", tmp, strerror(errno));
            break;
        }
        rc = snap__finish(&r, out);
        if ((fflush(out) != 0 || fsync(fileno(out)) != 0) && rc == SC_OK)
            rc = store_fail(SC_IOERR, "writing %s: %s", tmp, strerror(errno));
        fclose(out);
        if (rc == SC_OK && rename(tmp, dest) != 0)
            rc = store_fail(SC_IOERR, "cannot rename %s to %s: %s", tmp, dest, strerror(errno));
        if (rc != SC_OK) unlink(tmp);
        found = true;
    }
    if (rc == SC_NOTFOUND || (rc == SC_OK && !found))
        rc = store_fail(SC_NOTFOUND, "snapshot %s has no attached file '%s'", path, name);
    snap__reader_close(&r);
    if (rc != SC_OK && errmsg) *errmsg = util_strdup(sc_db_errmsg(NULL));
    return rc;
}

/* ==== Restoring ==== */

/* State of a restore's second pass. */
typedef struct snap_restore {
    sc_db *db;                 /* target store (write lock held, transaction open) */
    const char *from;          /* collection of the file to restore */
    const char *as;            /* its name in the store */
    int64_t id;                /* its new collections.id */
    uint64_t ver;              /* write sequence number stamped on its rows */
    bool in_coll;              /* the records being read belong to `from` */
    bool seen;                 /* `from` was found */
    char *config;              /* its config text (owned) */
    sqlite3_stmt *ins_pt;      /* INSERT INTO points */
    sqlite3_stmt *ins_kw;      /* INSERT INTO kwterms */
    char *graphs[SC_MAX_VECTOR_NAMES]; /* graph files written (owned paths) */
    uint64_t n_points;         /* rows inserted */
    uint64_t slot_limit;       /* slots must be below this (bounds the memory a file can make a restore take) */
} snap_restore;

/* A field of a row: *p / *n, *null; checked against the record. */
static sc_status snap__field(snap_reader *r, const uint8_t **cur, const uint8_t *end, const uint8_t **p, uint32_t *n,
                             bool *null) {
    if (end - *cur < 4) return snap__corrupt(r, r->rec_off, "row field runs past its record");
    uint32_t l = snap__get32(*cur);
    *cur += 4;
    *null = l == SNAP_NULL_LEN;
    if (*null) l = 0;
    if ((uint64_t)(end - *cur) < l || l > INT32_MAX) return snap__corrupt(r, r->rec_off, "row field runs past its record");
    *p = *cur;
    *n = l;
    *cur += l;
    return SC_OK;
}

static sc_status snap__sql_fail(snap_restore *s, const char *what) { return store_fail_sql(s->db, what); }

/* Apply one KWTM or PNTS record (payload in buf). */
static sc_status snap__apply_rows(snap_reader *r, snap_restore *s, const uint8_t *buf, uint64_t len) {
    if (len < 4) return snap__corrupt(r, r->rec_off, "row record too short");
    const uint8_t *cur = buf + 4, *end = buf + len;
    uint32_t n = snap__get32(buf);
    for (uint32_t i = 0; i < n; i++) {
        const uint8_t *p;
        uint32_t pn;
        bool null;
        sc_status rc;
        if (r->tag == SNAP_KWTM) {
            if (end - cur < 4) return snap__corrupt(r, r->rec_off, "keyword term row runs past its record");
            uint32_t tid = snap__get32(cur);
            cur += 4;
            if ((rc = snap__field(r, &cur, end, &p, &pn, &null)) != SC_OK) return rc;
            if (null) return snap__corrupt(r, r->rec_off, "keyword term is NULL");
            sqlite3_reset(s->ins_kw);
            sqlite3_bind_int64(s->ins_kw, 1, s->id);
            sqlite3_bind_int64(s->ins_kw, 2, tid);
            sqlite3_bind_text(s->ins_kw, 3, (const char *)p, (int)pn, SQLITE_STATIC);
            if (sqlite3_step(s->ins_kw) != SQLITE_DONE) return snap__sql_fail(s, "restoring keyword terms");
            continue;
        }
        if (end - cur < STORE_ID_KEY_SIZE + 4) return snap__corrupt(r, r->rec_off, "point row runs past its record");
        sc_point_id id;
        if (store_id_from_key(cur, STORE_ID_KEY_SIZE, &id) != SC_OK)
            return snap__corrupt(r, r->rec_off, "malformed point id");
        sqlite3_reset(s->ins_pt);
        sqlite3_bind_int64(s->ins_pt, 1, s->id);
        sqlite3_bind_blob(s->ins_pt, 2, cur, STORE_ID_KEY_SIZE, SQLITE_STATIC);
        uint32_t slot = snap__get32(cur + STORE_ID_KEY_SIZE);
        if (slot >= UINT32_MAX - 2 || slot >= s->slot_limit)
            return snap__corrupt(r, r->rec_off, "point slot out of range for the collection's number of points");
        sqlite3_bind_int64(s->ins_pt, 3, slot);
        sqlite3_bind_int64(s->ins_pt, 4, (sqlite3_int64)s->ver);
        cur += STORE_ID_KEY_SIZE + 4;
        for (int col = 0; col < 4; col++) {
            if ((rc = snap__field(r, &cur, end, &p, &pn, &null)) != SC_OK) return rc;
            if (null) sqlite3_bind_null(s->ins_pt, 5 + col);
            else if (col == 0) sqlite3_bind_text(s->ins_pt, 5, (const char *)p, (int)pn, SQLITE_STATIC);
            else sqlite3_bind_blob(s->ins_pt, 5 + col, p, (int)pn, SQLITE_STATIC);
        }
        if (sqlite3_step(s->ins_pt) != SQLITE_DONE) {
            char idbuf[40];
            return sqlite3_extended_errcode(s->db->sql) == SQLITE_CONSTRAINT_UNIQUE
                       ? snap__corrupt(r, r->rec_off, "a point id appears twice")
                       : store_fail_sql(s->db, sc_point_id_format(&id, idbuf, sizeof idbuf));
        }
        s->n_points++;
    }
    return cur == end ? SC_OK : snap__corrupt(r, r->rec_off, "bytes after the last row of a record");
}

/* The store format a config text needs (store__coll_format on JSON). */
static int snap__config_format(const char *config) {
    json_t *j = json_loads(config, 0, NULL);
    int f = json_array_size(json_object_get(j, "sparse")) ? STORE_FORMAT_SPARSE : STORE_FORMAT_DENSE;
    json_t *vecs = json_object_get(j, "vectors");
    for (size_t i = 0; i < json_array_size(vecs); i++) {
        json_t *v = json_array_get(vecs, i);
        if (json_integer_value(json_object_get(v, "multivec")) || json_integer_value(json_object_get(v, "datatype")))
            f = STORE_FORMAT_VERSION;
    }
    json_decref(j);
    return f;
}

/* A COLL record: start or end the collection being restored. */
static sc_status snap__apply_coll(snap_reader *r, snap_restore *s, const char *text) {
    json_t *j = json_loads(text, 0, NULL);
    const char *name = json_string_value(json_object_get(j, "name"));
    const char *config = json_string_value(json_object_get(j, "config"));
    sc_status rc = SC_OK;
    s->in_coll = false;
    if (!name || !config) rc = snap__corrupt(r, r->rec_off, "collection record lacks name or config");
    else if (!strcmp(name, s->from) && s->seen) rc = snap__corrupt(r, r->rec_off, "collection appears twice");
    else if (!strcmp(name, s->from)) {
        s->in_coll = s->seen = true;
        sqlite3_stmt *st = NULL;
        int need = snap__config_format(config);
        if (!(s->config = util_strdup(config))) rc = store_fail(SC_NOMEM, "out of memory");
        if (rc == SC_OK && need > STORE_FORMAT_DENSE) rc = store_format_mark(s->db, need);
        if (rc == SC_OK &&
            sqlite3_prepare_v2(s->db->sql, "INSERT INTO collections(id, name, config) VALUES(?1, ?2, ?3)", -1, &st,
                               NULL) != SQLITE_OK)
            rc = snap__sql_fail(s, "restoring the collection");
        if (rc == SC_OK) {
            sqlite3_bind_int64(st, 1, s->id);
            sqlite3_bind_text(st, 2, s->as, -1, SQLITE_STATIC);
            sqlite3_bind_text(st, 3, config, -1, SQLITE_STATIC);
            if (sqlite3_step(st) != SQLITE_DONE) rc = snap__sql_fail(s, "restoring the collection");
        }
        sqlite3_finalize(st);
        const char *pt_sql = "INSERT INTO points(coll, pid, slot, ver, payload, vectors, kw, sparse) "
                             "VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)";
        if (rc == SC_OK && (sqlite3_prepare_v2(s->db->sql, pt_sql, -1, &s->ins_pt, NULL) != SQLITE_OK ||
                            sqlite3_prepare_v2(s->db->sql, "INSERT INTO kwterms(coll, id, term) VALUES(?1, ?2, ?3)", -1,
                                               &s->ins_kw, NULL) != SQLITE_OK))
            rc = snap__sql_fail(s, "restoring points");
    }
    json_decref(j);
    return rc;
}

/* A GRPH record of the collection: write the graph file and its watermark. */
static sc_status snap__apply_graph(snap_reader *r, snap_restore *s) {
    uint8_t vb[4];
    sc_status rc = snap__read(r, vb, 4);
    if (rc != SC_OK) return rc;
    uint32_t v = snap__get32(vb);
    if (v >= SC_MAX_VECTOR_NAMES || s->graphs[v]) return snap__corrupt(r, r->rec_off, "graph record names a bad vector");
    char dir[4200], path[4300], key[64];
    snprintf(dir, sizeof dir, "%s/hnsw", s->db->path);
    snprintf(path, sizeof path, "%s/c%lld-v%u.hnsw", dir, (long long)s->id, v);
    if (mkdir(dir, 0755) != 0 && errno != EEXIST) return store_fail(SC_IOERR, "cannot create %s: %s", dir, strerror(errno));
    FILE *out = fopen(path, "wb");
    if (!out) return store_fail(SC_IOERR, "cannot create %s: %s", path, strerror(errno));
    if (!(s->graphs[v] = util_strdup(path))) rc = store_fail(SC_NOMEM, "out of memory");
    if (rc == SC_OK) rc = snap__finish(r, out);
    if (fclose(out) != 0 && rc == SC_OK) rc = store_fail(SC_IOERR, "writing %s: %s", path, strerror(errno));
    if (rc != SC_OK) return rc;
    snprintf(key, sizeof key, "hnsw:%lld:%u", (long long)s->id, v);
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(s->db->sql, "INSERT OR REPLACE INTO meta(key, value) VALUES(?1, ?2)", -1, &st, NULL) !=
        SQLITE_OK)
        return snap__sql_fail(s, "recording a restored graph");
    sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, (sqlite3_int64)s->ver);
    if (sqlite3_step(st) != SQLITE_DONE) rc = snap__sql_fail(s, "recording a restored graph");
    sqlite3_finalize(st);
    return rc;
}

/* The second pass: every record checked again and those of `from` applied. */
static sc_status snap__apply(snap_reader *r, snap_restore *s) {
    sc_status rc;
    while ((rc = snap__next(r)) == SC_OK) {
        uint64_t at = r->rec_off;
        char *text = NULL;
        if (r->tag == SNAP_COLL) {
            if ((rc = snap__load(r, &text)) == SC_OK) rc = snap__apply_coll(r, s, text);
        } else if ((r->tag == SNAP_KWTM || r->tag == SNAP_PNTS) && s->in_coll) {
            if ((rc = snap__load(r, &text)) == SC_OK) rc = snap__apply_rows(r, s, (const uint8_t *)text, r->len);
        } else if (r->tag == SNAP_GRPH && s->in_coll) {
            rc = snap__apply_graph(r, s);
        } else if (r->tag == SNAP_END) {
            if ((rc = snap__load(r, &text)) == SC_OK) rc = snap__check_end(r, text, at);
        } else {
            if (r->tag == SNAP_BLOB || r->tag == SNAP_MANI) s->in_coll = false;
            rc = snap__finish(r, NULL);
        }
        free(text);
        if (rc != SC_OK) return rc;
    }
    if (rc != SC_NOTFOUND) return rc;
    if (!r->ended) return snap__corrupt(r, r->off, "no end record (truncated)");
    return s->seen ? SC_OK : store_fail(SC_NOTFOUND, "snapshot %s has no collection `%s`", r->path, s->from);
}

/* Delete collection c's rows inside the open transaction. */
static sc_status snap__delete_rows(sc_db *db, const store_coll *c) {
    static const char *const sql[] = {"DELETE FROM points WHERE coll=?1", "DELETE FROM kwterms WHERE coll=?1",
                                      "DELETE FROM collections WHERE id=?1",
                                      "DELETE FROM meta WHERE key >= 'hnsw:' || ?1 || ':' AND key < 'hnsw:' || ?1 || ';'"};
    for (size_t i = 0; i < sizeof sql / sizeof *sql; i++) {
        sqlite3_stmt *st = NULL;
        bool ok = sqlite3_prepare_v2(db->sql, sql[i], -1, &st, NULL) == SQLITE_OK;
        if (ok) {
            sqlite3_bind_int64(st, 1, c->db_id);
            ok = sqlite3_step(st) == SQLITE_DONE;
        }
        sqlite3_finalize(st);
        if (!ok) return store_fail_sql(db, "removing the collection being replaced");
    }
    return SC_OK;
}

/* The name of the collection to restore: `from`, else the manifest's first;
** *points: its number of points as the manifest says. */
static sc_status snap__pick(const char *path, const char *manifest, const char *from, char **out, uint64_t *points) {
    json_t *m = json_loads(manifest, 0, NULL);
    json_t *cl = json_object_get(m, "collections");
    const char *name = NULL;
    for (size_t i = 0; i < json_array_size(cl) && !name; i++) {
        const char *n = json_string_value(json_object_get(json_array_get(cl, i), "name"));
        json_int_t k = json_integer_value(json_object_get(json_array_get(cl, i), "points"));
        if (n && (!from || !strcmp(n, from))) name = n, *points = k > 0 ? (uint64_t)k : 0;
    }
    sc_status rc = name ? ((*out = util_strdup(name)) ? SC_OK : store_fail(SC_NOMEM, "out of memory"))
                        : store_fail(SC_NOTFOUND, "snapshot %s has no collection%s%s%s", path, from ? " `" : "",
                                     from ? from : "", from ? "`" : "");
    json_decref(m);
    return rc;
}

sc_status sc_snapshot_restore(sc_db *db, const char *path, const char *from, const char *as, uint64_t *n_points) {
    if (!db || !path) return store_fail(SC_MISUSE, "sc_snapshot_restore: NULL argument");
    sc_snapshot_info info = {0};
    sc_status rc = sc_snapshot_verify(path, &info);
    char *name = NULL;
    uint64_t points = 0;
    if (rc == SC_OK) rc = snap__pick(path, info.manifest, from, &name, &points);
    sc_snapshot_info_free(&info);
    if (rc != SC_OK) return rc;
    /* Slots are dense in a live store, but a collection that lost most of its
    ** points keeps its high-water mark: allow 16 slots per point (+ 65536).
    ** A file claiming more is refused rather than allowed to reserve memory
    ** for billions of slots (restore does not compact slots yet). */
    snap_restore s = {.db = db, .from = name, .as = as ? as : name,
                      .slot_limit = points > (UINT32_MAX - 65536) / 16 ? UINT32_MAX : points * 16 + 65536};
    if ((rc = store_check_name("collection name", s.as)) != SC_OK) {
        free(name);
        return rc;
    }
    snap_reader r = {0};
    store_coll *nc = NULL, *old = NULL;
    bool in_tx = false;
    pthread_rwlock_wrlock(&db->lock);
    if (store_alias_taken(db, s.as)) {
        rc = store_fail(SC_EXISTS, "Collection name `%s` is already used by an alias", s.as);
        goto done;
    }
    old = store_coll_find(db, s.as);
    store_coll **grown = realloc(db->colls, (db->n_colls + 1) * sizeof *grown);
    if (!grown) {
        rc = store_fail(SC_NOMEM, "out of memory");
        goto done;
    }
    db->colls = grown;
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(db->sql, "SELECT coalesce(max(id), 0) + 1 FROM collections", -1, &st, NULL) != SQLITE_OK ||
        sqlite3_step(st) != SQLITE_ROW) {
        sqlite3_finalize(st);
        rc = store_fail_sql(db, "restoring a snapshot");
        goto done;
    }
    s.id = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    if ((rc = store_exec(db, "BEGIN IMMEDIATE")) != SC_OK) goto done;
    in_tx = true;
    s.ver = db->seq + 1;
    st = NULL;
    if (sqlite3_prepare_v2(db->sql, "INSERT OR REPLACE INTO meta(key, value) VALUES('seq', ?1)", -1, &st, NULL) !=
            SQLITE_OK ||
        (sqlite3_bind_int64(st, 1, (sqlite3_int64)s.ver), sqlite3_step(st)) != SQLITE_DONE)
        rc = store_fail_sql(db, "writing sequence number");
    sqlite3_finalize(st);
    if (rc == SC_OK && old) rc = snap__delete_rows(db, old);
    if (rc == SC_OK) rc = snap__reader_open(&r, path);
    if (rc == SC_OK) rc = snap__apply(&r, &s);
    sqlite3_finalize(s.ins_pt);
    sqlite3_finalize(s.ins_kw);
    s.ins_pt = s.ins_kw = NULL;
    if (rc == SC_OK) rc = store_coll_load(db, s.id, s.as, s.config, &nc);
    if (rc == SC_OK && sqlite3_exec(db->sql, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
        rc = store_fail_sql(db, "committing the restored collection");
    if (rc != SC_OK) goto done;
    in_tx = false;
    db->seq = s.ver;
    if (old) {
        for (size_t v = 0; v < old->n_vecs; v++) store_ann_unlink(db, old, v);
        for (size_t i = 0; i < db->n_colls; i++)
            if (db->colls[i] == old) db->colls[i] = nc;
        store_coll_free(old);
    } else {
        db->colls[db->n_colls++] = nc;
    }
    nc = NULL;
    if (n_points) *n_points = s.n_points;
done:
    if (in_tx) {
        char msg[768];
        snprintf(msg, sizeof msg, "%s", sc_db_errmsg(NULL));
        sqlite3_exec(db->sql, "ROLLBACK", NULL, NULL, NULL);
        for (size_t v = 0; v < SC_MAX_VECTOR_NAMES; v++)
            if (s.graphs[v]) unlink(s.graphs[v]);
        store_fail(rc, "%s", msg);
    }
    pthread_rwlock_unlock(&db->lock);
    snap__reader_close(&r);
    store_coll_free(nc);
    for (size_t v = 0; v < SC_MAX_VECTOR_NAMES; v++) free(s.graphs[v]);
    free(s.config);
    free(name);
    return rc;
}
