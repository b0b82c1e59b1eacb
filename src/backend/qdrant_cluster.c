/*
** backend/qdrant_cluster.c: what a Qdrant cluster says about itself, checked
** against the store configuration before it is used (part of
** backend_config_check: `semcode config check` and the start of index,
** search and serve --repo). Two documented endpoints:
** - GET /cluster: cluster mode on or off, the peers, the Raft leader and
**   the consensus thread's state;
** - GET /collections/{c}/cluster: the collection's shard count, its local
**   and remote replicas with their states, and shard transfers.
** Both answer peer ids as unsigned 64-bit numbers, past what jansson keeps
** as integers: they are decoded as reals (JSON_DECODE_INT_AS_REAL) and only
** counted, never matched. A server without these endpoints (404, as
** `semcode serve`) is taken for one node.
*/
#include "backend/qdrant_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "net/net.h"

/* At most this many shards are told apart (more are counted together). */
#define QC_MAX_SHARDS 4096

/* Per shard: replicas seen and how many of them are Active. */
typedef struct qc_shard {
    uint32_t replicas; /* local and remote replicas of the shard */
    uint32_t active;   /* of them, in state "Active" */
} qc_shard;

/* Count the replicas of one listing (local_shards or remote_shards) into sh. */
static void qc__count(const json_t *list, qc_shard *sh, uint32_t n_sh, uint32_t *n_replicas, uint32_t *n_inactive) {
    size_t i;
    json_t *r;
    json_array_foreach(list, i, r) {
        double id = json_number_value(json_object_get(r, "shard_id"));
        const char *st = json_string_value(json_object_get(r, "state"));
        bool active = st && !strcmp(st, "Active");
        (*n_replicas)++;
        if (!active) (*n_inactive)++;
        if (id < 0 || id >= (double)n_sh) continue;
        sh[(uint32_t)id].replicas++;
        if (active) sh[(uint32_t)id].active++;
    }
}

/* GET /cluster: peers, leader and consensus against the configuration. */
static void qc__cluster(backend *b, const backend_config *c, backend_check *out) {
    json_t *r = NULL;
    sc_status rc = qdrant_call_flags(b, "GET", "/cluster", NULL, JSON_DECODE_INT_AS_REAL, &r);
    if (rc == SC_NOTFOUND) {
        snprintf(out->cluster, sizeof out->cluster, "no cluster API (GET /cluster: 404): one node");
        if (c->replication_factor > 1)
            backend_check_add(out, false, "replication_factor",
                              "replication_factor %u on a server without a cluster: every shard has one copy",
                              c->replication_factor);
        return;
    }
    if (rc != SC_OK) {
        backend_check_add(out, false, "cluster", "the cluster state could not be read: %s", backend_errmsg(b));
        return;
    }
    json_t *res = json_object_get(r, "result");
    const char *status = json_string_value(json_object_get(res, "status"));
    uint32_t n_peers = 0;
    if (status && !strcmp(status, "enabled")) {
        n_peers = (uint32_t)json_object_size(json_object_get(res, "peers"));
        json_t *raft = json_object_get(res, "raft_info");
        json_t *leader = json_object_get(raft, "leader");
        const char *cons = json_string_value(
            json_object_get(json_object_get(res, "consensus_thread_status"), "consensus_thread_status"));
        snprintf(out->cluster, sizeof out->cluster, "cluster of %u peer%s, %s, consensus %s", n_peers,
                 n_peers == 1 ? "" : "s", json_is_number(leader) ? "a Raft leader elected" : "no Raft leader",
                 cons ? cons : "?");
        if (!json_is_number(leader))
            backend_check_add(out, false, "cluster", "the cluster has no Raft leader: collections cannot be created "
                                                     "or changed until one is elected");
        if (cons && strcmp(cons, "working"))
            backend_check_add(out, false, "cluster", "the cluster's consensus thread is '%s', not 'working'", cons);
        if (c->write_consistency_factor > n_peers)
            backend_check_add(out, true, "write_consistency_factor",
                              "write_consistency_factor %u is over the cluster's %u peers: no write could be "
                              "acknowledged", c->write_consistency_factor, n_peers);
        if (c->replication_factor > n_peers)
            backend_check_add(out, false, "replication_factor",
                              "replication_factor %u is over the cluster's %u peers: shards get at most %u copies "
                              "until more peers join", c->replication_factor, n_peers, n_peers);
        if (c->shard_number && c->shard_number < n_peers)
            backend_check_add(out, false, "shard_number",
                              "shard_number %u on %u peers: some peers hold no shard of the collection",
                              c->shard_number, n_peers);
    } else {
        snprintf(out->cluster, sizeof out->cluster, "cluster mode %s: one node", status ? status : "?");
        if (c->replication_factor > 1)
            backend_check_add(out, false, "replication_factor",
                              "replication_factor %u, but the server runs without cluster mode: every shard has "
                              "one copy", c->replication_factor);
    }
    json_decref(r);
}

/* GET /collections/{c}/cluster: shards and replicas of the collection, when it exists. */
static void qc__collection(backend *b, const backend_config *c, backend_check *out) {
    char *e = net_escape(b->collection);
    char path[700];
    snprintf(path, sizeof path, "/collections/%s/cluster", e ? e : b->collection);
    free(e);
    json_t *r = NULL;
    sc_status rc = qdrant_call_flags(b, "GET", path, NULL, JSON_DECODE_INT_AS_REAL, &r);
    if (rc == SC_NOTFOUND) return; /* not created yet, or no cluster API */
    if (rc != SC_OK) {
        backend_check_add(out, false, "cluster", "the collection's shards could not be read: %s", backend_errmsg(b));
        return;
    }
    json_t *res = json_object_get(r, "result");
    double sc = json_number_value(json_object_get(res, "shard_count"));
    uint32_t n_sh = sc > 0 && sc <= QC_MAX_SHARDS ? (uint32_t)sc : 0;
    qc_shard *sh = calloc(n_sh ? n_sh : 1, sizeof *sh);
    if (!sh) {
        json_decref(r);
        return;
    }
    uint32_t n_rep = 0, n_inactive = 0, n_dead_shards = 0, min_rep = UINT32_MAX, first_dead = 0;
    qc__count(json_object_get(res, "local_shards"), sh, n_sh, &n_rep, &n_inactive);
    qc__count(json_object_get(res, "remote_shards"), sh, n_sh, &n_rep, &n_inactive);
    for (uint32_t i = 0; i < n_sh; i++) {
        if (!sh[i].active && !n_dead_shards++) first_dead = i;
        if (sh[i].replicas < min_rep) min_rep = sh[i].replicas;
    }
    if (!n_sh) min_rep = 0;
    size_t n_transfers = json_array_size(json_object_get(res, "shard_transfers"));
    size_t len = strlen(out->cluster);
    snprintf(out->cluster + len, sizeof out->cluster - len, "%scollection %s: %u shard%s, %u replicas (%u not active)",
             len ? "; " : "", b->collection, n_sh, n_sh == 1 ? "" : "s", n_rep, n_inactive);
    if (n_dead_shards)
        backend_check_add(out, true, "cluster",
                          "%u of the %u shards of collection %s have no active replica (shard %u first): their "
                          "points can be neither written nor searched; recover the peers or the replicas",
                          n_dead_shards, n_sh, b->collection, first_dead);
    else if (n_inactive)
        backend_check_add(out, false, "cluster",
                          "%u of the %u replicas of collection %s are not active (dead, partial or initializing): "
                          "fewer copies until they recover", n_inactive, n_rep, b->collection);
    if (n_transfers)
        backend_check_add(out, false, "cluster", "%zu shard transfer%s of collection %s in progress", n_transfers,
                          n_transfers == 1 ? "" : "s", b->collection);
    if (c->shard_number && n_sh && c->shard_number != n_sh)
        backend_check_add(out, false, "shard_number",
                          "collection %s has %u shards, the configuration says %u: shard_number applies when a "
                          "collection is created", b->collection, n_sh, c->shard_number);
    if (c->replication_factor && n_sh && min_rep < c->replication_factor)
        backend_check_add(out, false, "replication_factor",
                          "a shard of collection %s has %u replica%s, the configuration says %u", b->collection,
                          min_rep, min_rep == 1 ? "" : "s", c->replication_factor);
    free(sh);
    json_decref(r);
}

void backend_qdrant_cluster_check(const backend_config *c, backend_check *out) {
    backend_config cc = *c;
    cc.max_retries = 0; /* a check: one try each */
    if (!cc.timeout_ms || cc.timeout_ms > 5000) cc.timeout_ms = 5000;
    backend *b = NULL;
    sc_err err = {0};
    if (backend_qdrant_new(&cc, &b, &err) != SC_OK) {
        backend_check_add(out, false, "cluster", "the cluster was not checked: %s", err.msg);
        return;
    }
    qc__cluster(b, c, out);
    qc__collection(b, c, out);
    backend_free(b);
}
