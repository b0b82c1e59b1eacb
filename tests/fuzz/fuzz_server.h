/*
** tests/fuzz/fuzz_server.h: the server context shared by the fuzz targets
** of the request paths (fuzz_http.c, fuzz_grpc.c): a store in a temporary
** directory, a context with three API keys (admin, tenant `t` admin, read),
** everything removed at exit. Header-only: each target is its own program.
*/
#ifndef SC_FUZZ_SERVER_H
#define SC_FUZZ_SERVER_H

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server/server.h"

#define FUZZ_ADMIN_KEY "fuzz-admin-key-0123"
#define FUZZ_TENANT_KEY "fuzz-tenant-key-0123"
#define FUZZ_READ_KEY "fuzz-read-key-012345"

static char fuzz__dir[64];       /* the store's temporary directory */
static sc_db *fuzz__db;          /* the store */
static server_ctx *fuzz__ctx;    /* the server context over it */

static int fuzz__rm(const char *path, const struct stat *sb, int flag, struct FTW *ftw) {
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static void fuzz__cleanup(void) {
    server_ctx_free(fuzz__ctx);
    sc_db_close(fuzz__db);
    if (fuzz__dir[0]) nftw(fuzz__dir, fuzz__rm, 16, FTW_DEPTH | FTW_PHYS);
}

/* Open the store in /tmp/semcode-fuzz-NAME.XXXXXX and the context; traps on failure. */
static void fuzz__open(const char *name) {
    setenv("SEMCODE_ISA", "scalar", 1);
    snprintf(fuzz__dir, sizeof fuzz__dir, "/tmp/semcode-fuzz-%s.XXXXXX", name);
    if (!mkdtemp(fuzz__dir)) __builtin_trap();
    sc_db_options o = sc_db_options_default();
    o.sync = SC_SYNC_MODE_NORMAL;
    o.n_threads = 1;
    if (sc_db_open(fuzz__dir, &o, &fuzz__db, NULL) != SC_OK) __builtin_trap();
    server_config cfg;
    sc_err se = {0};
    if (server_config_parse("{\"api_keys\":[{\"key\":\"" FUZZ_ADMIN_KEY "\",\"role\":\"admin\"},"
                            "{\"key\":\"" FUZZ_TENANT_KEY "\",\"role\":\"admin\",\"tenant\":\"t\"},"
                            "{\"key\":\"" FUZZ_READ_KEY "\",\"role\":\"read\"}]}",
                            &cfg, &se) != SC_OK)
        __builtin_trap();
    fuzz__ctx = server_ctx_new(fuzz__db, &cfg);
    if (!fuzz__ctx) __builtin_trap();
    atexit(fuzz__cleanup);
}

/* One request of a target's set-up, with key (NULL = none); the answer is dropped. */
static void fuzz__request(const char *method, const char *path, const char *body, const char *key) {
    server_request req = {.method = method, .path = path, .body = body, .body_size = body ? strlen(body) : 0,
                          .api_key = key};
    server_response resp;
    server_handle(fuzz__ctx, &req, &resp);
    server_response_free(&resp);
}

#endif /* SC_FUZZ_SERVER_H */
