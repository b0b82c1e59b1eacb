/*
** server/snapshots.c: Qdrant's snapshot endpoints over the store's
** snapshot files (include/semcode/snapshot.h):
**   GET/POST /collections/{name}/snapshots, GET/DELETE .../snapshots/{file},
**   PUT .../snapshots/recover {location, checksum?, api_key?, priority?},
**   POST .../snapshots/upload (multipart field "snapshot", or a raw body;
**   spooled to a file by http.c), and the full-store /snapshots family.
**
** Locations a recover accepts: file:///ABS or file://localhost/ABS inside
** STORE/snapshots/ (a tenant's key: inside its collection's folder), and
** http:// or https:// URLs, downloaded with libcurl into STORE/snapshots/
** first. `wait=false` is accepted (answered 202) but the work is done before
** the answer: snapshots are quick and an answer then means it is there.
** `priority` is accepted and ignored (one node, no replicas).
*/
#include "semcode/snapshot.h"
#include "server/server_int.h"

#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* Qdrant's description of one snapshot file. */
static json_t *server__snap_json(const sc_snapshot_entry *e) {
    char when[32];
    time_t t = (time_t)e->mtime;
    struct tm tmv;
    strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%S", gmtime_r(&t, &tmv));
    json_t *o = json_pack("{s:s, s:s, s:I}", "name", e->name, "creation_time", when, "size", (json_int_t)e->size);
    json_object_set_new(o, "checksum", e->sha256[0] ? json_string(e->sha256) : json_null());
    return o;
}

/* `wait=false`: answer 202 (the work is already done). */
static void server__snap_wait(server_call *call) {
    const char *w = server_arg(call, "wait");
    if (w && !strcmp(w, "false")) call->ok_status = 202;
}

static json_t *server__snap_list(server_call *call, const char *coll) {
    sc_snapshot_entry *v = NULL;
    size_t n = 0;
    sc_status rc = sc_snapshot_list(call->ctx->db, coll, &v, &n);
    if (rc != SC_OK) return server_fail_store(call, rc);
    json_t *a = json_array();
    for (size_t i = 0; i < n; i++) json_array_append_new(a, server__snap_json(&v[i]));
    sc_snapshot_entries_free(v, n);
    return a;
}

static json_t *server__snap_create(server_call *call, const char *coll) {
    sc_snapshot_entry e = {0};
    sc_status rc = sc_snapshot_take(call->ctx->db, coll, &e);
    if (rc != SC_OK) return server_fail_store(call, rc);
    json_t *o = server__snap_json(&e);
    sc_free(e.name);
    server__snap_wait(call);
    return o;
}

/* Answer with the file `file` of coll's snapshots (404 when there is none). */
static json_t *server__snap_get(server_call *call, const char *coll, const char *file) {
    char *path = NULL;
    sc_status rc = sc_snapshot_path(call->ctx->db, coll, file, &path);
    if (rc != SC_OK) return server_fail(call, 404, "Not found: Snapshot %s not found", file);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0) {
        if (fd >= 0) close(fd);
        sc_free(path);
        return server_fail(call, 404, "Not found: Snapshot %s not found", file);
    }
    sc_free(path);
    call->file_fd = fd;
    call->file_size = (uint64_t)st.st_size;
    call->has_file = true;
    return json_true();
}

static json_t *server__snap_delete(server_call *call, const char *coll, const char *file) {
    sc_status rc = sc_snapshot_remove(call->ctx->db, coll, file);
    if (rc == SC_NOTFOUND) return server_fail(call, 404, "Not found: Snapshot %s not found", file);
    if (rc != SC_OK) return server_fail_store(call, rc);
    server__snap_wait(call);
    return json_true();
}

/* ==== Collection snapshots ==== */

json_t *server_api_snapshots_list(server_call *call) {
    char name[SERVER_NAME_SIZE];
    if (!server_coll_resolve(call, call->args[0], name)) return NULL;
    return server__snap_list(call, name);
}

json_t *server_api_snapshot_create(server_call *call) {
    char name[SERVER_NAME_SIZE];
    if (!server_coll_resolve(call, call->args[0], name)) return NULL;
    return server__snap_create(call, name);
}

json_t *server_api_snapshot_get(server_call *call) {
    char name[SERVER_NAME_SIZE];
    if (!server_coll_resolve(call, call->args[0], name)) return NULL;
    return server__snap_get(call, name, call->args[1]);
}

json_t *server_api_snapshot_delete(server_call *call) {
    char name[SERVER_NAME_SIZE];
    if (!server_coll_resolve(call, call->args[0], name)) return NULL;
    return server__snap_delete(call, name, call->args[1]);
}

/* Check the file at path (checksum when given) and restore it as collection name. */
static json_t *server__snap_restore(server_call *call, const char *path, const char *name, const char *checksum) {
    sc_snapshot_info info = {0};
    sc_status rc = sc_snapshot_verify(path, &info);
    if (rc == SC_CORRUPT || rc == SC_UNSUPPORTED || rc == SC_NOTFOUND)
        return server_fail(call, 400, "Bad request: %s", sc_db_errmsg(call->ctx->db));
    if (rc != SC_OK) return server_fail_store(call, rc);
    bool match = !checksum || !strcasecmp(checksum, info.sha256);
    if (!match) server_fail(call, 400, "Bad request: Snapshot checksum mismatch: expected %s, got %s", checksum,
                            info.sha256);
    sc_snapshot_info_free(&info);
    if (!match) return NULL;
    rc = sc_snapshot_restore(call->ctx->db, path, NULL, name, NULL);
    if (rc == SC_CORRUPT || rc == SC_UNSUPPORTED || rc == SC_NOTFOUND)
        return server_fail(call, 400, "Bad request: %s", sc_db_errmsg(call->ctx->db));
    if (rc != SC_OK) return server_fail_store(call, rc);
    server__snap_wait(call);
    return json_true();
}

/* Download url into a new file under STORE/snapshots/ (*out: its path, owned). */
static bool server__snap_download(server_call *call, const char *url, const char *api_key, char **out) {
    char dir[4200], path[4300];
    snprintf(dir, sizeof dir, "%s/snapshots", sc_db_path(call->ctx->db));
    mkdir(dir, 0755);
    snprintf(path, sizeof path, "%s/.download-XXXXXX", dir);
    int fd = mkstemp(path);
    FILE *f = fd >= 0 ? fdopen(fd, "wb") : NULL;
    if (!f) {
        if (fd >= 0) close(fd);
        server_fail(call, 500, "Service internal error: cannot create a file in %s: %s", dir, strerror(errno));
        return false;
    }
    CURL *h = curl_easy_init();
    struct curl_slist *hdr = NULL;
    char errbuf[CURL_ERROR_SIZE] = "";
    CURLcode cc = CURLE_OUT_OF_MEMORY;
    long status = 0;
    if (h) {
        curl_easy_setopt(h, CURLOPT_URL, url);
        curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
        curl_easy_setopt(h, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
        curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 1L);
        curl_easy_setopt(h, CURLOPT_MAXREDIRS, 5L);
        curl_easy_setopt(h, CURLOPT_WRITEDATA, f);
        curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, 10L);
        curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
        curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
        if (api_key) {
            char line[600];
            snprintf(line, sizeof line, "api-key: %s", api_key);
            hdr = curl_slist_append(hdr, line);
            curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdr);
        }
        cc = curl_easy_perform(h);
        curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
        curl_easy_cleanup(h);
    }
    curl_slist_free_all(hdr);
    bool ok = fclose(f) == 0 && cc == CURLE_OK && status >= 200 && status < 300;
    if (!ok) {
        unlink(path);
        if (cc != CURLE_OK)
            server_fail(call, 400, "Bad request: cannot download the snapshot from %s: %s", url,
                        errbuf[0] ? errbuf : curl_easy_strerror(cc));
        else
            server_fail(call, 400, "Bad request: cannot download the snapshot from %s: HTTP status %ld", url, status);
        return false;
    }
    if (!(*out = util_strdup(path))) {
        unlink(path);
        server_fail(call, 500, "out of memory");
        return false;
    }
    return true;
}

/* The local file of a file:// location, checked as Qdrant does: absolute
** or on localhost (400), existing (400), inside the snapshots folder (403);
** a tenant's key only reaches its collection's folder. */
static bool server__snap_local(server_call *call, const char *loc, const char *name, char real[PATH_MAX]) {
    const char *p = loc + 7;
    if (!strncmp(p, "localhost/", 10)) p += 9;
    if (*p != '/') {
        server_fail(call, 400, "Bad request: Invalid snapshot URI, file path must be absolute or on localhost");
        return false;
    }
    struct stat st;
    if (stat(p, &st) != 0 || !S_ISREG(st.st_mode) || !realpath(p, real)) {
        server_fail(call, 400, "Bad request: Snapshot file \"%s\" does not exist", p);
        return false;
    }
    char *dir = call->tenant ? sc_snapshot_dir(call->ctx->db, name) : NULL, top[4200], rdir[PATH_MAX];
    snprintf(top, sizeof top, "%s/snapshots", sc_db_path(call->ctx->db));
    bool inside = realpath(dir ? dir : top, rdir) && !strncmp(real, rdir, strlen(rdir)) && real[strlen(rdir)] == '/';
    sc_free(dir);
    if (!inside) {
        server_fail(call, 403, "Forbidden: Snapshot file path must be inside the snapshots directory %s",
                    call->tenant ? "of the collection" : top);
        return false;
    }
    return true;
}

json_t *server_api_snapshot_recover(server_call *call) {
    char name[SERVER_NAME_SIZE];
    const json_t *b = call->body;
    const char *loc = json_string_value(json_object_get(b, "location"));
    const json_t *cj = json_object_get(b, "checksum"), *kj = json_object_get(b, "api_key");
    if (!json_is_object(b) || !loc)
        return server_fail(call, 422, "Validation error in JSON body: location: a string is required");
    if ((cj && !json_is_null(cj) && !json_is_string(cj)) || (kj && !json_is_null(kj) && !json_is_string(kj)))
        return server_fail(call, 422, "Validation error in JSON body: checksum and api_key must be strings");
    if (!server_coll_name(call, call->args[0], name)) return NULL;
    if (!strncmp(loc, "file://", 7)) {
        char real[PATH_MAX];
        if (!server__snap_local(call, loc, name, real)) return NULL;
        return server__snap_restore(call, real, name, json_string_value(cj));
    }
    if (strncmp(loc, "http://", 7) && strncmp(loc, "https://", 8))
        return server_fail(call, 400, "Bad request: Invalid snapshot URI %s: expected file://, http:// or https://",
                           loc);
    char *path = NULL;
    if (!server__snap_download(call, loc, json_string_value(kj), &path)) return NULL;
    json_t *r = server__snap_restore(call, path, name, json_string_value(cj));
    unlink(path);
    free(path);
    return r;
}

json_t *server_api_snapshot_upload(server_call *call) {
    char name[SERVER_NAME_SIZE];
    if (!server_coll_name(call, call->args[0], name)) return NULL;
    if (!call->req->upload_path)
        return server_fail(call, 400, "Bad request: no snapshot uploaded (multipart field `snapshot`)");
    return server__snap_restore(call, call->req->upload_path, name, server_arg(call, "checksum"));
}

/* ==== Full-store snapshots ==== */

json_t *server_api_full_snapshots_list(server_call *call) { return server__snap_list(call, NULL); }
json_t *server_api_full_snapshot_create(server_call *call) {
    if (call->tenant) return server_fail(call, 403, "Forbidden: a tenant's key may not snapshot the whole store");
    return server__snap_create(call, NULL);
}
json_t *server_api_full_snapshot_get(server_call *call) {
    if (call->tenant) return server_fail(call, 403, "Forbidden: a tenant's key may not read whole-store snapshots");
    return server__snap_get(call, NULL, call->args[0]);
}
json_t *server_api_full_snapshot_delete(server_call *call) {
    if (call->tenant) return server_fail(call, 403, "Forbidden: a tenant's key may not delete whole-store snapshots");
    return server__snap_delete(call, NULL, call->args[0]);
}
