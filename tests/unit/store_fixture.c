/*
** Store fixtures shared by the cmocka tests of the store (see
** store_fixture.h): opens that fail the test with the store's message, a
** collection's index state, and a child killed after it acknowledges.
*/
#include "store_fixture.h"

#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>

#include <cmocka.h>

#include "testutil.h"

sc_db *tu_db_open_ok(const char *dir, const sc_db_options *opt) {
    sc_db *db = NULL;
    char err[512];
    if (tu_db_open(dir, opt, &db, err, sizeof err) != SC_OK) fail_msg("open %s: %s", dir, err);
    return db;
}

sc_db *tu_db_open_normal(const char *dir) {
    sc_db_options o = sc_db_options_default();
    o.sync = SC_SYNC_MODE_NORMAL;
    return tu_db_open_ok(dir, &o);
}

void tu_store_reopen_ok(tu_store *f) { assert_int_equal(tu_store_reopen(f), SC_OK); }

void tu_store_sql_ok(const char *dir, const char *sql) { assert_int_equal(tu_store_sql(dir, sql), 0); }

char *tu_store_format_ok(const char *dir) {
    char *v = tu_store_format(dir);
    assert_non_null(v);
    return v;
}

sc_vector_index_info tu_index_info(sc_db *db, const char *coll) {
    sc_collection_info info;
    assert_int_equal(sc_collection_info_get(db, coll, &info), SC_OK);
    sc_vector_index_info vx = info.vector_index[0];
    sc_collection_info_free(&info);
    return vx;
}

double tu_search_vs_exact(sc_db *db, const char *coll, const sc_search_request *req, sc_record_list **approx,
                          sc_record_list **exact) {
    sc_search_request ex = *req;
    ex.exact = true;
    assert_int_equal(sc_points_search(db, coll, req, approx), SC_OK);
    assert_int_equal(sc_points_search(db, coll, &ex, exact), SC_OK);
    const sc_record_list *a = *approx, *e = *exact;
    size_t hit = 0;
    for (size_t x = 0; x < e->n; x++)
        for (size_t y = 0; y < a->n; y++) hit += sc_point_id_cmp(&e->items[x].id, &a->items[y].id) == 0;
    return e->n ? (double)hit / (double)e->n : 1.0;
}

void tu_child_ack(int ack_fd) {
    char ok = 1;
    if (write(ack_fd, &ok, 1) != 1) _exit(6);
}

void tu_expect_top(sc_db *db, const char *coll, const float *q, uint32_t dim, uint32_t limit, uint64_t id,
                   const char *filter) {
    sc_search_request req = {.query = q, .dim = dim, .limit = limit, .filter_json = filter};
    sc_record_list *l = NULL;
    assert_int_equal(sc_points_search(db, coll, &req, &l), SC_OK);
    assert_true(l->n >= 1);
    if (l->items[0].id.num != id)
        fail_msg("point %llu: top hit is %llu", (unsigned long long)id, (unsigned long long)l->items[0].id.num);
    if (filter)
        for (size_t j = 0; j < l->n; j++) assert_int_equal(l->items[j].id.num % 10, id % 10);
    sc_record_list_free(l);
}

pid_t tu_fork_child(tu_child_fn body, void *arg, int *read_fd) {
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        close(fds[0]);
        body(arg, fds[1]);
        _exit(0); /* a body that returns: the parent still reads its acknowledgements, if any */
    }
    close(fds[1]);
    *read_fd = fds[0];
    return pid;
}

void tu_run_killed_child(tu_child_fn body, void *arg, useconds_t settle_us) {
    int fd = -1;
    pid_t pid = tu_fork_child(body, arg, &fd);
    char ok = 0;
    ssize_t got = read(fd, &ok, 1);
    if (got == 1) usleep(settle_us);
    kill(pid, SIGKILL);
    int st = 0;
    waitpid(pid, &st, 0);
    close(fd);
    if (got != 1) fail_msg("the child ended before acknowledging its writes (wait status %d)", st);
}

void tu_cluster_vector(const tu_clusters *c, uint64_t id, float *out) {
    tu_rng r = {id * 2654435761u + c->salt};
    tu_rng cr = {c->cluster_seed + id % c->n_clusters};
    tu_fill(&cr, out, c->dim); /* the centre */
    for (uint32_t d = 0; d < c->dim; d++) out[d] += c->noise * tu_uniform(&r);
}

sc_status tu_vectors_put(sc_db *db, const char *coll, const float *v, uint32_t dim, uint64_t first, size_t n,
                         unsigned n_buckets) {
    sc_vector_in *vin = calloc(n, sizeof *vin);
    sc_point_in *pts = calloc(n, sizeof *pts);
    char (*pl)[32] = calloc(n, sizeof *pl);
    assert_true(vin && pts && pl);
    for (size_t i = 0; i < n; i++) {
        snprintf(pl[i], sizeof pl[i], "{\"bucket\": %llu}", (unsigned long long)((first + i) % n_buckets));
        vin[i] = (sc_vector_in){"", v + i * dim, dim};
        pts[i] = (sc_point_in){.id = sc_point_id_num(first + i), .vectors = &vin[i], .n_vectors = 1, .payload_json = pl[i]};
    }
    sc_status rc = sc_points_upsert(db, coll, pts, n);
    free(vin);
    free(pts);
    free(pl);
    return rc;
}

sc_status tu_cluster_put(sc_db *db, const char *coll, const tu_clusters *c, uint64_t first, size_t n) {
    float *v = malloc(sizeof(float) * c->dim * n);
    assert_non_null(v);
    for (size_t i = 0; i < n; i++) tu_cluster_vector(c, first + i, v + i * c->dim);
    sc_status rc = tu_vectors_put(db, coll, v, c->dim, first, n, 10);
    free(v);
    return rc;
}
