/*
** Unit tests of store aliases (src/store/alias.c): create / resolve /
** rename / delete, refusal of clashes with collections and other aliases,
** dangling aliases after a collection is deleted, durability across
** close and reopen, and batches of actions that apply all or none.
*/
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "semcode/store.h"
#include "store_fixture.h"
#include "testutil.h"

static void ta__coll(sc_db *db, const char *name) {
    sc_vector_params v = {.name = "", .dim = 2, .distance = SC_DISTANCE_DOT};
    assert_int_equal(sc_collection_create(db, name, &v, 1), SC_OK);
}

static void test_alias_lifecycle(void **state) {
    (void)state;
    char *dir = tu_tmpdir("alias");
    sc_db *db = tu_db_open_normal(dir);
    sc_alias *list = NULL;
    size_t n = 9;
    char *target = NULL;
    /* no table yet: reads see no aliases, and opening wrote nothing */
    assert_int_equal(sc_alias_list(db, &list, &n), SC_OK);
    assert_int_equal(n, 0);
    assert_int_equal(sc_alias_resolve(db, "x", &target), SC_NOTFOUND);
    ta__coll(db, "c1");
    ta__coll(db, "c2");
    assert_int_equal(sc_alias_create(db, "a1", "c1"), SC_OK);
    assert_int_equal(sc_alias_create(db, "a1", "c2"), SC_EXISTS);     /* alias taken */
    assert_int_equal(sc_alias_create(db, "c2", "c1"), SC_EXISTS);     /* a collection's name */
    assert_int_equal(sc_alias_create(db, "a2", "nope"), SC_NOTFOUND); /* no such collection */
    assert_int_equal(sc_alias_create(db, "bad/name", "c1"), SC_INVALID);
    assert_non_null(strstr(sc_db_errmsg(db), "bad/name"));
    assert_int_equal(sc_alias_resolve(db, "a1", &target), SC_OK);
    assert_string_equal(target, "c1");
    sc_free(target);
    assert_int_equal(sc_alias_create(db, "a0", "c2"), SC_OK);
    assert_int_equal(sc_alias_list(db, &list, &n), SC_OK);
    assert_int_equal(n, 2);
    assert_string_equal(list[0].alias, "a0");
    assert_string_equal(list[0].collection, "c2");
    assert_string_equal(list[1].alias, "a1");
    sc_alias_list_free(list, n);
    /* rename */
    assert_int_equal(sc_alias_rename(db, "a1", "a0"), SC_EXISTS);
    assert_int_equal(sc_alias_rename(db, "zz", "a9"), SC_NOTFOUND);
    assert_int_equal(sc_alias_rename(db, "a1", "a3"), SC_OK);
    assert_int_equal(sc_alias_resolve(db, "a1", &target), SC_NOTFOUND);
    assert_int_equal(sc_alias_resolve(db, "a3", &target), SC_OK);
    assert_string_equal(target, "c1");
    sc_free(target);
    /* delete */
    assert_int_equal(sc_alias_delete(db, "a3"), SC_OK);
    assert_int_equal(sc_alias_delete(db, "a3"), SC_NOTFOUND);
    sc_db_close(db);
    tu_rmdir(dir);
}

static void test_alias_dangling_and_durable(void **state) {
    (void)state;
    char *dir = tu_tmpdir("alias2");
    sc_db *db = tu_db_open_normal(dir);
    ta__coll(db, "c1");
    assert_int_equal(sc_alias_create(db, "a1", "c1"), SC_OK);
    assert_int_equal(sc_alias_create(db, "a2", "c1"), SC_OK);
    sc_db_close(db);
    db = tu_db_open_normal(dir); /* durable */
    char *target = NULL;
    assert_int_equal(sc_alias_resolve(db, "a2", &target), SC_OK);
    assert_string_equal(target, "c1");
    sc_free(target);
    /* a deleted collection leaves dangling aliases: skipped, replaceable */
    assert_int_equal(sc_collection_delete(db, "c1"), SC_OK);
    assert_int_equal(sc_alias_resolve(db, "a1", &target), SC_NOTFOUND);
    sc_alias *list = NULL;
    size_t n = 9;
    assert_int_equal(sc_alias_list(db, &list, &n), SC_OK);
    assert_int_equal(n, 0);
    sc_alias_list_free(list, n);
    ta__coll(db, "c3");
    assert_int_equal(sc_alias_create(db, "a1", "c3"), SC_OK); /* replaces the dangling one */
    uint64_t gone = 0;
    ta__coll(db, "c1"); /* a new c1 would revive a2 unless cleaned up */
    assert_int_equal(sc_alias_resolve(db, "a2", &target), SC_OK);
    sc_free(target);
    assert_int_equal(sc_alias_delete_for_collection(db, "c1", &gone), SC_OK);
    assert_int_equal(gone, 1);
    assert_int_equal(sc_alias_resolve(db, "a2", &target), SC_NOTFOUND);
    assert_int_equal(sc_alias_resolve(db, "a1", &target), SC_OK);
    assert_string_equal(target, "c3");
    sc_free(target);
    /* an alias may not take a collection's name */
    assert_int_equal(sc_alias_create(db, "c3", "c1"), SC_EXISTS);
    sc_db_close(db);
    tu_rmdir(dir);
}

/* Aliases as "name->collection" lines, sorted (owned). */
static char *ta__dump(sc_db *db) {
    sc_alias *list = NULL;
    size_t n = 0;
    assert_int_equal(sc_alias_list(db, &list, &n), SC_OK);
    size_t cap = 1;
    for (size_t i = 0; i < n; i++) cap += strlen(list[i].alias) + strlen(list[i].collection) + 3;
    char *out = calloc(1, cap);
    for (size_t i = 0; i < n; i++) {
        strcat(out, list[i].alias);
        strcat(out, "->");
        strcat(out, list[i].collection);
        strcat(out, "\n");
    }
    sc_alias_list_free(list, n);
    return out;
}

static void test_alias_batch_all_or_nothing(void **state) {
    (void)state;
    char *dir = tu_tmpdir("alias");
    sc_db *db = tu_db_open_normal(dir);
    ta__coll(db, "c1");
    ta__coll(db, "c2");
    assert_int_equal(sc_alias_create(db, "keep", "c1"), SC_OK);
    char *before = ta__dump(db);
    assert_string_equal(before, "keep->c1\n");
    /* each batch fails at its last action: the earlier ones must not stay */
    const sc_alias_action bad[][3] = {
        {{.op = SC_ALIAS_OP_CREATE, .alias = "n1", .collection = "c2"},
         {.op = SC_ALIAS_OP_DELETE, .alias = "keep"},
         {.op = SC_ALIAS_OP_DELETE, .alias = "missing"}},
        {{.op = SC_ALIAS_OP_RENAME, .alias = "keep", .new_alias = "kept"},
         {.op = SC_ALIAS_OP_CREATE, .alias = "n2", .collection = "c1"},
         {.op = SC_ALIAS_OP_CREATE, .alias = "n3", .collection = "nope"}},
        {{.op = SC_ALIAS_OP_CREATE, .alias = "n4", .collection = "c1"},
         {.op = SC_ALIAS_OP_CREATE, .alias = "n5", .collection = "c2"},
         {.op = SC_ALIAS_OP_CREATE, .alias = "n4", .collection = "c2"}}, /* taken by the first action */
        {{.op = SC_ALIAS_OP_DELETE, .alias = "keep"},
         {.op = SC_ALIAS_OP_CREATE, .alias = "n6", .collection = "c1"},
         {.op = SC_ALIAS_OP_RENAME, .alias = "n6", .new_alias = "c2"}}, /* a collection's name */
    };
    const sc_status want[] = {SC_NOTFOUND, SC_NOTFOUND, SC_EXISTS, SC_EXISTS};
    for (size_t b = 0; b < sizeof bad / sizeof bad[0]; b++) {
        size_t failed = 99;
        assert_int_equal(sc_alias_apply(db, bad[b], 3, &failed), want[b]);
        assert_int_equal(failed, 2);
        char *now = ta__dump(db);
        assert_string_equal(now, before);
        free(now);
    }
    /* a bad name fails at its index too */
    sc_alias_action named[2] = {{.op = SC_ALIAS_OP_CREATE, .alias = "ok", .collection = "c1"},
                                {.op = SC_ALIAS_OP_CREATE, .alias = "bad/name", .collection = "c1"}};
    size_t failed = 99;
    assert_int_equal(sc_alias_apply(db, named, 2, &failed), SC_INVALID);
    assert_int_equal(failed, 1);
    assert_non_null(strstr(sc_db_errmsg(db), "bad/name"));
    /* a good batch: later actions see the earlier ones */
    const sc_alias_action good[] = {
        {.op = SC_ALIAS_OP_CREATE, .alias = "tmp", .collection = "c2"},
        {.op = SC_ALIAS_OP_RENAME, .alias = "tmp", .new_alias = "prod"},
        {.op = SC_ALIAS_OP_DELETE, .alias = "keep"},
        {.op = SC_ALIAS_OP_CREATE, .alias = "keep", .collection = "c2"},
    };
    assert_int_equal(sc_alias_apply(db, good, 4, NULL), SC_OK);
    char *after = ta__dump(db);
    assert_string_equal(after, "keep->c2\nprod->c2\n");
    sc_db_close(db);
    db = tu_db_open_normal(dir); /* durable, and the failed batches left nothing on disk */
    char *reopened = ta__dump(db);
    assert_string_equal(reopened, after);
    free(before);
    free(after);
    free(reopened);
    sc_db_close(db);
    tu_rmdir(dir);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_alias_lifecycle),
        cmocka_unit_test(test_alias_dangling_and_durable),
        cmocka_unit_test(test_alias_batch_all_or_nothing),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
