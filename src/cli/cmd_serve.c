/*
** cli/cmd_serve.c: `semcode serve`, the Qdrant-compatible HTTP server.
** Parses the options and hands over to sc_server_run (semcode/server.h),
** which returns after SIGINT/SIGTERM.
*/
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "semcode/server.h"

static void cli__serve_usage(FILE *f) {
    fprintf(f, "usage: semcode serve [--host 127.0.0.1] [--port 6333] [--store DIR] [--config FILE]\n"
               "                     [--model FILE] [--embedding-cache FILE] [--repo PATH [--repo-store DIR]] [--insecure]\n"
               "                     [--port-file FILE] [--log FILE|-]\n\n"
               "Serve the store over a Qdrant-compatible REST API until SIGINT/SIGTERM.\n"
               "  --host       address to bind (default 127.0.0.1)\n"
               "  --port       TCP port (default 6333; 0 = a free port)\n"
               "  --store      store directory (default ./semcode-store)\n"
               "  --config     JSON config: api_keys [{key, role, tenant}], max_body_bytes, timeout_s, threads, model, repo,\n"
               "               embedding_cache\n"
               "  --model      built-in model for text queries and /v1/embeddings (default: the shipped one,\n"
               "               $SEMCODE_MODEL or found next to the semcode executable)\n"
               "  --embedding-cache  SQLite cache of the model's vectors (counted in /metrics)\n"
               "  --repo       indexed source tree served by POST /code/search, /code/similar, /code/duplicates\n"
               "               (the server holds its index: stop the server before 'semcode index' of it)\n"
               "  --repo-store its index folder (default $SEMCODE_STORE, else PATH/.semcode)\n"
               "  --insecure   allow a non-loopback address without API keys\n"
               "  --port-file  write the bound port to FILE once listening\n"
               "  --log        access log file (JSON lines); default stderr, '-' = stdout\n");
}

int cli_cmd_serve(int argc, char **argv) {
    sc_server_options o = sc_server_options_default();
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            cli__serve_usage(stdout);
            return 0;
        } else if (!strcmp(a, "--insecure")) {
            o.insecure = true;
            continue;
        }
        if (!v) {
            fprintf(stderr, "semcode serve: %s needs a value\n", a);
            return 2;
        }
        if (!strcmp(a, "--host")) o.host = v;
        else if (!strcmp(a, "--store")) o.store_path = v;
        else if (!strcmp(a, "--config")) o.config_path = v;
        else if (!strcmp(a, "--port-file")) o.port_file = v;
        else if (!strcmp(a, "--log")) o.log_path = v;
        else if (!strcmp(a, "--model")) o.model_path = v;
        else if (!strcmp(a, "--repo")) o.repo_path = v;
        else if (!strcmp(a, "--embedding-cache")) o.cache_path = v;
        else if (!strcmp(a, "--repo-store")) o.repo_store = v;
        else if (!strcmp(a, "--port")) {
            char *end = NULL;
            long p = strtol(v, &end, 10);
            if (!*v || *end || p < 0 || p > 65535) {
                fprintf(stderr, "semcode serve: --port must be 0..65535, got '%s'\n", v);
                return 2;
            }
            o.port = (uint16_t)p;
        } else {
            fprintf(stderr, "semcode serve: unknown option '%s'\n", a);
            cli__serve_usage(stderr);
            return 2;
        }
        i++;
    }
    char *err = NULL;
    sc_status rc = sc_server_run(&o, &err);
    if (rc != SC_OK) {
        fprintf(stderr, "semcode serve: %s\n", err ? err : sc_status_str(rc));
        sc_free(err);
        return 1;
    }
    return 0;
}
