/*
** Unit tests of store aliases (src/store/alias.c): create / resolve /
** rename / delete, refusal of clashes with collections and other aliases,
** dangling aliases after a collection is deleted, and durability across
** close and reopen.
*/
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "semcode/store.h"
#include "testutil.h"

static sc_db *ta__open(const char *dir) {
    sc_db_options o = sc_db_options_default();
    o.sync = SC_SYNC_MODE_NORMAL;
    sc_db *db = NULL;
    char err[256];
    assert_int_equal(sc_db_open(dir, &o, &db, err, sizeof err), SC_OK);
    return db;
}

static void ta__coll(sc_db *db, const char *name) {
    sc_vector_params v = {.name = "", .dim = 2, .distance = SC_DISTANCE_DOT};
    assert_int_equal(sc_collection_create(db, name, &v, 1), SC_OK);
}

static void test_alias_lifecycle(void **state) {
    (void)state;
    char *dir = tu_tmpdir("alias");
    sc_db *db = ta__open(dir);
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
    assert_int_equal(sc_alias_create(db, "bad name", "c1"), SC_INVALID);
    assert_non_null(strstr(sc_db_errmsg(db), "bad name"));
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
    sc_db *db = ta__open(dir);
    ta__coll(db, "c1");
    assert_int_equal(sc_alias_create(db, "a1", "c1"), SC_OK);
    assert_int_equal(sc_alias_create(db, "a2", "c1"), SC_OK);
    sc_db_close(db);
    db = ta__open(dir); /* durable */
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

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_alias_lifecycle),
        cmocka_unit_test(test_alias_dangling_and_durable),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
