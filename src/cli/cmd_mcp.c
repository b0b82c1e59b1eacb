/*
** cli/cmd_mcp.c: `semcode mcp [--repo PATH]`, the Model Context Protocol
** server over stdio for coding agents and editors (sc_mcp_serve_stdio).
** stdout carries the protocol only; messages go to stderr.
*/
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"

static void cli__mcp_usage(FILE *f) {
    fprintf(f, "usage: semcode mcp [--repo PATH] [options]\n\n"
               "Serve the Model Context Protocol over stdio (newline-delimited JSON-RPC 2.0) for\n"
               "coding agents: tools search_code, find_similar, find_duplicates, get_entity,\n"
               "search_history, index_status, reindex (docs/MCP.md). At start an incremental\n"
               "index update runs in the background (a first index is built); calls answer\n"
               "meanwhile, search_code from what is indexed so far, marked partial.\n\n"
               "options:\n"
               "  --repo PATH     the source tree (default: the indexed tree containing the\n"
               "                  working directory; a tree without an index gets one)\n"
               "  --store DIR     its index folder (default $SEMCODE_STORE, else PATH/.semcode)\n"
               "  --model FILE    embedding model (default: the one the index was built with)\n"
               "  --threads N     parse threads of the index runs (default: all cores)\n"
               "  --no-index      no update at start (the reindex tool still starts one)\n"
               "  -h, --help      this help\n\nembedding provider (a new index; else the one the index records):\n" CLI_PROVIDER_OPTIONS_HELP);
}

int cli_cmd_mcp(int argc, char **argv) {
    enum { O_REPO = 1000, O_STORE, O_MODEL, O_THREADS, O_NOINDEX };
    static const struct option opts[] = {
        {"repo", required_argument, NULL, O_REPO},      {"store", required_argument, NULL, O_STORE},
        {"model", required_argument, NULL, O_MODEL},    {"threads", required_argument, NULL, O_THREADS},
        {"no-index", no_argument, NULL, O_NOINDEX},     {"help", no_argument, NULL, 'h'},
        CLI_PROVIDER_LONG_OPTIONS,                      {NULL, 0, NULL, 0},
    };
    const char *repo_path = NULL, *store = NULL, *model = NULL;
    uint32_t threads = 0;
    bool index = true;
    cli_provider_args prov;
    memset(&prov, 0, sizeof prov);
    cli_provider_env(&prov);
    cli_opts p;
    cli_opts_begin(&p, "mcp", argc, argv, "h", opts);
    int ch;
    while ((ch = cli_opts_next(&p)) != -1) {
        switch (ch) {
        case 'h': cli__mcp_usage(stdout); return 0;
        case O_REPO: repo_path = optarg; break;
        case O_STORE: store = optarg; break;
        case O_MODEL: model = optarg; break;
        case O_THREADS:
            if (cli_opt_u32("mcp", "--threads", optarg, 1, 1024, &threads)) return 2;
            break;
        case O_NOINDEX: index = false; break;
        case CLI_OPT_BAD: return 2;
        default: {
            int prc = cli_provider_option("mcp", ch, optarg, &prov);
            if (prc == 0) break;
            if (prc == 2) return 2;
            return cli_usage_error("mcp", "unexpected option%s", "");
        }
        }
    }
    if (optind < argc) return cli_usage_error("mcp", "unexpected argument '%s' (the tree is given with --repo)", argv[optind]);
    if (cli_provider_check("mcp", &prov)) return 2;
    sc_repo *repo = cli_repo_open("mcp", store, model, false, threads, &prov, repo_path, false);
    if (!repo) return 1;
    cli_catch_interrupts();
    sc_mcp_options o = sc_mcp_options_default();
    o.index_at_start = index;
    o.cancel = cli_cancel_flag();
    sc_status rc = sc_mcp_serve_stdio(repo, STDIN_FILENO, stdout, &o);
    sc_repo_close(repo);
    if (rc != SC_OK && rc != SC_INTERRUPTED) {
        fprintf(stderr, "semcode mcp: %s\n", sc_status_str(rc));
        return 1;
    }
    return 0;
}
