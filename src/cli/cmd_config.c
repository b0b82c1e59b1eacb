/*
** cli/cmd_config.c: `semcode config check`: the checks a store
** configuration gets before index, search and serve use it
** (sc_store_config_check), printed as lines or JSON. Exit 0 when there is
** no error (warnings allowed), 1 with errors, 2 on bad usage.
*/
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"

static void cli__config_usage(FILE *f) {
    fprintf(f, "usage: semcode config check [--config FILE] [--store DIR|URL] [--dim N] [--no-probe] [--json]\n\n"
               "Check a store configuration as index, search and serve do at start-up: values in range\n"
               "(timeout under 5 s, connections, batch size, write consistency over replication),\n"
               "TLS (CA file, API key over plain http), the API key variable, the dimension against\n"
               "the backend's largest, whether the Qdrant host answers (a TLS failure names the CA),\n"
               "and its cluster: peers, Raft leader and the collection's shards and replicas against\n"
               "shard_number, replication_factor and write_consistency_factor.\n\n"
               "  --config FILE   JSON configuration {\"store\": {\"url\": ..., \"timeout_ms\": ...}}\n"
               "                  (default $SEMCODE_CONFIG)\n"
               "  --store S       a folder or qdrant[s]://HOST:PORT/COLLECTION?key=value&... (wins over\n"
               "                  the file's url; default $SEMCODE_STORE)\n"
               "  --dim N         check an embedding dimension against the backend's largest\n"
               "  --no-probe      do not contact the host\n"
               "  --json          the report as JSON\n");
}

int cli_cmd_config(int argc, char **argv) {
    if (argc < 2 || strcmp(argv[1], "check")) {
        if (argc >= 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
            cli__config_usage(stdout);
            return 0;
        }
        cli__config_usage(stderr);
        return 2;
    }
    enum { O_CONFIG = 1000, O_STORE, O_DIM, O_NOPROBE, O_JSON };
    static const struct option opts[] = {
        {"config", required_argument, NULL, O_CONFIG}, {"store", required_argument, NULL, O_STORE},
        {"dim", required_argument, NULL, O_DIM},       {"no-probe", no_argument, NULL, O_NOPROBE},
        {"json", no_argument, NULL, O_JSON},           {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *file = getenv("SEMCODE_CONFIG"), *store = getenv("SEMCODE_STORE");
    uint32_t dim = 0;
    bool probe = true, as_json = false;
    cli_opts p;
    cli_opts_begin(&p, "config check", argc - 1, argv + 1, "h", opts);
    int ch;
    while ((ch = cli_opts_next(&p)) != -1) {
        switch (ch) {
        case O_CONFIG: file = optarg; break;
        case O_STORE: store = optarg; break;
        case O_DIM:
            if (cli_opt_u32("config check", "--dim", optarg, 1, 1u << 30, &dim)) return 2;
            break;
        case O_NOPROBE: probe = false; break;
        case O_JSON: as_json = true; break;
        case 'h': cli__config_usage(stdout); return 0;
        default: return 2;
        }
    }
    if (file && !*file) file = NULL;
    if (store && !*store) store = NULL;
    char *report = NULL, *err = NULL;
    if (sc_store_config_check(file, store, dim, probe, &report, &err) != SC_OK) {
        fprintf(stderr, "semcode config check: %s\n", err ? err : "failed");
        sc_free(err);
        return 1;
    }
    json_t *r = json_loads(report, 0, NULL);
    bool ok = json_is_true(json_object_get(r, "ok"));
    if (as_json) printf("%s\n", report);
    else {
        printf("store: %s (%s)\n", json_string_value(json_object_get(r, "store")),
               json_string_value(json_object_get(r, "kind")));
        const char *cl = json_string_value(json_object_get(r, "cluster"));
        if (cl) printf("cluster: %s\n", cl);
        size_t i;
        json_t *d;
        json_array_foreach(json_object_get(r, "diagnostics"), i, d)
            printf("%s: %s: %s\n", json_string_value(json_object_get(d, "level")),
                   json_string_value(json_object_get(d, "field")), json_string_value(json_object_get(d, "message")));
        printf("%s: %lld error(s), %lld warning(s)\n", ok ? "ok" : "not usable",
               (long long)json_integer_value(json_object_get(r, "errors")),
               (long long)json_integer_value(json_object_get(r, "warnings")));
    }
    json_decref(r);
    sc_free(report);
    return ok ? 0 : 1;
}
