/*
** cli: the semcode executable. A client of include/ only: argument parsing,
** dispatch to subcommands, human and JSON output. The only place that may
** call exit().
*/
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"

/* ==== Subcommand table ==== */

static const cli_command cli__commands[] = {
    {"store-demo", "tour the embedded vector store (upsert, index, search)", cli_cmd_store_demo},
    {"index", "index a source tree (incremental: only what changed)", cli_cmd_index},
    {"search", "search the index by meaning and words", cli_cmd_search},
    {"watch", "keep an index fresh by itself: re-index on file changes (inotify)", cli_cmd_watch},
    {"similar", "entities most similar to one (path:line or qualified name)", cli_cmd_similar},
    {"duplicates", "clusters of near-duplicate code", cli_cmd_duplicates},
    {"callers", "the code that calls a function, method or class (call graph)", cli_cmd_callers},
    {"callees", "what a function or method calls (call graph)", cli_cmd_callees},
    {"stats", "what the index holds, its size and health", cli_cmd_stats},
    {"config", "check a store configuration (config check: local folder or Qdrant)", cli_cmd_config},
    {"ingest", "ingest development records: commits (git), issues and PRs (github, jira), JSON Lines", cli_cmd_ingest},
    {"jobs", "list, follow and cancel the backfill jobs of a semcode server", cli_cmd_jobs},
    {"history", "the commits (and their PRs) that changed an entity, newest first", cli_cmd_history},
    {"parse", "extract entities from source files (JSON Lines with --json)", cli_cmd_parse},
    {"pairs", "write doc-comment/code training pairs as JSON Lines", cli_cmd_pairs},
    {"snapshot", "consistent snapshots of a store's collections: create, list, restore", cli_cmd_snapshot},
    {"export", "write the index to one portable, checksummed file", cli_cmd_export},
    {"import", "make an index folder from an exported file (searchable without the source tree)", cli_cmd_import},
    {"serve", "serve the store over a Qdrant-compatible HTTP API", cli_cmd_serve},
    {"load", "bulk-load points from JSON Lines into a store (graph built in the background)", cli_cmd_load},
    {"mcp", "Model Context Protocol server over stdio for coding agents", cli_cmd_mcp},
    {"train", "train the built-in embedding model on doc/code pairs", cli_cmd_train},
    {"eval", "retrieval quality of BM25, the model and hybrid (CodeSearchNet, CoSQA)", cli_cmd_eval},
    {"embed", "embed lines of text with a model (vectors or --bench)", cli_cmd_embed},
    {"doctor", "check stored embeddings (dimensions, norms, duplicates, neighbours)", cli_cmd_doctor},
    {"version", "print the version", cli_cmd_version},
};

static void cli__usage(FILE *f) {
    fprintf(f,
            "semcode %s: semantic search for source code\n\n"
            "usage: semcode <command> [options]\n\ncommands:\n",
            SC_VERSION_STRING);
    for (size_t i = 0; i < sizeof cli__commands / sizeof cli__commands[0]; i++)
        fprintf(f, "  %-12s %s\n", cli__commands[i].name, cli__commands[i].summary);
    fprintf(f, "\nRun 'semcode <command> --help' for the options of a command. An option's value\n"
               "may follow it (--port 0) or be joined to it (--port=0).\n");
}

int cli_cmd_version(int argc, char **argv) {
    (void)argc;
    (void)argv;
    printf("semcode %s (abi %d)\n", SC_VERSION_STRING, SC_ABI_VERSION);
    return 0;
}

/* The library's messages on the CLI's diagnostic stream (stderr), as the
** CLI's own: "semcode: <msg>"; debug messages only with SEMCODE_DEBUG set. */
static void cli__log(void *payload, sc_log_level level, const char *msg) {
    (void)payload;
    if (level == SC_LOG_LEVEL_DEBUG && !getenv("SEMCODE_DEBUG")) return;
    fprintf(stderr, "semcode: %s%s\n", level == SC_LOG_LEVEL_ERROR ? "error: " : "", msg);
}

int main(int argc, char **argv) {
    sc_log_set_global(&(sc_logger){.payload = NULL, .log = cli__log});
    if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
        cli__usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    if (!strcmp(argv[1], "--version")) return cli_cmd_version(argc - 1, argv + 1);
    for (size_t i = 0; i < sizeof cli__commands / sizeof cli__commands[0]; i++)
        if (!strcmp(argv[1], cli__commands[i].name)) return cli__commands[i].run(argc - 1, argv + 1);
    fprintf(stderr, "semcode: unknown command '%s'\n\n", argv[1]);
    cli__usage(stderr);
    return 2;
}
