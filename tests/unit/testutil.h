/*
** Helpers shared by the unit tests: temporary directories and a
** deterministic random generator.
*/
#ifndef SC_TESTUTIL_H
#define SC_TESTUTIL_H

#include <stddef.h>
#include <stdint.h>

#include "semcode/semcode.h"

/* Make a fresh temporary directory (owned string); removed by tu_rmdir. */
char *tu_tmpdir(const char *tag);
/* Remove a directory tree (best effort) and free the string. */
void tu_rmdir(char *dir);

/* sc_db_open with its message copied into err[err_size] ("" on success),
** for tests that check or print it. */
sc_status tu_db_open(const char *path, const sc_db_options *opt, sc_db **out, char *err, size_t err_size);

/* Run sql on the SQLite file at path through a connection of its own
** (waiting up to 5 s for a writer); 0, or -1 with SQLite's message on stderr. */
int tu_sql_exec(const char *path, const char *sql);
/* The first column of the first row of sql on the SQLite file at path as
** text (owned; "" when there is no row or the value is NULL), or NULL when
** the statement fails (message on stderr). */
char *tu_sql_text(const char *path, const char *sql);

/* A store in a fresh temporary directory: the fixture of the store tests. */
typedef struct tu_store {
    char *dir; /* store directory (owned) */
    sc_db *db; /* the open store */
} tu_store;

/* cmocka setup: *state becomes an owned tu_store; -1 (message on stderr) on failure. */
int tu_store_setup(void **state);
/* cmocka teardown: close, remove the directory, free. */
int tu_store_teardown(void **state);
/* Close and open f->db again; the status of the open (f->db NULL on failure). */
sc_status tu_store_reopen(tu_store *f);
/* Close f->db (if open), remove its directory and open a new, empty store
** in a fresh one (after a test left the old one damaged). */
sc_status tu_store_fresh(tu_store *f);
/* Run sql on dir/store.db (tu_sql_exec); 0 or -1. */
int tu_store_sql(const char *dir, const char *sql);
/* meta format_version of dir/store.db (owned; NULL when the query fails). */
char *tu_store_format(const char *dir);

/* In a cmocka test: fail unless the calling thread's last store message contains s. */
#define tu_assert_msg_has(db, s)                                                                               \
    do {                                                                                                       \
        if (!strstr(sc_db_errmsg(db), (s))) fail_msg("message '%s' lacks '%s'", sc_db_errmsg(db), (s));     \
    } while (0)

/* Write text to dir/name (created or replaced); 0, or -1 on failure. */
int tu_write_file(const char *dir, const char *name, const char *text);

/* The bytes of the file at path (owned, free; a NUL follows them) and
** their count in *size; NULL when the file cannot be read. */
char *tu_read_file(const char *path, size_t *size);

/* Payload text (owned, free) of the one point of coll whose payload "id"
** is id: a development record; NULL when there is none. */
char *tu_payload_by_id(sc_db *db, const char *coll, const char *id);

/* Train a tiny model (dimension 32, 2 epochs, 64 buckets, one thread) into
** out_path on 300 synthetic doc/code pairs it writes to dir/pairs.jsonl:
** sc_model_train's status and message (*msg, owned, may be NULL); SC_IOERR
** with *msg NULL when the pairs file cannot be written. */
sc_status tu_train_tiny_model(const char *dir, const char *out_path, char **msg);

/* xorshift-style generator: same sequence for the same seed. */
typedef struct tu_rng {
    uint64_t s; /* state */
} tu_rng;

uint64_t tu_next(tu_rng *r);
/* Uniform float in [-1, 1). */
float tu_uniform(tu_rng *r);
/* Uniform float in [0, 1) from the top 24 bits of tu_next. */
float tu_unit(tu_rng *r);
/* Fill v with n uniform floats. */
void tu_fill(tu_rng *r, float *v, size_t n);

#endif
