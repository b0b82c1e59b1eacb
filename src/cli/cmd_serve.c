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
               "                     [--repo [NAME=]PATH ...] [--workspace FILE] [--watch]\n"
               "                     [--repo-model FILE | --provider openai --base-url URL --remote-model M ...]\n"
               "                     [--port-file FILE] [--log FILE|-] [--grpc-port 6334|off] [--grpc-port-file FILE]\n\n"
               "Serve the store over a Qdrant-compatible REST API, and Qdrant's gRPC API next to it,\n"
               "until SIGINT/SIGTERM.\n"
               "  --host       address to bind (default 127.0.0.1)\n"
               "  --port       TCP port (default 6333; 0 = a free port)\n"
               "  --store      store directory (default ./semcode-store)\n"
               "  --config     JSON config: api_keys [{key, role, tenant}], max_body_bytes, timeout_s, threads, model, repo,\n"
               "               embedding_cache, jobs (backfill jobs: workers, priorities, remote model,\n"
               "               price_per_1k_tokens; docs/API.md). A key with a tenant reads and writes only that\n"
               "               tenant's data on every endpoint (its collections, its records in /code/search, its\n"
               "               jobs, its rows of /metrics); another tenant's gets 403 or nothing\n"
               "  --model      built-in model for text queries and /v1/embeddings (default: the shipped one,\n"
               "               $SEMCODE_MODEL or found next to the semcode executable)\n"
               "  --embedding-cache  SQLite cache of the model's vectors (counted in /metrics)\n"
               "  --repo       indexed source tree served by POST /code/search, /code/similar, /code/duplicates,\n"
               "               /code/history, GET /code/stats and the web page (GET / from a browser, /ui/);\n"
               "               /code/search with \"in\": commits|issues|prs|docs|all searches its records as\n"
               "               'semcode search --in' (author, since, until, state, label)\n"
               "               (the server holds its index: stop the server before 'semcode index' of it)\n"
               "  --repo-store its index folder (default $SEMCODE_STORE, else PATH/.semcode), or the\n"
               "               qdrant://HOST:PORT/COLLECTION its points live in (default: the one it was indexed into)\n"
               "               --repo again adds repositories (NAME defaults to the folder's name): /code/search\n"
               "               searches all of them, or those named by its \"repo\" field, and names the\n"
               "               repository of each result; /code/similar and /code/duplicates use the first\n"
               "  --workspace  a file listing the repositories, one 'NAME = PATH' or 'PATH' a line\n"
               "  --watch      keep each repository's index fresh: re-index on file changes (as 'semcode watch')\n"
               "  --repo-model FILE, or the provider options below: the repositories' embedding model. An index\n"
               "               recorded with another switches to it in the background at start (as 'semcode index\n"
               "               --model'): searches use the old model until every entity has a vector of the new\n"
               "               one, then the new; MCP index_status shows 'switching from A to B: n of m'. MCP\n"
               "               reindex {model: \"configured\"} names this model (also: \"builtin\", a model file)\n"
               "  --insecure   allow a non-loopback address without API keys\n"
               "  --port-file  write the bound port to FILE once listening\n"
               "  --grpc-port  port of Qdrant's gRPC API (services Qdrant, Collections, Points; same keys as\n"
               "               `api-key` metadata, same tenants and store); default 6334, or a free port when\n"
               "               --port is 0; 'off' = no gRPC\n"
               "  --grpc-port-file  write the bound gRPC port to FILE once listening\n"
               "  --log        access log file (JSON lines); default stderr, '-' = stdout\n\n"
               "Backfill jobs (POST /jobs, or semcode ingest ... --server URL) run on a background\n"
               "thread into the records of their tenant; their table is STORE/jobs.db, and a job\n"
               "that was running when the server stopped resumes at the next start.\n\n");
    fputs("Provider options of --repo (the repositories' model; default: the one each index recorded;\n"
          "only as given here: the SEMCODE_* variables named below do not apply to serve):\n"
          CLI_PROVIDER_OPTIONS_HELP, f);
}

int cli_cmd_serve(int argc, char **argv) {
    enum { O_HOST = 1000, O_PORT, O_STORE, O_CONFIG, O_MODEL, O_CACHE, O_REPO, O_REPO_STORE, O_INSECURE, O_PORT_FILE,
           O_LOG, O_WORKSPACE, O_WATCH, O_GRPC_PORT, O_GRPC_PORT_FILE, O_REPO_MODEL };
    static const struct option opts[] = {
        {"host", required_argument, NULL, O_HOST},
        {"port", required_argument, NULL, O_PORT},
        {"store", required_argument, NULL, O_STORE},
        {"config", required_argument, NULL, O_CONFIG},
        {"model", required_argument, NULL, O_MODEL},
        {"embedding-cache", required_argument, NULL, O_CACHE},
        {"repo", required_argument, NULL, O_REPO},
        {"repo-store", required_argument, NULL, O_REPO_STORE},
        {"insecure", no_argument, NULL, O_INSECURE},
        {"port-file", required_argument, NULL, O_PORT_FILE},
        {"log", required_argument, NULL, O_LOG},
        {"workspace", required_argument, NULL, O_WORKSPACE},
        {"watch", no_argument, NULL, O_WATCH},
        {"grpc-port", required_argument, NULL, O_GRPC_PORT},
        {"grpc-port-file", required_argument, NULL, O_GRPC_PORT_FILE},
        {"repo-model", required_argument, NULL, O_REPO_MODEL},
        CLI_PROVIDER_LONG_OPTIONS,
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    sc_server_options o = sc_server_options_default();
    cli_opts p;
    cli_provider_args prov;
    memset(&prov, 0, sizeof prov); /* command line only: SEMCODE_PROVIDER and the like never switch a served index */
    const char *repo_model = NULL;
    const char *repos[SC_WORKSPACE_MAX_REPOS];
    size_t n_repos = 0;
    cli_opts_begin(&p, "serve", argc, argv, "h", opts);
    int ch;
    uint32_t port;
    bool grpc_port_set = false;
    while ((ch = cli_opts_next(&p)) != -1) {
        switch (ch) {
        case O_HOST: o.host = optarg; break;
        case O_PORT:
            if (cli_opt_u32("serve", "--port", optarg, 0, 65535, &port)) return 2;
            o.port = (uint16_t)port;
            break;
        case O_STORE: o.store_path = optarg; break;
        case O_CONFIG: o.config_path = optarg; break;
        case O_MODEL: o.model_path = optarg; break;
        case O_CACHE: o.cache_path = optarg; break;
        case O_REPO:
            if (n_repos == SC_WORKSPACE_MAX_REPOS) return cli_usage_error("serve", "too many --repo (at most 64): '%s'", optarg);
            repos[n_repos++] = optarg;
            break;
        case O_WORKSPACE: o.workspace_path = optarg; break;
        case O_WATCH: o.watch = true; break;
        case O_REPO_STORE: o.repo_store = optarg; break;
        case O_INSECURE: o.insecure = true; break;
        case O_PORT_FILE: o.port_file = optarg; break;
        case O_LOG: o.log_path = optarg; break;
        case O_GRPC_PORT:
            grpc_port_set = true;
            if (!strcmp(optarg, "off")) {
                o.grpc_port = -1;
                break;
            }
            if (cli_opt_u32("serve", "--grpc-port", optarg, 0, 65535, &port)) return 2;
            o.grpc_port = (int32_t)port;
            break;
        case O_GRPC_PORT_FILE: o.grpc_port_file = optarg; break;
        case O_REPO_MODEL: repo_model = optarg; break;
        case 'h': cli__serve_usage(stdout); return 0;
        default: {
            int prc = cli_provider_option("serve", ch, optarg, &prov);
            if (prc == 0) break;
            return 2; /* CLI_OPT_BAD or a bad provider option: said why */
        }
        }
    }
    if (optind < argc) return cli_usage_error("serve", "unexpected argument '%s' (serve takes options only)", argv[optind]);
    if (n_repos == 1 && !strchr(repos[0], '=')) o.repo_path = repos[0];
    else if (n_repos) {
        o.repo_paths = repos;
        o.n_repo_paths = n_repos;
    }
    /* the repositories' model: --repo-model FILE, or the provider options */
    sc_repo_options rm = sc_repo_options_default();
    sc_repo_provider pc = cli_provider_choice(&prov, repo_model != NULL);
    if (pc != SC_REPO_PROVIDER_AUTO) {
        if (!o.repo_path && !n_repos && !o.workspace_path)
            return cli_usage_error("serve", "--repo-model and the provider options need --repo or --workspace%s", "");
        rm.model_path = repo_model;
        rm.provider = pc;
        rm.remote = &prov.remote;
        rm.remote_fallback = prov.fallback;
        rm.remote_retries_given = prov.retries_given;
        o.repo_model = &rm;
    }
    /* a free HTTP port (tests, several servers side by side) takes a free gRPC port too */
    if (o.port == 0 && !grpc_port_set) o.grpc_port = 0;
    char *err = NULL;
    sc_status rc = sc_server_run(&o, &err);
    if (rc != SC_OK) {
        fprintf(stderr, "semcode serve: %s\n", err ? err : sc_status_str(rc));
        sc_free(err);
        return 1;
    }
    return 0;
}
