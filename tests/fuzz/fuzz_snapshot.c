/*
** Fuzz target for store/snapshot.c: the bytes are a snapshot file (an
** uploaded snapshot or an exported index: untrusted). Random bytes rarely
** pass the record checks, so the harness first repairs them: it walks the
** records as far as their lengths allow and rewrites each record's check
** and the END record's chain, so the mutated manifest, collection config,
** rows and graph bytes reach the parsers behind the checks. Then it runs
** sc_snapshot_verify and sc_snapshot_restore into a store opened once; a
** failure must be a status with a message, never a crash (ASan/UBSan
** watch); a failed restore must leave no collection "fz" behind.
**
** FUZZ_SOURCES: @lib
*/
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <xxhash.h>

#include "semcode/snapshot.h"
#include "semcode/store.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static sc_db *fz__db;
static char fz__file[64];

static uint64_t fz__get64(const uint8_t *p) {
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--) v = v << 8 | p[i];
    return v;
}
static void fz__put64(uint8_t *p, uint64_t v) {
    for (int i = 0; i < 8; i++) p[i] = (uint8_t)(v >> (8 * i));
}

/* Rewrite the checks of buf (the framing of docs/FILE_FORMATS.md, "Snapshot files"). */
static void fz__repair(uint8_t *buf, size_t size) {
    XXH3_state_t *chain = XXH3_createState();
    if (!chain) return;
    XXH3_64bits_reset(chain);
    uint64_t n = 0;
    size_t off = 16;
    while (off + 16 <= size) {
        uint64_t len = fz__get64(buf + off + 8);
        if (len > size - off - 16 || size - off - 16 - len < 8) break;
        bool end = !memcmp(buf + off, "END_", 4);
        if (end && len == 16) {
            fz__put64(buf + off + 16, n);
            fz__put64(buf + off + 24, XXH3_64bits_digest(chain));
        }
        uint64_t check = XXH3_64bits_withSeed(buf + off, (size_t)(16 + len), 0x534e4150u);
        fz__put64(buf + off + 16 + len, check);
        if (end) break;
        uint8_t cb[8];
        fz__put64(cb, check);
        XXH3_64bits_update(chain, cb, 8);
        n++;
        off += (size_t)(16 + len + 8);
    }
    XXH3_freeState(chain);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (!fz__db) {
        char dir[] = "/tmp/fuzz-snapshot-XXXXXX";
        if (!mkdtemp(dir)) return 0;
        char store[96];
        snprintf(store, sizeof store, "%s/store", dir);
        snprintf(fz__file, sizeof fz__file, "%s/in.snapshot", dir);
        sc_db_options o = sc_db_options_default();
        o.sync = SC_SYNC_MODE_NORMAL;
        if (sc_db_open(store, &o, &fz__db, NULL) != SC_OK) return 0;
    }
    uint8_t *buf = malloc(size ? size : 1);
    if (!buf) return 0;
    if (size) memcpy(buf, data, size);
    fz__repair(buf, size);
    FILE *f = fopen(fz__file, "wb");
    if (!f) {
        free(buf);
        return 0;
    }
    fwrite(buf, 1, size, f);
    fclose(f);
    free(buf);
    sc_snapshot_info info = {0};
    sc_status rc = sc_snapshot_verify(fz__file, &info);
    if (rc == SC_OK && !info.manifest) __builtin_trap();
    sc_snapshot_info_free(&info);
    if (rc != SC_OK && !*sc_db_errmsg(fz__db)) __builtin_trap(); /* a failure must say why */
    rc = sc_snapshot_restore(fz__db, fz__file, NULL, "fz", NULL);
    if (rc != SC_OK && sc_collection_exists(fz__db, "fz")) __builtin_trap(); /* all or nothing */
    if (rc == SC_OK) sc_collection_delete(fz__db, "fz");
    return 0;
}
