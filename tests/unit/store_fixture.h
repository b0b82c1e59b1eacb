/*
** Store fixtures shared by the cmocka tests of the store (test_store,
** test_sparse, test_snapshot, test_alias, test_store_ann,
** test_store_bgindex, test_store_tailq, test_collection_update,
** test_rank, test_killtest): opening a store or failing the running test
** with the store's message, the tu_store helpers of testutil.h that fail
** the test instead of returning a status, a collection's index state, a
** search checked against exact search, and child processes that write
** and acknowledge over a pipe (one killed with SIGKILL once it has
** acknowledged its writes). These call cmocka's fail_msg and so
** belong to cmocka tests only (testutil.h has the cmocka-free ones).
*/
#ifndef SC_STORE_FIXTURE_H
#define SC_STORE_FIXTURE_H

#include <unistd.h>

#include "semcode/semcode.h"
#include "testutil.h"

/* Open the store at dir with opt (NULL: the defaults); fails the running
** test, naming dir and the store's message, when the open fails. */
sc_db *tu_db_open_ok(const char *dir, const sc_db_options *opt);
/* tu_db_open_ok with the defaults but sync NORMAL: the tests that do not
** test durability skip the fsync of every commit. */
sc_db *tu_db_open_normal(const char *dir);

/* tu_store_reopen, failing the test when the open fails. */
void tu_store_reopen_ok(tu_store *f);
/* tu_store_sql on dir's store.db, failing the test when sql fails. */
void tu_store_sql_ok(const char *dir, const char *sql);
/* tu_store_format (meta format_version of dir's store, owned), failing the
** test when it cannot be read. */
char *tu_store_format_ok(const char *dir);

/* The state of the first named vector's index of collection coll (fails
** the test when the collection cannot be read). */
sc_vector_index_info tu_index_info(sc_db *db, const char *coll);
/* Run req on collection coll as given into *approx and again with exact
** set into *exact (both owned: sc_record_list_free), failing the test when
** either search fails. Returns the share of the exact answer's ids that
** *approx holds (1.0 when the exact answer is empty): the recall. */
double tu_search_vs_exact(sc_db *db, const char *coll, const sc_search_request *req, sc_record_list **approx,
                          sc_record_list **exact);
/* Search collection coll for vector q (dim floats, at most limit hits,
** filter_json optional: one on the payload "bucket", id % 10, that
** tu_vectors_put writes): the top hit must be point id and, with a
** filter, every hit must be in id's bucket; fails the test otherwise. */
void tu_expect_top(sc_db *db, const char *coll, const float *q, uint32_t dim, uint32_t limit, uint64_t id,
                   const char *filter);
/* Clustered test points: point id's vector is one of n_clusters centres
** (seeded cluster_seed + id % n_clusters) plus noise * uniform noise seeded
** from id and salt, deterministic. */
typedef struct tu_clusters {
    uint32_t dim, n_clusters;
    uint64_t cluster_seed, salt;
    float noise;
} tu_clusters;
void tu_cluster_vector(const tu_clusters *c, uint64_t id, float *out);
/* Upserts points with ids [first, first + n) into collection coll: point
** first + i gets the unnamed vector v + i * dim (dim floats, borrowed) and
** the payload {"bucket": id % n_buckets}; returns sc_points_upsert's status. */
sc_status tu_vectors_put(sc_db *db, const char *coll, const float *v, uint32_t dim, uint64_t first, size_t n,
                         unsigned n_buckets);
/* tu_vectors_put of ids [first, first + n) of c (unnamed vector), payload
** {"bucket": id % 10}. */
sc_status tu_cluster_put(sc_db *db, const char *coll, const tu_clusters *c, uint64_t first, size_t n);

/* Body of a child process: writes, calls tu_child_ack(ack_fd) once the
** writes the parent checks are acknowledged, then keeps working until it is
** killed. It must not return: failures leave by _exit with a code of its own. */
typedef void (*tu_child_fn)(void *arg, int ack_fd);
/* In the child: tell the parent that the writes so far are acknowledged
** (_exit(6) when the pipe is gone). */
void tu_child_ack(int ack_fd);
/* Fork a child running body(arg, ack_fd), ack_fd the write end of a pipe
** whose read end the parent gets in *read_fd (to close); a body that
** returns leaves with _exit(0). Fails the test when pipe or fork fails. */
pid_t tu_fork_child(tu_child_fn body, void *arg, int *read_fd);
/* Fork a child running body(arg, ack_fd); wait for its acknowledgement,
** let it run settle_us more microseconds, kill it with SIGKILL and reap
** it. Fails the test when the child ends before acknowledging. */
void tu_run_killed_child(tu_child_fn body, void *arg, useconds_t settle_us);

#endif
