/*
** Crash test of the store's durability: a child process upserts batches
** and acknowledges each through a pipe once sc_points_upsert returned; the
** parent kills it with SIGKILL at a random moment, reopens the store and
** checks that every acknowledged batch is there whole and that no batch is
** there in part. Sixty rounds on one store, each child continuing where
** the store says the previous one stopped. Every point carries a sparse
** vector too: it comes back whole, and the inverted index rebuilt at the
** open finds exactly the stored points.
*/
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "semcode/semcode.h"
#include "store_fixture.h"
#include "testutil.h"

#define KT_DIM 8
#define KT_BATCH 50
#define KT_ROUNDS 60

static void kt_vector(uint64_t id, float *v) {
    for (int d = 0; d < KT_DIM; d++) v[d] = (float)((id * 31 + (uint64_t)d * 7) % 101) - 50.0f;
}

/* Sparse vector "s" of id: three indices, ascending, weights from the id. */
static void kt_sparse(uint64_t id, uint32_t idx[3], float val[3]) {
    idx[0] = (uint32_t)(id % 7);
    idx[1] = 7 + (uint32_t)(id % 11);
    idx[2] = 100 + (uint32_t)(id % 13);
    for (int k = 0; k < 3; k++) val[k] = (float)((id + (uint64_t)k) % 17) + 0.5f;
}

/* What a child writes: the store and its first batch. */
typedef struct kt_job {
    const char *dir; /* store directory */
    uint32_t first;  /* first batch number */
} kt_job;

/* Child (a tu_child_fn on a kt_job): upsert batches first, first+1, ... and
** acknowledge each on fd with its number. */
static void kt_child(void *arg, int fd) {
    const char *dir = ((const kt_job *)arg)->dir;
    uint32_t first = ((const kt_job *)arg)->first;
    sc_db *db = NULL;
    char err[256];
    for (int tries = 0; tu_db_open(dir, NULL, &db, err, sizeof err) != SC_OK; tries++) {
        if (tries > 200) _exit(3); /* the previous child's lock should be gone */
        usleep(1000);
    }
    float vecs[KT_BATCH][KT_DIM], sval[KT_BATCH][3];
    uint32_t sidx[KT_BATCH][3];
    sc_vector_in vin[KT_BATCH];
    sc_sparse_in sin[KT_BATCH];
    sc_point_in pts[KT_BATCH];
    char payload[KT_BATCH][64];
    for (uint32_t b = first; b < first + 100000; b++) {
        for (int i = 0; i < KT_BATCH; i++) {
            uint64_t id = (uint64_t)b * KT_BATCH + (uint64_t)i;
            kt_vector(id, vecs[i]);
            kt_sparse(id, sidx[i], sval[i]);
            snprintf(payload[i], sizeof payload[i], "{\"batch\": %u, \"i\": %d}", b, i);
            vin[i] = (sc_vector_in){"", vecs[i], KT_DIM};
            sin[i] = (sc_sparse_in){"s", sidx[i], sval[i], 3};
            pts[i] = (sc_point_in){.id = sc_point_id_num(id), .vectors = &vin[i], .n_vectors = 1, .payload_json = payload[i],
                                   .sparse = &sin[i], .n_sparse = 1};
        }
        if (sc_points_upsert(db, "k", pts, KT_BATCH) != SC_OK) _exit(4);
        if (write(fd, &b, sizeof b) != (ssize_t)sizeof b) _exit(5);
    }
    _exit(0);
}

static uint64_t kt_count(sc_db *db, const char *filter) {
    uint64_t n = 0;
    assert_int_equal(sc_points_count(db, "k", filter, &n), SC_OK);
    return n;
}

static void test_kill9_loses_nothing_acknowledged(void **state) {
    (void)state;
    char *dir = tu_tmpdir("kill");
    sc_db *db = NULL;
    char err[256];
    assert_int_equal(tu_db_open(dir, NULL, &db, err, sizeof err), SC_OK);
    sc_vector_params vp = {.name = "", .dim = KT_DIM, .distance = SC_DISTANCE_DOT};
    sc_sparse_params sp = {.name = "s"};
    sc_collection_params cp = {.vectors = &vp, .n_vectors = 1, .sparse = &sp, .n_sparse = 1};
    assert_int_equal(sc_collection_create_ex(db, "k", &cp), SC_OK);
    sc_db_close(db);
    tu_rng rng = {(uint64_t)time(NULL)};
    uint32_t next_batch = 0;
    int rounds_with_acks = 0;
    for (int round = 0; round < KT_ROUNDS; round++) {
        kt_job job = {dir, next_batch};
        int fd = -1;
        pid_t pid = tu_fork_child(kt_child, &job, &fd);
        /* Wait for 0-3 acknowledgements, then kill it at a random moment
        ** 0-15 ms later: mid-batch, mid-commit or while opening. */
        int64_t last_ack = -1;
        uint32_t b;
        for (uint64_t want = tu_next(&rng) % 4; want > 0; want--) {
            if (read(fd, &b, sizeof b) != (ssize_t)sizeof b) break;
            last_ack = b;
        }
        usleep((useconds_t)(tu_next(&rng) % 15000));
        kill(pid, SIGKILL);
        int st = 0;
        waitpid(pid, &st, 0);
        if (WIFEXITED(st)) fail_msg("child exited by itself with status %d (round %d)", WEXITSTATUS(st), round);
        while (read(fd, &b, sizeof b) == (ssize_t)sizeof b) last_ack = b;
        close(fd);
        if (last_ack >= 0) rounds_with_acks++;

        assert_int_equal(tu_db_open(dir, NULL, &db, err, sizeof err), SC_OK);
        uint64_t total = kt_count(db, NULL);
        /* No partial batch anywhere: whole batches only, contiguous from 0. */
        assert_int_equal(total % KT_BATCH, 0);
        uint32_t n_batches = (uint32_t)(total / KT_BATCH);
        /* Every acknowledged batch is there (one more may be, committed but not yet acknowledged). */
        if (last_ack >= 0) assert_true(n_batches >= (uint32_t)last_ack + 1);
        assert_true(n_batches >= next_batch);
        assert_true(n_batches <= (last_ack >= 0 ? (uint32_t)last_ack + 2 : next_batch + 1));
        /* The newest batches of this round are each whole, with the right contents. */
        for (uint32_t check = next_batch; check < n_batches; check++) {
            char filter[96];
            snprintf(filter, sizeof filter, "{\"must\": {\"key\": \"batch\", \"match\": {\"value\": %u}}}", check);
            assert_int_equal(kt_count(db, filter), KT_BATCH);
            sc_point_id ids[KT_BATCH];
            for (int i = 0; i < KT_BATCH; i++) ids[i] = sc_point_id_num((uint64_t)check * KT_BATCH + (uint64_t)i);
            sc_with w = {.vectors = true};
            sc_record_list *l = NULL;
            assert_int_equal(sc_points_get(db, "k", ids, KT_BATCH, &w, &l), SC_OK);
            assert_int_equal(l->n, KT_BATCH);
            for (size_t i = 0; i < l->n; i++) {
                float want[KT_DIM], sv[3];
                uint32_t si[3];
                kt_vector(l->items[i].id.num, want);
                assert_memory_equal(l->items[i].vectors[0], want, sizeof want);
                kt_sparse(l->items[i].id.num, si, sv);
                assert_int_equal(l->items[i].n_sparse, 1);
                assert_memory_equal(l->items[i].sparse[0].indices, si, sizeof si);
                assert_memory_equal(l->items[i].sparse[0].values, sv, sizeof sv);
            }
            sc_record_list_free(l);
        }
        /* the inverted index rebuilt at the open agrees with the points: index 100 + r holds every id = r (mod 13) */
        for (uint32_t r = 0; r < 13 && total; r++) {
            uint32_t qi = 100 + r;
            float qv = 1.0f;
            sc_sparse_query q = {&qi, &qv, 1, NULL};
            sc_search_request req = {.vector_name = "s", .limit = (uint32_t)total, .sparse = &q};
            sc_record_list *l = NULL;
            assert_int_equal(sc_points_search(db, "k", &req, &l), SC_OK);
            uint64_t want = total / 13 + (r < total % 13);
            assert_int_equal(l->n, want);
            for (size_t i = 0; i < l->n; i++) assert_int_equal(l->items[i].id.num % 13, r);
            sc_record_list_free(l);
        }
        sc_db_close(db);
        next_batch = n_batches;
    }
    printf("kill test: %d rounds, %d with acknowledged batches, %u batches stored\n", KT_ROUNDS,
           rounds_with_acks, next_batch);
    /* The test means something only if children got work acknowledged. */
    assert_true(rounds_with_acks >= KT_ROUNDS / 2); /* 3 rounds in 4 wait for acknowledgements */
    assert_true(next_batch > 0);
    tu_rmdir(dir);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_kill9_loses_nothing_acknowledged),
    };
    return cmocka_run_group_tests_name("killtest", tests, NULL, NULL);
}
