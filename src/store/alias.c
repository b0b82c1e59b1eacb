/*
** store/alias.c: aliases, durable second names of collections (Qdrant's
** collection aliases), kept in their own SQLite table.
**
** DESIGN
** - The table `aliases(name TEXT PRIMARY KEY, coll TEXT NOT NULL)` is created
**   by the first alias write, so opening a store still writes nothing and
**   stores made before aliases existed need no migration; reads treat a
**   missing table as "no aliases".
** - Writes hold the store's writer lock (which also excludes collection
**   creation, so an alias and a collection can never take the same name);
**   reads hold the reader lock plus the SQLite mutex, as scroll does.
** - Every write is a list of actions (sc_alias_apply; the single-action
**   calls are lists of one) run in one transaction: each action sees the
**   effects of the ones before it, and the first failure rolls back all.
**   Aliases have no in-memory state, so a rollback leaves nothing to undo.
** - An alias whose collection was deleted is "dangling": resolve and list
**   skip it, create replaces it. sc_alias_delete_for_collection removes them.
*/
#include "store/store_int.h"

#include <stdlib.h>
#include <string.h>

/* ==== Helpers ==== */

static sc_status store__alias_ensure_table(sc_db *db) {
    return store_exec(db, "CREATE TABLE IF NOT EXISTS aliases(name TEXT PRIMARY KEY, coll TEXT NOT NULL)");
}

/* Target of alias (owned, NULL when absent) with a lock held. */
static sc_status store__alias_lookup(sc_db *db, const char *alias, char **out) {
    *out = NULL;
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(db->sql, "SELECT coll FROM aliases WHERE name=?1", -1, &st, NULL);
    if (rc != SQLITE_OK) {
        /* No table yet: no aliases. */
        if (!strstr(sqlite3_errmsg(db->sql), "no such table")) return store_fail_sql(db, "reading aliases");
        return SC_OK;
    }
    sqlite3_bind_text(st, 1, alias, -1, SQLITE_STATIC);
    rc = sqlite3_step(st);
    sc_status status = SC_OK;
    if (rc == SQLITE_ROW) {
        *out = util_strdup((const char *)sqlite3_column_text(st, 0));
        if (!*out) status = store_fail(SC_NOMEM, "out of memory");
    } else if (rc != SQLITE_DONE) {
        status = store_fail_sql(db, "reading aliases");
    }
    sqlite3_finalize(st);
    return status;
}

bool store_alias_taken(sc_db *db, const char *name) {
    char *target = NULL;
    bool taken = store__alias_lookup(db, name, &target) == SC_OK && target && store_coll_find(db, target);
    free(target);
    return taken;
}

/* Run a statement with up to two text parameters; *changes gets the rows changed. */
static sc_status store__alias_run(sc_db *db, const char *sql, const char *a, const char *b, int *changes) {
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(db->sql, sql, -1, &st, NULL) != SQLITE_OK) return store_fail_sql(db, "writing aliases");
    if (a) sqlite3_bind_text(st, 1, a, -1, SQLITE_STATIC);
    if (b) sqlite3_bind_text(st, 2, b, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE) return store_fail_sql(db, "writing aliases");
    if (changes) *changes = sqlite3_changes(db->sql);
    return SC_OK;
}

/* ==== Actions (writer lock held, inside the caller's transaction) ==== */

static sc_status store__alias_do_create(sc_db *db, const char *alias, const char *collection) {
    sc_status rc;
    if ((rc = store_check_name("alias name", alias)) != SC_OK) return rc;
    if ((rc = store_check_name("collection name", collection)) != SC_OK) return rc;
    if (!store_coll_find(db, collection)) return store_fail(SC_NOTFOUND, "Collection `%s` doesn't exist!", collection);
    if (store_coll_find(db, alias))
        return store_fail(SC_EXISTS, "alias name `%s` is already the name of a collection", alias);
    char *old = NULL;
    if ((rc = store__alias_lookup(db, alias, &old)) != SC_OK) return rc;
    if (old && store_coll_find(db, old)) rc = store_fail(SC_EXISTS, "Alias `%s` already exists!", alias);
    else rc = store__alias_run(db, "INSERT OR REPLACE INTO aliases(name, coll) VALUES(?1, ?2)", alias, collection, NULL);
    free(old);
    return rc;
}

static sc_status store__alias_do_delete(sc_db *db, const char *alias) {
    if (!alias) return store_fail(SC_INVALID, "alias name is empty");
    int changes = 0;
    sc_status rc = store__alias_run(db, "DELETE FROM aliases WHERE name=?1", alias, NULL, &changes);
    if (rc == SC_OK && changes == 0) rc = store_fail(SC_NOTFOUND, "Alias `%s` doesn't exist!", alias);
    return rc;
}

static sc_status store__alias_do_rename(sc_db *db, const char *old_alias, const char *new_alias) {
    sc_status rc;
    if ((rc = store_check_name("alias name", new_alias)) != SC_OK) return rc;
    if (!old_alias) return store_fail(SC_INVALID, "alias name is empty");
    char *target = NULL, *taken = NULL;
    if ((rc = store__alias_lookup(db, old_alias, &target)) != SC_OK || (rc = store__alias_lookup(db, new_alias, &taken)) != SC_OK)
        goto done;
    if (!target)
        rc = store_fail(SC_NOTFOUND, "Alias `%s` doesn't exist!", old_alias);
    else if ((taken && store_coll_find(db, taken)) || store_coll_find(db, new_alias))
        rc = store_fail(SC_EXISTS, "Alias `%s` already exists!", new_alias);
    else if ((rc = store__alias_run(db, "DELETE FROM aliases WHERE name=?1", old_alias, NULL, NULL)) == SC_OK)
        rc = store__alias_run(db, "INSERT OR REPLACE INTO aliases(name, coll) VALUES(?1, ?2)", new_alias, target, NULL);
done:
    free(target);
    free(taken);
    return rc;
}

/* ==== Public API ==== */

sc_status sc_alias_apply(sc_db *db, const sc_alias_action *actions, size_t n, size_t *failed) {
    if (!db || (n && !actions)) return store_fail(SC_MISUSE, "sc_alias_apply: NULL argument");
    store_lock_write(db);
    size_t i = 0, bad = n; /* bad: the failing action, n when the transaction itself failed */
    sc_status rc = store_exec(db, "BEGIN IMMEDIATE");
    if (rc == SC_OK) rc = store__alias_ensure_table(db);
    for (; rc == SC_OK && i < n; i++) {
        const sc_alias_action *a = &actions[i];
        switch (a->op) {
        case SC_ALIAS_OP_CREATE: rc = store__alias_do_create(db, a->alias, a->collection); break;
        case SC_ALIAS_OP_DELETE: rc = store__alias_do_delete(db, a->alias); break;
        case SC_ALIAS_OP_RENAME: rc = store__alias_do_rename(db, a->alias, a->new_alias); break;
        default: rc = store_fail(SC_INVALID, "actions[%zu]: unknown alias operation %d", i, (int)a->op); break;
        }
        if (rc != SC_OK) {
            bad = i;
            break;
        }
    }
    if (rc == SC_OK) rc = store_exec(db, "COMMIT");
    if (rc != SC_OK) {
        char msg[512]; /* the action's message, kept across the rollback */
        snprintf(msg, sizeof msg, "%s", sc_db_errmsg(db));
        sqlite3_exec(db->sql, "ROLLBACK", NULL, NULL, NULL);
        store_fail(rc, "%s", msg);
        if (failed) *failed = bad;
    }
    pthread_rwlock_unlock(&db->lock);
    return rc;
}

sc_status sc_alias_create(sc_db *db, const char *alias, const char *collection) {
    sc_alias_action a = {.op = SC_ALIAS_OP_CREATE, .alias = alias, .collection = collection};
    return sc_alias_apply(db, &a, 1, NULL);
}

sc_status sc_alias_delete(sc_db *db, const char *alias) {
    sc_alias_action a = {.op = SC_ALIAS_OP_DELETE, .alias = alias};
    return sc_alias_apply(db, &a, 1, NULL);
}

sc_status sc_alias_rename(sc_db *db, const char *old_alias, const char *new_alias) {
    sc_alias_action a = {.op = SC_ALIAS_OP_RENAME, .alias = old_alias, .new_alias = new_alias};
    return sc_alias_apply(db, &a, 1, NULL);
}

sc_status sc_alias_resolve(sc_db *db, const char *alias, char **out) {
    if (!db || !out) return store_fail(SC_MISUSE, "sc_alias_resolve: NULL argument");
    *out = NULL;
    if (!alias) return store_fail(SC_NOTFOUND, "alias name is empty");
    pthread_rwlock_rdlock(&db->lock);
    pthread_mutex_lock(&db->sql_mu);
    char *target = NULL;
    sc_status rc = store__alias_lookup(db, alias, &target);
    pthread_mutex_unlock(&db->sql_mu);
    if (rc == SC_OK && (!target || !store_coll_find(db, target))) {
        rc = store_fail(SC_NOTFOUND, "Alias `%s` doesn't exist!", alias);
        free(target);
        target = NULL;
    }
    pthread_rwlock_unlock(&db->lock);
    if (rc == SC_OK) *out = target;
    return rc;
}

sc_status sc_alias_list(sc_db *db, sc_alias **out, size_t *n_out) {
    if (!db || !out || !n_out) return store_fail(SC_MISUSE, "sc_alias_list: NULL argument");
    *out = NULL;
    *n_out = 0;
    pthread_rwlock_rdlock(&db->lock);
    pthread_mutex_lock(&db->sql_mu);
    sc_alias *list = NULL;
    size_t n = 0, cap = 0;
    sc_status rc = SC_OK;
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(db->sql, "SELECT name, coll FROM aliases ORDER BY name", -1, &st, NULL) != SQLITE_OK) {
        if (!strstr(sqlite3_errmsg(db->sql), "no such table")) rc = store_fail_sql(db, "listing aliases");
    } else {
        int step;
        while ((step = sqlite3_step(st)) == SQLITE_ROW) {
            const char *coll = (const char *)sqlite3_column_text(st, 1);
            if (!coll || !store_coll_find(db, coll)) continue; /* dangling */
            if (!util_grow(&list, &cap, n + 1, sizeof *list, 8)) {
                rc = store_fail(SC_NOMEM, "out of memory");
                break;
            }
            list[n].alias = util_strdup((const char *)sqlite3_column_text(st, 0));
            list[n].collection = util_strdup(coll);
            n++;
            if (!list[n - 1].alias || !list[n - 1].collection) {
                rc = store_fail(SC_NOMEM, "out of memory");
                break;
            }
        }
        if (rc == SC_OK && step != SQLITE_DONE) rc = store_fail_sql(db, "listing aliases");
    }
    sqlite3_finalize(st);
    pthread_mutex_unlock(&db->sql_mu);
    pthread_rwlock_unlock(&db->lock);
    if (rc != SC_OK) {
        sc_alias_list_free(list, n);
        return rc;
    }
    *out = list;
    *n_out = n;
    return SC_OK;
}

void sc_alias_list_free(sc_alias *list, size_t n) {
    if (!list) return;
    for (size_t i = 0; i < n; i++) {
        free(list[i].alias);
        free(list[i].collection);
    }
    free(list);
}

sc_status sc_alias_delete_for_collection(sc_db *db, const char *collection, uint64_t *n_deleted) {
    if (!db) return store_fail(SC_MISUSE, "sc_alias_delete_for_collection: NULL argument");
    if (!collection) return store_fail(SC_INVALID, "collection name is empty");
    store_lock_write(db);
    int changes = 0;
    sc_status rc = store__alias_ensure_table(db);
    if (rc == SC_OK) rc = store__alias_run(db, "DELETE FROM aliases WHERE coll=?1", collection, NULL, &changes);
    pthread_rwlock_unlock(&db->lock);
    if (rc == SC_OK && n_deleted) *n_deleted = (uint64_t)changes;
    return rc;
}
