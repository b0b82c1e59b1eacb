/*
** cli: subcommands of the semcode executable. Each subcommand is a
** function taking (argc, argv) with argv[0] the command name and returning
** the process exit status: 0 success, 1 failure, 2 bad usage.
*/
#ifndef SC_CLI_H
#define SC_CLI_H

#include <getopt.h>
#include <jansson.h>

#include "semcode/semcode.h"

typedef struct cli_command {
    const char *name;    /* word after "semcode" */
    const char *summary; /* one line for the usage text */
    int (*run)(int argc, char **argv);
} cli_command;

int cli_cmd_version(int argc, char **argv);
int cli_cmd_index(int argc, char **argv);      /* semcode index [PATH] */
int cli_cmd_search(int argc, char **argv);     /* semcode search QUERY */
int cli_cmd_watch(int argc, char **argv);      /* semcode watch [PATH] */
int cli_cmd_similar(int argc, char **argv);    /* semcode similar TARGET */
int cli_cmd_duplicates(int argc, char **argv); /* semcode duplicates */
int cli_cmd_callers(int argc, char **argv);    /* semcode callers TARGET (cmd_calls.c) */
int cli_cmd_callees(int argc, char **argv);    /* semcode callees TARGET (cmd_calls.c) */
int cli_cmd_stats(int argc, char **argv);      /* semcode stats */
int cli_cmd_config(int argc, char **argv);     /* semcode config check */
int cli_cmd_store_demo(int argc, char **argv);
int cli_cmd_load(int argc, char **argv); /* semcode load: bulk upsert from JSON Lines (cmd_load.c) */
int cli_cmd_parse(int argc, char **argv); /* semcode parse PATH: entities and summary */
int cli_cmd_pairs(int argc, char **argv); /* semcode pairs PATH: doc/code training pairs */
int cli_cmd_serve(int argc, char **argv); /* semcode serve: the HTTP server */
int cli_cmd_mcp(int argc, char **argv);   /* semcode mcp: the MCP server over stdio */
int cli_cmd_train(int argc, char **argv); /* semcode train --pairs FILE --out MODEL */
int cli_cmd_eval(int argc, char **argv);  /* semcode eval: BM25 / model / hybrid retrieval quality */
int cli_cmd_embed(int argc, char **argv); /* semcode embed: vectors of input lines */
int cli_cmd_doctor(int argc, char **argv); /* semcode doctor: quality report of stored embeddings */
int cli_cmd_snapshot(int argc, char **argv); /* semcode snapshot create|list|restore */
int cli_cmd_export(int argc, char **argv);   /* semcode export FILE: a portable index file */
int cli_cmd_import(int argc, char **argv);   /* semcode import FILE --store DIR */
/* semcode embed --model DIR (a Hugging Face model directory): called by cli_cmd_embed */
int cli_embed_transformer(int argc, char **argv);

/* Print the human summary of a `semcode stats` JSON object (print_stats.c);
** -1 when the text is not JSON. */
int cli_stats_print(FILE *f, const char *json_text);

/* ==== Option parsing (options.c) ==== */

/* One command's getopt_long parse, with the messages every command gives.
** Use: cli_opts_begin, then cli_opts_next until -1; optarg holds each
** option's value and, after the loop, argv[optind..argc) the positional
** arguments (getopt_long moves them after the options). */
typedef struct cli_opts {
    const char *cmd;               /* command name, for messages */
    int argc;                      /* arguments, argv[0] the command */
    char **argv;                   /* getopt_long permutes them */
    const struct option *longopts; /* long options, ending with a zeroed entry */
    char shortopts[32];            /* short options with ':' added (a missing value is its own case) */
    int index;                     /* the option just returned: its index in longopts, -1 for a short one */
} cli_opts;

/* cli_opts_next's answer after it printed why an argument is refused. */
#define CLI_OPT_BAD (-2)

/* Start parsing argv with getopt_long: resets getopt's state (optind = 0,
** so every parse in a process starts afresh) and silences its messages.
** shortopts as getopt_long's (at most 29 characters), a leading '+'
** (stop at the first positional argument) or '-' (positional arguments
** returned in order as option 1) included. */
void cli_opts_begin(cli_opts *p, const char *cmd, int argc, char **argv, const char *shortopts,
                    const struct option *longopts);
/* The next option as getopt_long returns it, -1 after the last, or
** CLI_OPT_BAD after printing "semcode CMD: unknown option '--x'" (or
** "option '--x' needs a value", "... takes no value", "... is ambiguous")
** and the --help hint. */
int cli_opts_next(cli_opts *p);

/* Print "semcode CMD: " + fmt (one %s: arg) and the --help hint; returns 2. */
int cli_usage_error(const char *cmd, const char *fmt, const char *arg);
/* Parse a number within [lo, hi]: the whole string (NaN is refused) or false. */
bool cli_parse_f(const char *s, float lo, float hi, float *out);
/* The value arg of option name (e.g. "--port") as an integer within [lo,
** hi] / a number within [lo, hi] into *out: 0, or 2 after printing "semcode
** CMD: --port must be an integer from 0 to 65535, got 'x'" (or "a number
** from lo to hi") and the --help hint. */
int cli_opt_u32(const char *cmd, const char *name, const char *arg, uint32_t lo, uint32_t hi, uint32_t *out);
int cli_opt_u64(const char *cmd, const char *name, const char *arg, uint64_t lo, uint64_t hi, uint64_t *out);
int cli_opt_f(const char *cmd, const char *name, const char *arg, float lo, float hi, float *out);
/* The value arg of option name as one of names[0..n): its index into *out:
** 0, or 2 after printing "semcode CMD: --pooling must be idf, learned or
** sides, got 'x'" and the --help hint. */
int cli_opt_enum(const char *cmd, const char *name, const char *arg, const char *const *names, uint32_t n,
                 uint32_t *out);

/* ==== Shared options (provider_opts.c) ==== */

/* The shipped built-in model (sc_model_default_path, looked up once), else
** "models/builtin.scm" (relative: works from the source tree, and otherwise
** names what is missing). Static string. */
const char *cli_default_model(void);

/* The embedding provider options (index, search and the other repository
** commands; embed). */
typedef struct cli_provider_args {
    const char *provider;     /* --provider or $SEMCODE_PROVIDER (NULL = not given) */
    sc_remote_options remote; /* --base-url, --remote-model, ...: fields not given stay NULL / 0 */
    bool remote_given;        /* some remote option was given on the command line */
    bool retries_given;       /* --retries was given (remote.max_retries, 0 included: no retries) */
    bool fallback;            /* --fallback builtin */
} cli_provider_args;

enum {
    CLI_O_PROVIDER = 1500, CLI_O_BASE_URL, CLI_O_REMOTE_MODEL, CLI_O_KEY_ENV, CLI_O_DIMS, CLI_O_SEND_DIMS,
    CLI_O_BATCH, CLI_O_CONC, CLI_O_TIMEOUT, CLI_O_RETRIES, CLI_O_FAMILY, CLI_O_FALLBACK,
};

/* Their getopt_long entries, to put in a command's option table. */
#define CLI_PROVIDER_LONG_OPTIONS                                                                                  \
    {"provider", required_argument, NULL, CLI_O_PROVIDER}, {"base-url", required_argument, NULL, CLI_O_BASE_URL},  \
    {"remote-model", required_argument, NULL, CLI_O_REMOTE_MODEL},                                                 \
    {"api-key-env", required_argument, NULL, CLI_O_KEY_ENV}, {"dimensions", required_argument, NULL, CLI_O_DIMS},  \
    {"send-dimensions", no_argument, NULL, CLI_O_SEND_DIMS}, {"batch-size", required_argument, NULL, CLI_O_BATCH},  \
    {"concurrency", required_argument, NULL, CLI_O_CONC}, {"timeout", required_argument, NULL, CLI_O_TIMEOUT},     \
    {"retries", required_argument, NULL, CLI_O_RETRIES}, {"remote-family", required_argument, NULL, CLI_O_FAMILY}, \
    {"fallback", required_argument, NULL, CLI_O_FALLBACK}

/* Their help lines (after a heading of the command's own). */
#define CLI_PROVIDER_OPTIONS_HELP                                                                                   \
    "  --provider P       builtin (the local model, default) or openai (an OpenAI-compatible\n"                     \
    "                     /v1/embeddings endpoint: OpenAI, Azure OpenAI, Ollama, vLLM, TEI,\n"                     \
    "                     llama.cpp server, semcode serve); env SEMCODE_PROVIDER\n"                                 \
    "  --base-url URL     endpoint root, e.g. https://api.openai.com/v1 (POST URL/embeddings);\n"                  \
    "                     env SEMCODE_BASE_URL\n"                                                                   \
    "  --remote-model M   model name sent with each request; env SEMCODE_REMOTE_MODEL\n"                           \
    "  --api-key-env VAR  read the API key from environment variable VAR (sent as a Bearer\n"                      \
    "                     token; never printed, logged or stored); env SEMCODE_API_KEY_ENV\n"                       \
    "  --dimensions N     dimension of the vectors the model returns (required for a new index\n"                  \
    "                     and for embed)\n"                                                                         \
    "  --send-dimensions  also send \"dimensions\": N (OpenAI text-embedding-3 shortening)\n"                       \
    "  --batch-size N     texts per request (default 64)\n"                                                        \
    "  --concurrency N    requests in flight (default 4)\n"                                                        \
    "  --timeout S        seconds per request (default 30)\n"                                                      \
    "  --retries N        retries of a failed request, with exponential backoff (0 to 100,\n"                    \
    "                     default 5; 0: one try per request, no retries)\n"                                       \
    "  --remote-family F  declared model family (default: the model name), for --fallback\n"                       \
    "  --fallback builtin the built-in model takes over batches the endpoint failed; only when\n"                  \
    "                     dimensions and family match (e.g. --remote-model semcode-builtin)\n"

/* Fill p from SEMCODE_PROVIDER, SEMCODE_BASE_URL, SEMCODE_REMOTE_MODEL and
** SEMCODE_API_KEY_ENV (call before parsing: the command line wins). */
void cli_provider_env(cli_provider_args *p);
/* Take option ch of getopt_long (arg: optarg): 0 when taken, -1 when it is
** not a provider option, 2 after printing a usage error for it. */
int cli_provider_option(const char *cmd, int ch, const char *arg, cli_provider_args *p);
/* After parsing: 0, or 2 after printing why $SEMCODE_PROVIDER is bad. */
int cli_provider_check(const char *cmd, const cli_provider_args *p);
/* The provider the options ask for: the one named, else remote when a
** remote option or --fallback was given, else local when a model file was
** given (model_given), else AUTO (what an index recorded). */
sc_repo_provider cli_provider_choice(const cli_provider_args *p, bool model_given);

/* ==== Repositories and records (cmd_repo.c, cmd_records.c) ==== */

/* Open the index for cmd: of the tree at path when given (index, ingest),
** else of the indexed tree containing the working directory, or the root
** recorded in the store folder (--store, else $SEMCODE_STORE). create lets
** a different model start the index over (only `index`). prov may be NULL
** (what the index recorded). NULL after printing why on stderr. */
sc_repo *cli_repo_open(const char *cmd, const char *store, const char *model, bool cache, uint32_t threads,
                       const cli_provider_args *prov, const char *path, bool create);
/* The flag that SIGINT / SIGTERM set once cli_catch_interrupts is called
** (a second signal exits at once). */
volatile int *cli_cancel_flag(void);
void cli_catch_interrupts(void);

/* ==== Several repositories: --repo and --workspace (repos.c) ==== */

#define CLI_REPOS_MAX 32 /* --repo values of one command */

/* The repositories a command runs on (search, similar, duplicates, history, callers, callees). */
typedef struct cli_repos {
    const char *items[CLI_REPOS_MAX]; /* --repo values: PATH or NAME=PATH, or names with --workspace ("all": all) */
    size_t n;                         /* entries of items */
    const char *workspace;            /* --workspace FILE, NULL = none */
} cli_repos;

enum { CLI_O_REPO = 1700, CLI_O_WORKSPACE };

/* Their getopt_long entries. */
#define CLI_REPOS_LONG_OPTIONS                                                                                      \
    {"repo", required_argument, NULL, CLI_O_REPO}, {"workspace", required_argument, NULL, CLI_O_WORKSPACE}

/* Their help lines. */
#define CLI_REPOS_HELP                                                                                              \
    "several repositories (each result names its repository; text: [name] before it):\n"                          \
    "  --repo PATH       the index of the tree at PATH (repeatable; NAME=PATH names it, else the\n"                \
    "                    folder's name)\n"                                                                        \
    "  --workspace FILE  the repositories listed in FILE ('NAME = PATH' or 'PATH' a line, '#'\n"                  \
    "                    comments); then --repo NAME (repeatable) chooses among them, default all\n"

/* Take option ch (arg: optarg) into r: -1 when ch is not --repo or
** --workspace, 0 when taken, 2 after printing a usage error. */
int cli_repos_option(const char *cmd, cli_repos *r, int ch, const char *arg);
/* Whether --repo or --workspace was given. */
bool cli_repos_given(const cli_repos *r);
/* Open the repositories of r as a workspace (*ws owned, sc_workspace_close)
** and mark those to use in chosen[0..sc_workspace_count). 1 after printing
** why (a missing index, an unknown name), else 0. */
int cli_repos_open(const char *cmd, const cli_repos *r, const char *model, bool cache, sc_workspace **ws,
                   bool chosen[SC_WORKSPACE_MAX_REPOS]);
/* What cli_repos_each calls on each chosen repository: SC_OK, SC_NOTFOUND
** (the target is not in this one: skipped, msg says why) or another status
** (stop; msg says why). */
typedef sc_status (*cli_repo_fn)(void *arg, const char *name, sc_repo *repo, char *msg, size_t msg_size);
/* Open r and call fn on each chosen repository in order. Exit code: 0 when
** one answered SC_OK and none failed, else 1 after printing why ("in no
** repository" when every one answered SC_NOTFOUND). */
int cli_repos_each(const char *cmd, const cli_repos *r, const char *model, bool cache, cli_repo_fn fn, void *arg);
/* Fold the JSON result part (consumed) of repository name into *acc: the
** first becomes *acc; later ones append the items of each array keys[]
** (NULL-terminated) and add their "took_ms" and "unresolved". Every item
** of those arrays gets "repo": name. */
void cli_json_fold(json_t **acc, json_t *part, const char *name, const char *const *keys);
/* Print o (consumed) as compact JSON on stdout ("{}" when NULL). */
void cli_json_put(json_t *o);

int cli_cmd_ingest(int argc, char **argv);  /* semcode ingest git [REPO] */
int cli_cmd_history(int argc, char **argv); /* semcode history TARGET */
/* The options every `ingest` source takes. */
typedef struct cli_ingest_common {
    const char *tenant;         /* --tenant */
    const char *source;         /* --source */
    const char *templates_path; /* --templates */
    const char *store;          /* --store */
    const char *model;          /* --model (NULL: builtin or what the index uses) */
    bool full, cache, json, quiet; /* --full, --cache, --json, -q */
    const char *server;         /* --server URL: submit a job to semcode serve instead (cmd_jobs.c) */
    const char *api_key_env;    /* --api-key-env VAR: the server's API key (default SEMCODE_API_KEY) */
    const char *prefer;         /* --prefer fast|balanced|quality (job provider preference) */
    const char *priority;       /* --priority N (job queue priority) */
    const char *batch;          /* --batch-size N (records per batch of the job) */
    const char *concurrency;    /* --concurrency N (remote requests in flight of the job) */
    bool follow;                /* --follow: follow the submitted job until it ends */
} cli_ingest_common;

enum {
    CLI_O_TENANT = 1600, CLI_O_SOURCE, CLI_O_FULL, CLI_O_TEMPLATES, CLI_O_STORE, CLI_O_MODEL, CLI_O_CACHE, CLI_O_JSON,
    CLI_O_SERVER, CLI_O_JOB_KEY, CLI_O_PREFER, CLI_O_PRIORITY, CLI_O_JOB_BATCH, CLI_O_JOB_CONC, CLI_O_FOLLOW,
};

/* Their getopt_long entries (with -q and -h), to put in an ingest source's option table. */
#define CLI_INGEST_LONG_OPTIONS                                                                                     \
    {"tenant", required_argument, NULL, CLI_O_TENANT}, {"source", required_argument, NULL, CLI_O_SOURCE},          \
    {"full", no_argument, NULL, CLI_O_FULL}, {"templates", required_argument, NULL, CLI_O_TEMPLATES},              \
    {"store", required_argument, NULL, CLI_O_STORE}, {"model", required_argument, NULL, CLI_O_MODEL},              \
    {"cache", no_argument, NULL, CLI_O_CACHE}, {"json", no_argument, NULL, CLI_O_JSON},                            \
    {"quiet", no_argument, NULL, 'q'}, {"help", no_argument, NULL, 'h'},                                            \
    {"server", required_argument, NULL, CLI_O_SERVER}, {"api-key-env", required_argument, NULL, CLI_O_JOB_KEY},    \
    {"prefer", required_argument, NULL, CLI_O_PREFER}, {"priority", required_argument, NULL, CLI_O_PRIORITY},      \
    {"batch-size", required_argument, NULL, CLI_O_JOB_BATCH},                                                      \
    {"concurrency", required_argument, NULL, CLI_O_JOB_CONC}, {"follow", no_argument, NULL, CLI_O_FOLLOW}

/* The help lines of the job options (ingest ... --server URL). */
#define CLI_INGEST_JOB_HELP                                                                                         \
    "submitting to a server (a backfill job of semcode serve; semcode jobs follows it):\n"                          \
    "  --server URL     submit the ingestion to semcode serve at URL as a job instead of running\n"                 \
    "                   it here (JSON Lines are uploaded; git repositories and --from-dir are paths\n"               \
    "                   on the server and need an admin key)\n"                                                     \
    "  --api-key-env VAR  environment variable holding the server's API key (default SEMCODE_API_KEY)\n"            \
    "  --prefer P       embedding provider: fast (built-in model), quality (the server's remote\n"                  \
    "                   model, else built-in), balanced (by job size; default)\n"                                   \
    "  --priority N     queue priority, higher first (default by kind: issues and PRs 30,\n"                        \
    "                   commits and comments 20, other records 10)\n"                                               \
    "  --batch-size N   records per batch (checkpoint) of the job (default 256)\n"                                  \
    "  --concurrency N  remote embedding requests in flight (default 4)\n"                                          \
    "  --follow         follow the job until it ends (progress bar on a terminal)\n"

/* Take option ch (arg: optarg) into c: whether it is one of them (-h is not). */
bool cli_ingest_common_option(int ch, const char *arg, cli_ingest_common *c);

/* Submit an ingestion to c->server as a job (cmd_jobs.c): source is the
** job's source object (owned, consumed); prints the job (and follows it
** with --follow). Exit code: 0, 1 (refused or failed), 2 (bad options). */
int cli_jobs_submit(const cli_ingest_common *c, json_t *source);
/* Whether a job-only option was given without --server: prints why, 2; else 0. */
int cli_jobs_check_local(const cli_ingest_common *c);
int cli_cmd_jobs(int argc, char **argv); /* semcode jobs: list, follow and cancel server jobs */

/* ingest github | jira | jsonl (cmd_ingest.c): argv[0] is the source name. */
int cli_ingest_source(int argc, char **argv);
/* Open the records of tenant in r's store, with r's embedder unless
** read_only (templates: JSON text or NULL). NULL after printing why. */
sc_records *cli_records_open(const char *cmd, sc_repo *r, const char *tenant, const char *templates, bool read_only);
/* The index an ingestion writes to: the root recorded in --store (store),
** else the indexed tree that path (NULL: the working folder) is in, else
** path itself. NULL after printing why. */
sc_repo *cli_ingest_repo(const char *store, const char *model, bool cache, const char *path);
/* The templates file at path as compact JSON text (owned), NULL when path
** is NULL; on a bad file prints why and sets *rc to 1. */
char *cli_read_templates(const char *cmd, const char *path, int *rc);
/* Search the records of r's store (tenant NULL = the global namespace):
** *out owned (sc_rec_hits_free); NULL after printing why on stderr. */
sc_rec_hits *cli_records_search(const char *cmd, sc_repo *r, const char *tenant, const sc_rec_query *q);
/* The human lines of record hits (commits: short sha, date, author, subject,
** score; tracker records: number or key, date, author, title, kind and
** state, url). */
void cli_print_rec_hits(const sc_rec_hits *h, bool color, bool scores);
/* Add "store": {requests, bytes_sent, bytes_received} of the records' Qdrant
** store to an ingest summary o (nothing on the embedded store or o NULL). */
void cli_records_store_json(json_t *o, const sc_records_stats *rs);

#endif /* SC_CLI_H */
