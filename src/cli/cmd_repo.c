/*
** cli/cmd_repo.c: the everyday commands on an indexed repository:
** `semcode index`, `search`, `similar`, `duplicates` and `stats`.
** Human output on a terminal (colours only there), JSON with --json,
** progress on stderr, exit status 0 success, 1 failure, 2 bad usage.
*/
#include <jansson.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "cli/cli.h"

/* ==== Shared options ==== */

#define CLI_MAX_FILTERS 32

typedef struct cli_repo_args {
    const char *store;      /* --store */
    const char *model;      /* --model */
    bool json;              /* --json */
    bool quiet;             /* --quiet */
    bool cache;             /* --cache */
    uint32_t threads;       /* --threads */
    sc_code_query q;        /* query options */
    const char *langs[CLI_MAX_FILTERS], *kinds[CLI_MAX_FILTERS], *paths[CLI_MAX_FILTERS], *excludes[CLI_MAX_FILTERS];
    const char *in;         /* search --in: code (default), commits, issues, prs, docs or all */
    const char *author, *since, *until, *tenant; /* search: record filters, the records' tenant */
    const char *state, *label; /* search: issue and PR filters */
    float threshold;        /* duplicates --threshold */
    uint32_t min_lines;     /* duplicates --min-lines */
    cli_provider_args prov; /* --provider, --base-url, ... (unset: what the index recorded) */
    cli_repos repos;        /* --repo / --workspace (search, similar, duplicates) */
} cli_repo_args;

/* The help text of the embedding provider options (index, search). */
#define CLI_PROVIDER_HELP                                                                                           \
    "\nembedding provider (recorded by index; search and later runs use the recorded one):\n"                      \
    CLI_PROVIDER_OPTIONS_HELP

static volatile int cli__cancel;

static void cli__on_sigint(int sig) {
    (void)sig;
    if (cli__cancel) _exit(130); /* second Ctrl-C: leave now (the index stays consistent) */
    cli__cancel = 1;
}

sc_repo *cli_repo_open(const char *cmd, const char *store_opt, const char *model, bool cache, uint32_t threads,
                       const cli_provider_args *prov, const char *path, bool create) {
    const char *store = store_opt ? store_opt : getenv("SEMCODE_STORE");
    char *root = NULL;
    /* a qdrant:// store keeps the points there and the state in the tree's folder */
    bool remote = store && (!strncmp(store, "qdrant://", 9) || !strncmp(store, "qdrants://", 10));
    if (path) root = strdup(path);
    else if (store && *store && !remote) root = sc_repo_store_root(store);
    else root = sc_repo_find_root(".");
    /* another machine reading a Qdrant store: its points and records are
    ** there, the working folder only keeps the local state (.semcode) */
    if (!root && remote && !create) root = realpath(".", NULL);
    if (!root) {
        fprintf(stderr, "semcode %s: no index found here or in any parent folder; run 'semcode index PATH' first%s\n",
                cmd, store ? " (or check --store)" : "");
        return NULL;
    }
    sc_repo_options o = sc_repo_options_default();
    o.store_dir = store_opt;
    o.model_path = model;
    o.use_cache = cache;
    o.n_threads = threads;
    o.cancel = &cli__cancel;
    o.allow_rebuild = create; /* only `index` may start an index over */
    if (prov) {
        o.remote = &prov->remote;
        o.remote_fallback = prov->fallback;
        o.remote_retries_given = prov->retries_given;
        sc_repo_provider p = cli_provider_choice(prov, model != NULL);
        if (p != SC_REPO_PROVIDER_AUTO) o.provider = p;
    }
    sc_repo *r = NULL;
    char *err = NULL;
    if (sc_repo_open(root, &o, &r, &err) != SC_OK) {
        fprintf(stderr, "semcode %s: %s\n", cmd, err ? err : "cannot open the index");
        sc_free(err);
        free(root);
        return NULL;
    }
    free(root);
    return r;
}

volatile int *cli_cancel_flag(void) { return &cli__cancel; }

void cli_catch_interrupts(void) {
    signal(SIGINT, cli__on_sigint);
    signal(SIGTERM, cli__on_sigint);
}

/* Open the repository: for `index` the given path, otherwise the indexed
** tree containing the working directory (or the root recorded in --store). */
static sc_repo *cli__open(const char *cmd, const cli_repo_args *a, const char *path, bool create) {
    return cli_repo_open(cmd, a->store, a->model, a->cache, a->threads, &a->prov, path, create);
}

/* Common options of search, similar, duplicates and stats. Returns -1 when
** parsing should go on with the positional arguments, else an exit code. */
static int cli__parse_opts(const char *cmd, int argc, char **argv, cli_repo_args *a, void (*usage)(FILE *)) {
    enum { O_STORE = 1000, O_MODEL, O_JSON, O_MODE, O_ALPHA, O_LANG, O_KIND, O_PATH, O_EXCLUDE, O_LIMIT, O_MIN,
           O_QUIET, O_NOCACHE, O_THREADS, O_THRESH, O_MINLINES, O_EXPLAIN, O_FILES, O_IN, O_AUTHOR, O_SINCE, O_UNTIL,
           O_TENANT, O_STATE, O_LABEL };
    static const struct option opts[] = {
        {"store", required_argument, NULL, O_STORE},     {"model", required_argument, NULL, O_MODEL},
        {"json", no_argument, NULL, O_JSON},             {"mode", required_argument, NULL, O_MODE},
        {"alpha", required_argument, NULL, O_ALPHA},     {"lang", required_argument, NULL, O_LANG},
        {"kind", required_argument, NULL, O_KIND},       {"path", required_argument, NULL, O_PATH},
        {"exclude", required_argument, NULL, O_EXCLUDE}, {"limit", required_argument, NULL, O_LIMIT},
        {"min-score", required_argument, NULL, O_MIN},   {"quiet", no_argument, NULL, O_QUIET},
        {"cache", no_argument, NULL, O_NOCACHE},      {"threads", required_argument, NULL, O_THREADS},
        {"threshold", required_argument, NULL, O_THRESH},{"min-lines", required_argument, NULL, O_MINLINES},
        {"explain", no_argument, NULL, O_EXPLAIN},       {"files", no_argument, NULL, O_FILES},
        {"in", required_argument, NULL, O_IN},           {"author", required_argument, NULL, O_AUTHOR},
        {"since", required_argument, NULL, O_SINCE},     {"until", required_argument, NULL, O_UNTIL},
        {"tenant", required_argument, NULL, O_TENANT},   {"state", required_argument, NULL, O_STATE},
        {"label", required_argument, NULL, O_LABEL},
        CLI_REPOS_LONG_OPTIONS,
        CLI_PROVIDER_LONG_OPTIONS,
        {"help", no_argument, NULL, 'h'},                {NULL, 0, NULL, 0},
    };
    cli_provider_env(&a->prov); /* environment defaults (the command line wins) */
    cli_opts p;
    cli_opts_begin(&p, cmd, argc, argv, "hqn:", opts);
    int ch;
    while ((ch = cli_opts_next(&p)) != -1) {
        switch (ch) {
        case O_STORE: a->store = optarg; break;
        case O_MODEL:
            a->model = strcmp(optarg, "builtin") ? optarg : cli_default_model();
            break;
        case O_JSON: a->json = true; break;
        case O_QUIET:
        case 'q': a->quiet = true; break;
        case O_NOCACHE: a->cache = true; break;
        case O_EXPLAIN: a->q.explain = true; break;
        case O_IN:
        case O_AUTHOR:
        case O_SINCE:
        case O_UNTIL:
        case O_TENANT:
        case O_STATE:
        case O_LABEL:
            if (strcmp(cmd, "search")) return cli_usage_error(cmd, "unknown or incomplete option '%s'", argv[optind - 1]);
            sc_rec_query probe = {0};
            sc_rec_kind probe_kinds[SC_REC_SECTION_MAX_KINDS];
            if (ch == O_IN && strcmp(optarg, "code") && strcmp(optarg, "all") &&
                sc_rec_query_set_section(&probe, optarg, probe_kinds) != SC_OK)
                return cli_usage_error(cmd, "--in must be code, commits, issues, prs, docs or all, got '%s'", optarg);
            *(ch == O_IN       ? &a->in
              : ch == O_AUTHOR ? &a->author
              : ch == O_SINCE  ? &a->since
              : ch == O_UNTIL  ? &a->until
              : ch == O_STATE  ? &a->state
              : ch == O_LABEL  ? &a->label
                               : &a->tenant) = optarg;
            break;
        case CLI_O_REPO:
        case CLI_O_WORKSPACE:
            if (!strcmp(cmd, "stats") || !strcmp(cmd, "index"))
                return cli_usage_error(cmd, "'%s' is not an option of this command (one index: --store)",
                                       ch == CLI_O_REPO ? "--repo" : "--workspace");
            if (cli_repos_option(cmd, &a->repos, ch, optarg)) return 2;
            break;
        case O_FILES: a->q.files = true; break;
        case O_MODE:
            if (!strcmp(optarg, "hybrid")) a->q.mode = SC_SEARCH_MODE_HYBRID;
            else if (!strcmp(optarg, "dense")) a->q.mode = SC_SEARCH_MODE_DENSE;
            else if (!strcmp(optarg, "keyword")) a->q.mode = SC_SEARCH_MODE_KEYWORD;
            else return cli_usage_error(cmd, "--mode must be dense, keyword or hybrid, got '%s'", optarg);
            break;
        case O_ALPHA:
            if (!cli_parse_f(optarg, 0.0f, 1.0f, &a->q.alpha))
                return cli_usage_error(cmd, "--alpha must be a number within [0, 1], got '%s'", optarg);
            break;
        case O_LANG:
        case O_KIND:
        case O_PATH:
        case O_EXCLUDE: {
            size_t *n = ch == O_LANG ? &a->q.n_langs : ch == O_KIND ? &a->q.n_kinds : ch == O_PATH ? &a->q.n_paths : &a->q.n_excludes;
            const char **v = ch == O_LANG ? a->langs : ch == O_KIND ? a->kinds : ch == O_PATH ? a->paths : a->excludes;
            if (*n == CLI_MAX_FILTERS) return cli_usage_error(cmd, "too many filters of one kind (at most 32): '%s'", optarg);
            /* comma-separated lists are accepted too */
            char *dup = strdup(optarg), *save = NULL;
            for (char *t = strtok_r(dup, ",", &save); t && *n < CLI_MAX_FILTERS; t = strtok_r(NULL, ",", &save))
                v[(*n)++] = strdup(t);
            free(dup);
            break;
        }
        case 'n':
        case O_LIMIT:
            if (cli_opt_u32(cmd, "--limit", optarg, 1, 10000, &a->q.limit)) return 2;
            break;
        case O_MIN:
            if (!cli_parse_f(optarg, -1000.0f, 1000.0f, &a->q.min_score))
                return cli_usage_error(cmd, "--min-score must be a number, got '%s'", optarg);
            break;
        case O_THREADS:
            if (cli_opt_u32(cmd, "--threads", optarg, 1, 64, &a->threads)) return 2;
            break;
        case O_THRESH:
            if (!cli_parse_f(optarg, 0.01f, 1.0f, &a->threshold))
                return cli_usage_error(cmd, "--threshold must be a number within (0, 1], got '%s'", optarg);
            break;
        case O_MINLINES:
            if (cli_opt_u32(cmd, "--min-lines", optarg, 1, 100000, &a->min_lines)) return 2;
            break;
        case 'h': usage(stdout); return 0;
        case CLI_OPT_BAD: return 2;
        default: {
            int prc = cli_provider_option(cmd, ch, optarg, &a->prov);
            if (prc >= 0) {
                if (prc) return prc;
                break;
            }
            return cli_usage_error(cmd, "option '--%s' is not handled here", opts[p.index].name);
        }
        }
    }
    int prc = cli_provider_check(cmd, &a->prov);
    if (prc) return prc;
    a->q.langs = a->langs;
    a->q.kinds = a->kinds;
    a->q.paths = a->paths;
    a->q.excludes = a->excludes;
    return -1;
}

static void cli__free_args(cli_repo_args *a) {
    for (size_t i = 0; i < a->q.n_langs; i++) free((char *)a->langs[i]);
    for (size_t i = 0; i < a->q.n_kinds; i++) free((char *)a->kinds[i]);
    for (size_t i = 0; i < a->q.n_paths; i++) free((char *)a->paths[i]);
    for (size_t i = 0; i < a->q.n_excludes; i++) free((char *)a->excludes[i]);
}

/* ==== index ==== */

typedef struct cli_progress {
    bool tty;        /* draw a bar */
    double last;     /* last output time */
} cli_progress;

static void cli__progress(void *arg, const sc_repo_progress *p) {
    cli_progress *cp = arg;
    bool done = !strcmp(p->stage, "done");
    if (!done && p->seconds - cp->last < (cp->tty ? 0.1 : 2.0)) return;
    cp->last = p->seconds;
    double rate = p->seconds > 0 ? (double)p->embedded / p->seconds : 0;
    if (cp->tty && !strcmp(p->stage, "switch")) { /* a model switch: entities given the new model's vector */
        double frac = p->entities ? (double)p->embedded / (double)p->entities : 0;
        int w = 30, fill = (int)(frac * w);
        fprintf(stderr, "\r\033[K[%.*s%*s] %3.0f%% switching model: entities %llu/%llu, files %llu/%llu",
                fill, "##############################", w - fill, "", frac * 100, (unsigned long long)p->embedded,
                (unsigned long long)p->entities, (unsigned long long)p->files_done,
                (unsigned long long)p->files_total);
    } else if (cp->tty) {
        double frac = p->files_total ? (double)p->files_done / (double)p->files_total : 0;
        int w = 30, fill = (int)(frac * w);
        double eta = frac > 0.01 ? p->seconds / frac - p->seconds : 0;
        fprintf(stderr, "\r\033[K[%.*s%*s] %3.0f%% files %llu/%llu  entities %llu  %.0f emb/s  cache %llu  ETA %.0fs",
                fill, "##############################", w - fill, "", frac * 100, (unsigned long long)p->files_done,
                (unsigned long long)p->files_total, (unsigned long long)p->entities, rate,
                (unsigned long long)p->cache_hits, eta);
        if (done) fputc('\n', stderr);
    } else {
        fprintf(stderr, "semcode index: %s: files %llu/%llu, changed %llu, entities %llu, embedded %llu (%.0f/s), cache hits %llu, %.1fs\n",
                p->stage, (unsigned long long)p->files_done, (unsigned long long)p->files_total,
                (unsigned long long)p->files_changed, (unsigned long long)p->entities,
                (unsigned long long)p->embedded, rate, (unsigned long long)p->cache_hits, p->seconds);
    }
    fflush(stderr);
}

static void cli__index_usage(FILE *f) {
    fprintf(f,
            "usage: semcode index [PATH] [options]\n\n"
            "Index the source tree at PATH (default: the current folder): parse it into\n"
            "functions, classes and chunks, embed them with the built-in model and store\n"
            "them with BM25 terms. Runs again only look at what changed.\n"
            "Files git ignores are left out (.gitignore at every level, .git/info/exclude,\n"
            "core.excludesFile; also outside a git repository), then .semcodeignore files\n"
            "(same syntax, in any folder) exclude more or re-include with '!'.\n\n"
            "options:\n"
            "  --store DIR     where the index lives (default $SEMCODE_STORE, else PATH/.semcode); or\n"
            "                  qdrant://HOST:PORT/COLLECTION[?tls=true&ca=FILE&api_key_env=VAR&timeout_ms=N&\n"
            "                  retries=N&connections=N&batch=N&shards=N&replicas=N&write_consistency=N]\n"
            "                  (qdrants:// for TLS): the points go to that Qdrant collection, the state stays\n"
            "                  in PATH/.semcode and later commands in the tree use the same store.\n"
            "                  $SEMCODE_CONFIG names a JSON configuration file ({\"store\": {...}}).\n"
            "  --model FILE    embedding model file, or builtin for the shipped one (default: the model\n"
            "                  the index records; the built-in one for a new index). On an index of\n"
            "                  another model (or dimension) this switches it: every entity is embedded\n"
            "                  again as a new generation beside the old one, searches keep using the old\n"
            "                  model until all are done, then the index swaps in one step and drops the\n"
            "                  old vectors. An interrupted switch resumes with the next 'semcode index';\n"
            "                  --model of the current model cancels it. 'semcode stats' shows progress.\n"
            "  --threads N     parser threads (default: all cores)\n"
            "  --cache         also keep vectors in the embedding cache (cache.db); without it,\n"
            "                  vectors of unchanged entities are reused from the index itself\n"
            "  --json          print the summary as one JSON object\n"
            "  -q, --quiet     no progress output\n" CLI_PROVIDER_HELP
            "\nexample: OPENAI_API_KEY=... semcode index --provider openai --base-url https://api.openai.com/v1 \\\n"
            "           --remote-model text-embedding-3-small --dimensions 1536 --api-key-env OPENAI_API_KEY\n");
}

int cli_cmd_index(int argc, char **argv) {
    cli_repo_args a;
    memset(&a, 0, sizeof a);
    int rc = cli__parse_opts("index", argc, argv, &a, cli__index_usage);
    if (rc >= 0) return rc;
    if (argc - optind > 1) return cli_usage_error("index", "expected one PATH, got also '%s'", argv[optind + 1]);
    const char *path = optind < argc ? argv[optind] : ".";
    sc_repo *r = cli__open("index", &a, path, true);
    if (!r) return 1;
    cli_progress cp = {isatty(2) != 0, -1e9};
    cli_catch_interrupts();
    sc_repo_summary s;
    sc_status st;
    if (!a.quiet && !a.json) sc_repo_set_progress(r, cli__progress, &cp);
    st = sc_repo_update(r, &s);
    int exit_code = st == SC_OK ? 0 : 1;
    if (st != SC_OK) fprintf(stderr, "semcode index: %s\n", sc_repo_errmsg(r));
    if (a.json) {
        json_t *skipped = json_object();
        for (int i = 1; i < SC_SKIP_COUNT && i < 16; i++)
            if (s.skipped_by_reason[i])
                json_object_set_new(skipped, sc_skip_reason_name((sc_skip_reason)i), json_integer((json_int_t)s.skipped_by_reason[i]));
        json_t *o = json_pack(
            "{s:s, s:b, s:{s:I, s:I, s:I, s:I, s:I, s:o}, s:{s:I, s:I, s:I, s:I}, s:{s:I, s:I, s:I},"
            " s:{s:f, s:f, s:f, s:f, s:f}}",
            "root", sc_repo_root(r), "ok", st == SC_OK, "files", "seen", (json_int_t)s.files_seen, "parsed",
            (json_int_t)s.files_parsed, "unchanged", (json_int_t)s.files_unchanged, "deleted", (json_int_t)s.files_deleted,
            "failed", (json_int_t)s.files_failed, "skipped", skipped, "entities", "added", (json_int_t)s.entities_added,
            "updated", (json_int_t)s.entities_updated, "removed", (json_int_t)s.entities_removed, "unchanged",
            (json_int_t)s.entities_unchanged, "embeddings", "cached", (json_int_t)s.embeddings_cached, "new",
            (json_int_t)s.embeddings_new, "failed", (json_int_t)s.embeddings_failed, "seconds", "walk", s.seconds_walk,
            "parse", s.seconds_parse, "embed", s.seconds_embed, "store", s.seconds_store, "total", s.seconds_total);
        if (s.switched || s.switch_pending || s.switch_embedded)
            json_object_set_new(o, "switch", json_pack("{s:b, s:I, s:I}", "switched", s.switched, "embedded",
                                                       (json_int_t)s.switch_embedded, "pending",
                                                       (json_int_t)s.switch_pending));
        char *txt = json_dumps(o, JSON_INDENT(2));
        puts(txt);
        free(txt);
        json_decref(o);
    } else if (!a.quiet) {
        printf("indexed %s in %.2fs: %llu files (%llu parsed, %llu unchanged, %llu deleted, %llu failed), "
               "entities +%llu ~%llu -%llu, embeddings %llu new, %llu cached\n",
               sc_repo_root(r), s.seconds_total, (unsigned long long)s.files_seen, (unsigned long long)s.files_parsed,
               (unsigned long long)s.files_unchanged, (unsigned long long)s.files_deleted,
               (unsigned long long)s.files_failed, (unsigned long long)s.entities_added,
               (unsigned long long)s.entities_updated, (unsigned long long)s.entities_removed,
               (unsigned long long)s.embeddings_new, (unsigned long long)s.embeddings_cached);
        if (s.switched)
            printf("switched models: %llu entities embedded with the new model; searches now use it and the old "
                   "vectors are dropped\n", (unsigned long long)s.switch_embedded);
        else if (s.switch_pending)
            printf("model switch: %llu entities embedded, %llu to go; searches use the old model until "
                   "'semcode index' completes it\n",
                   (unsigned long long)s.switch_embedded, (unsigned long long)s.switch_pending);
    }
    sc_repo_close(r);
    cli__free_args(&a);
    return exit_code;
}

/* ==== Result printing ==== */

/* Print line with the query's words highlighted (case-insensitive). */
static void cli__highlight(const char *line, const char *query, bool color) {
    if (!color || !query) {
        fputs(line, stdout);
        return;
    }
    const char *p = line;
    while (*p) {
        size_t best = 0;
        const char *q = query;
        while (*q) {
            while (*q && !((*q >= 'a' && *q <= 'z') || (*q >= 'A' && *q <= 'Z') || (*q >= '0' && *q <= '9') || *q == '_')) q++;
            const char *s = q;
            while (*q && ((*q >= 'a' && *q <= 'z') || (*q >= 'A' && *q <= 'Z') || (*q >= '0' && *q <= '9') || *q == '_')) q++;
            size_t n = (size_t)(q - s);
            if (n >= 3 && !strncasecmp(p, s, n) && n > best) best = n;
        }
        if (best) {
            printf("\033[1;33m%.*s\033[0m", (int)best, p);
            p += best;
        } else {
            fputc(*p++, stdout);
        }
    }
}

/* --explain: the features of a result that moved its score, largest first. */
static void cli__print_explain(const sc_code_hit *x) {
    if (x->n_features != sc_rank_n_features()) return;
    double c[SC_RANK_MAX_FEATURES];
    double base = sc_rank_explain(x->features, c);
    uint32_t idx[SC_RANK_MAX_FEATURES], n = 0;
    for (uint32_t j = 0; j < x->n_features && j < SC_RANK_MAX_FEATURES; j++)
        if (fabs(c[j]) >= 5e-4) idx[n++] = j;
    for (uint32_t i = 1; i < n; i++) /* insertion sort by |contribution| */
        for (uint32_t k = i; k > 0 && fabs(c[idx[k]]) > fabs(c[idx[k - 1]]); k--) {
            uint32_t t = idx[k];
            idx[k] = idx[k - 1];
            idx[k - 1] = t;
        }
    printf("    explain: base %+.3f", base);
    for (uint32_t i = 0; i < n; i++)
        printf(", %s=%.3g (%+.3f)", sc_rank_feature_name(idx[i]), (double)x->features[idx[i]], c[idx[i]]);
    printf("\n");
}

static void cli__print_hits(const sc_code_hits *h, const char *query, bool color, bool files) {
    for (size_t i = 0; i < h->n; i++) {
        const sc_code_hit *x = &h->items[i];
        if (files) {
            printf(color ? "\033[1;36m%s\033[0m  %u matching  best: %s:%u-%u %s  %.4f\n" : "%s  %u matching  best: %s:%u-%u %s  %.4f\n",
                   x->path, x->n_entities, x->path, x->start_line, x->end_line, x->qualified_name, (double)x->score);
            if (x->n_features) cli__print_explain(x);
            continue;
        }
        if (x->repo) printf(color ? "\033[35m[%s]\033[0m " : "[%s] ", x->repo);
        if (color)
            printf("\033[1;36m%s:%u-%u\033[0m  \033[32m%s\033[0m  \033[1m%s\033[0m  %.4f\n", x->path, x->start_line,
                   x->end_line, x->kind, x->qualified_name, (double)x->score);
        else
            printf("%s:%u-%u  %s  %s  %.4f\n", x->path, x->start_line, x->end_line, x->kind, x->qualified_name,
                   (double)x->score);
        if (x->n_features) cli__print_explain(x);
        char *dup = strdup(x->snippet ? x->snippet : ""), *save = NULL;
        int k = 0;
        for (char *line = strtok_r(dup, "\n", &save); line && k < 4; line = strtok_r(NULL, "\n", &save), k++) {
            fputs("    ", stdout);
            cli__highlight(line, query, color);
            fputc('\n', stdout);
        }
        free(dup);
        fputc('\n', stdout);
    }
}

static void cli__emit(const cli_repo_args *a, const char *label, const char *query, const sc_code_hits *h) {
    if (a->json) {
        char *txt = sc_code_hits_json(h, label, query, a->q.mode);
        puts(txt ? txt : "{}");
        sc_free(txt);
    } else {
        if (h->n == 0) printf("no results\n");
        else if (h->low_confidence)
            printf("no confident match (confidence %.2f): the closest %s follow, they may not answer the query\n\n",
                   h->confidence, a->q.files ? "files" : "entities");
        cli__print_hits(h, query, isatty(1) != 0, a->q.files);
    }
}

/* ==== search / similar ==== */

static void cli__search_usage(FILE *f) {
    fprintf(f,
            "usage: semcode search QUERY [options]\n\n"
            "Search the index of the tree you are in by meaning and by words.\n\n"
            "options:\n"
            "  --mode M          hybrid (default: dense + BM25 candidates re-ranked by the learned code-aware\n"
            "                    ranking stage), dense (meaning only), keyword (BM25 only)\n"
            "  --files           rank files instead of entities (\"where is request routing handled\")\n"
            "  --explain         show each result's ranking features and their contributions (hybrid)\n"
            "  --alpha A         weighted fusion alpha*dense + (1-alpha)*keyword instead of the ranking stage\n"
            "  --lang L          only this language (repeatable, or a,b)\n"
            "  --kind K          only this kind: function, method, class, struct, ... (repeatable)\n"
            "  --path GLOB       only files matching GLOB (repeatable), e.g. 'src/**'\n"
            "  --exclude GLOB    not files matching GLOB (repeatable)\n"
            "  -n, --limit N     results (default 10)\n"
            "  --min-score S     drop results scoring below S\n"
            "  --json            one JSON object: {query, mode, took_ms, [confidence, low_confidence], results: [...]}\n"
            "When no result of a hybrid search reaches the calibrated confidence threshold, search says so\n"
            "(text: a line before the results; JSON: low_confidence true) instead of presenting them as matches.\n"
            "  --store DIR|URL   the index in DIR or the points in qdrant://HOST:PORT/COLL (default: found\n"
            "                    from the working folder; on Qdrant hybrid is fused by the server, RRF)\n"
            "\ndevelopment records (semcode ingest git | github | jira | jsonl):\n"
            "  --in WHERE        code (default); commits; issues (issues and their comments); prs (pull\n"
            "                    requests, their reviews and comments); docs (other records); or all (each\n"
            "                    of them, ranked on its own: their scores do not compare). Records rank by\n"
            "                    dense + BM25 fused by RRF\n"
            "  --author A        records whose author name or email contains A (case-sensitive)\n"
            "  --since DATE      records dated on or after DATE (YYYY-MM-DD or RFC 3339); --until DATE: on\n"
            "                    or before\n"
            "  --state S         issues and PRs in state S (open, closed, merged; Jira: the status in lower\n"
            "                    case, e.g. 'in progress')\n"
            "  --label L         issues and PRs labelled L\n"
            "  --tenant T        the tenant the records were ingested for\n"
            "  JSON of --in commits|issues|prs|docs: {query, mode, took_ms, results: [{rank, score, kind,\n"
            "  source, id, title, author, date, [state], [url], [number|key], [sha, subject], record}]};\n"
            "  of --in all: {query, code: {...}, commits: {...}, issues: {...}, prs: {...}, docs: {...}}\n"
            CLI_PROVIDER_HELP);
    fputs("\n" CLI_REPOS_HELP "  (search ranks the results of all of them as one list: docs/ARCHITECTURE.md)\n", f);
}

/* The record sections of search --in, in output order (sc_rec_sections). */
#define CLI_N_SECTIONS 4

/* Print the record results of one section of a search (text or JSON). */
static void cli__emit_records(const cli_repo_args *a, const char *query, const char *section, const sc_rec_hits *rh) {
    if (a->json) {
        char *txt = sc_rec_hits_json(rh, "query", query, sc_search_mode_name(a->q.mode));
        puts(txt ? txt : "{}");
        sc_free(txt);
        return;
    }
    if (!rh->n) printf("no %s found\n", !strcmp(section, "prs") ? "pull requests" : section);
    cli_print_rec_hits(rh, isatty(1) != 0, true);
}

/* search --repo / --workspace: open the repositories as a workspace
** (--repo values are paths, NAME=PATH, or with --workspace names to
** search), search them as one ranking and print. Returns the exit status. */
static int cli__search_multi(cli_repo_args *a, const char *query) {
    sc_workspace *ws = NULL;
    bool chosen[SC_WORKSPACE_MAX_REPOS] = {false};
    if (cli_repos_open("search", &a->repos, a->model, a->cache, &ws, chosen)) return 1;
    const char *names[SC_WORKSPACE_MAX_REPOS];
    size_t n_names = 0;
    for (size_t i = 0; i < sc_workspace_count(ws); i++)
        if (chosen[i]) names[n_names++] = sc_workspace_name(ws, i);
    a->q.text = query;
    sc_code_hits *h = NULL;
    char *err = NULL;
    int exit_code = 0;
    sc_status rc = sc_workspace_search(ws, names, n_names == sc_workspace_count(ws) ? 0 : n_names, &a->q, &h, &err);
    if (rc != SC_OK) {
        fprintf(stderr, "semcode search: %s\n", err ? err : sc_status_str(rc));
        exit_code = 1;
    } else {
        cli__emit(a, "query", query, h);
    }
    sc_free(err);
    sc_code_hits_free(h);
    sc_workspace_close(ws);
    return exit_code;
}

int cli_cmd_search(int argc, char **argv) {
    cli_repo_args a;
    memset(&a, 0, sizeof a);
    int rc = cli__parse_opts("search", argc, argv, &a, cli__search_usage);
    if (rc >= 0) return rc;
    if (optind >= argc) return cli_usage_error("search", "%s", "a QUERY is required");
    bool all = a.in && !strcmp(a.in, "all"), code = !a.in || all || !strcmp(a.in, "code");
    bool records = a.in && strcmp(a.in, "code");
    if (!records && (a.author || a.since || a.until || a.tenant || a.state || a.label))
        return cli_usage_error("search", "%s", "--author, --since, --until, --state, --label and --tenant apply to "
                                               "records: add --in commits, issues, prs, docs or all");
    if (!code && (a.q.n_langs || a.q.n_kinds || a.q.n_paths || a.q.n_excludes || a.q.files || a.q.explain || a.q.alpha > 0))
        return cli_usage_error("search", "%s", "--lang, --kind, --path, --exclude, --files, --explain and --alpha apply to code: use --in code or --in all");
    /* The words after the options form the query. */
    size_t len = 0;
    for (int i = optind; i < argc; i++) len += strlen(argv[i]) + 1;
    char *query = calloc(1, len + 1);
    for (int i = optind; i < argc; i++) {
        if (i > optind) strcat(query, " ");
        strcat(query, argv[i]);
    }
    if (cli_repos_given(&a.repos)) {
        int multi_rc = records ? cli_usage_error("search", "%s", "--repo and --workspace search code; --in records "
                                                                  "search the index found from the working folder")
                               : cli__search_multi(&a, query);
        free(query);
        cli__free_args(&a);
        return multi_rc;
    }
    sc_repo *r = cli__open("search", &a, NULL, false);
    if (!r) {
        free(query);
        cli__free_args(&a);
        return 1;
    }
    a.q.text = query;
    sc_code_hits *h = NULL;
    sc_rec_hits *rh[CLI_N_SECTIONS] = {NULL};
    int exit_code = 0;
    size_t n_sections;
    const char *const *sections = sc_rec_sections(&n_sections);
    if (n_sections > CLI_N_SECTIONS) n_sections = CLI_N_SECTIONS;
    if (code && sc_repo_search(r, &a.q, &h) != SC_OK) {
        fprintf(stderr, "semcode search: %s\n", sc_repo_errmsg(r));
        exit_code = 1;
    }
    for (size_t k = 0; exit_code == 0 && records && k < n_sections; k++) {
        if (!all && strcmp(a.in, sections[k])) continue;
        sc_rec_kind kinds[SC_REC_SECTION_MAX_KINDS];
        sc_rec_query rq = {.text = query, .mode = a.q.mode, .limit = a.q.limit, .author = a.author, .since = a.since,
                           .until = a.until, .state = a.state, .label = a.label};
        sc_rec_query_set_section(&rq, sections[k], kinds);
        if (!(rh[k] = cli_records_search("search", r, a.tenant, &rq))) exit_code = 1;
    }
    if (exit_code == 0 && all && a.json) {
        char *ct = sc_code_hits_json(h, "query", query, a.q.mode);
        char *txt = ct ? sc_rec_search_all_json(query, ct, rh, sc_search_mode_name(a.q.mode)) : NULL;
        puts(txt ? txt : "{}");
        sc_free(txt);
        sc_free(ct);
    } else if (exit_code == 0) {
        if (all) printf("code:\n");
        if (code) cli__emit(&a, "query", query, h);
        for (int k = 0; k < CLI_N_SECTIONS; k++) {
            if (!rh[k]) continue;
            if (all) printf("\n%s:\n", sections[k]);
            cli__emit_records(&a, query, sections[k], rh[k]);
        }
    }
    for (int k = 0; k < CLI_N_SECTIONS; k++) sc_rec_hits_free(rh[k]);
    sc_code_hits_free(h);
    sc_repo_close(r);
    free(query);
    cli__free_args(&a);
    return exit_code;
}

static void cli__similar_usage(FILE *f) {
    fprintf(f,
            "usage: semcode similar TARGET [options]\n\n"
            "List the entities most similar to TARGET, itself excluded. TARGET is\n"
            "path:line (the innermost function or class at that line) or a qualified\n"
            "name as search prints it (e.g. Session.request).\n\n"
            "options: --lang, --kind, --path, --exclude, --limit, --min-score, --json, --store (as for search)\n\n"
            CLI_REPOS_HELP
            "  (TARGET is looked up in each repository; the neighbours of each one found merge by score)\n");
}

/* similar over several repositories: what each repository found (cli_repos_each). */
typedef struct cli_similar_multi {
    cli_repo_args *a;                               /* options */
    const char *target;                             /* TARGET */
    sc_code_hits *lists[SC_WORKSPACE_MAX_REPOS];    /* each repository's neighbours (owned) */
    char *names[SC_WORKSPACE_MAX_REPOS];            /* their repositories (owned copies) */
    size_t n;                                       /* entries of lists */
} cli_similar_multi;

static sc_status cli__similar_one(void *arg, const char *name, sc_repo *repo, char *msg, size_t msg_size) {
    cli_similar_multi *m = arg;
    sc_code_hits *h = NULL;
    sc_status rc = sc_repo_similar(repo, m->target, &m->a->q, &h);
    if (rc != SC_OK) {
        snprintf(msg, msg_size, "%s", sc_repo_errmsg(repo));
        return rc;
    }
    m->lists[m->n] = h;
    m->names[m->n++] = strdup(name); /* the workspace is closed before the merge */
    return SC_OK;
}

/* similar --repo / --workspace: the exit status. */
static int cli__similar_multi(cli_repo_args *a, const char *target) {
    cli_similar_multi m = {.a = a, .target = target};
    int exit_code = cli_repos_each("similar", &a->repos, a->model, a->cache, cli__similar_one, &m);
    sc_code_hits *h = NULL;
    if (!exit_code && sc_code_hits_merge(m.lists, (const char *const *)m.names, m.n, true, a->q.limit, &h) != SC_OK) {
        fprintf(stderr, "semcode similar: out of memory\n");
        exit_code = 1;
    }
    if (!exit_code) cli__emit(a, "target", target, h);
    sc_code_hits_free(h);
    for (size_t i = 0; i < m.n; i++) sc_code_hits_free(m.lists[i]), free(m.names[i]);
    return exit_code;
}

int cli_cmd_similar(int argc, char **argv) {
    cli_repo_args a;
    memset(&a, 0, sizeof a);
    int rc = cli__parse_opts("similar", argc, argv, &a, cli__similar_usage);
    if (rc >= 0) return rc;
    if (optind != argc - 1) return cli_usage_error("similar", "%s", "exactly one TARGET (path:line or qualified name) is required");
    a.q.mode = SC_SEARCH_MODE_DENSE;
    if (cli_repos_given(&a.repos)) {
        rc = cli__similar_multi(&a, argv[optind]);
        cli__free_args(&a);
        return rc;
    }
    sc_repo *r = cli__open("similar", &a, NULL, false);
    if (!r) return 1;
    sc_code_hits *h = NULL;
    int exit_code = 0;
    if (sc_repo_similar(r, argv[optind], &a.q, &h) != SC_OK) {
        fprintf(stderr, "semcode similar: %s\n", sc_repo_errmsg(r));
        exit_code = 1;
    } else {
        cli__emit(&a, "target", argv[optind], h);
    }
    sc_code_hits_free(h);
    sc_repo_close(r);
    cli__free_args(&a);
    return exit_code;
}

/* ==== duplicates ==== */

static void cli__dups_usage(FILE *f) {
    fprintf(f,
            "usage: semcode duplicates [--threshold T] [--min-lines N] [--json] [--store DIR] [--repo PATH]...\n\n"
            "Report clusters of near-duplicate functions and classes (similar by meaning,\n"
            "not only copies), largest and most similar first, from each entity's nearest\n"
            "neighbours in the index.\n\n"
            "  --threshold T   cosine similarity that links two entities (default 0.95)\n"
            "  --min-lines N   ignore entities shorter than N lines (default 5)\n"
            "  --store DIR     use the index in DIR (default: found from the working folder)\n\n"
            CLI_REPOS_HELP "  (the clusters of each repository, one after the other)\n");
}

/* Print the clusters of d as text, each member after [repo] when repo is given. */
static void cli__print_clusters(const sc_dup_clusters *d, const char *repo, size_t *n_printed) {
    for (size_t i = 0; i < d->n; i++) {
        printf("cluster %zu: %zu entities, similarity %.3f\n", ++*n_printed, d->items[i].n, (double)d->items[i].similarity);
        for (size_t j = 0; j < d->items[i].n; j++) {
            const sc_code_hit *x = &d->items[i].items[j];
            printf("  %s%s%s%s:%u-%u  %s  %s\n", repo ? "[" : "", repo ? repo : "", repo ? "] " : "", x->path,
                   x->start_line, x->end_line, x->kind, x->qualified_name);
        }
    }
}

/* duplicates over several repositories: options and what was printed (cli_repos_each). */
typedef struct cli_dups_multi {
    const cli_repo_args *a;  /* options */
    json_t *acc;             /* --json: the folded result */
    size_t n_printed;        /* text: clusters printed so far */
} cli_dups_multi;

static sc_status cli__dups_one(void *arg, const char *name, sc_repo *repo, char *msg, size_t msg_size) {
    cli_dups_multi *m = arg;
    sc_dup_clusters *d = NULL;
    sc_status rc = sc_repo_duplicates(repo, m->a->threshold, m->a->min_lines, &d);
    if (rc != SC_OK) {
        snprintf(msg, msg_size, "%s", sc_repo_errmsg(repo));
        return rc;
    }
    static const char *const keys[] = {"clusters", NULL};
    if (m->a->json) {
        char *txt = sc_dup_clusters_json(d, m->a->threshold, m->a->min_lines);
        cli_json_fold(&m->acc, txt ? json_loads(txt, 0, NULL) : NULL, name, keys);
        sc_free(txt);
    } else {
        cli__print_clusters(d, name, &m->n_printed);
    }
    sc_dup_clusters_free(d);
    return SC_OK;
}

int cli_cmd_duplicates(int argc, char **argv) {
    cli_repo_args a;
    memset(&a, 0, sizeof a);
    a.min_lines = 5;
    int rc = cli__parse_opts("duplicates", argc, argv, &a, cli__dups_usage);
    if (rc >= 0) return rc;
    if (optind != argc) return cli_usage_error("duplicates", "unexpected argument '%s'", argv[optind]);
    if (cli_repos_given(&a.repos)) {
        cli_dups_multi m = {.a = &a};
        rc = cli_repos_each("duplicates", &a.repos, a.model, a.cache, cli__dups_one, &m);
        if (!rc && a.json) cli_json_put(m.acc), m.acc = NULL;
        else if (!rc && !m.n_printed) printf("no near-duplicates at this threshold\n");
        json_decref(m.acc);
        cli__free_args(&a);
        return rc;
    }
    sc_repo *r = cli__open("duplicates", &a, NULL, false);
    if (!r) return 1;
    sc_dup_clusters *d = NULL;
    int exit_code = 0;
    if (sc_repo_duplicates(r, a.threshold, a.min_lines, &d) != SC_OK) {
        fprintf(stderr, "semcode duplicates: %s\n", sc_repo_errmsg(r));
        exit_code = 1;
    } else if (a.json) {
        char *txt = sc_dup_clusters_json(d, a.threshold, a.min_lines);
        puts(txt ? txt : "{}");
        sc_free(txt);
    } else {
        size_t n_printed = 0;
        if (d->n == 0) printf("no near-duplicates at this threshold\n");
        cli__print_clusters(d, NULL, &n_printed);
    }
    sc_dup_clusters_free(d);
    sc_repo_close(r);
    cli__free_args(&a);
    return exit_code;
}

/* ==== stats ==== */

static void cli__stats_usage(FILE *f) {
    fprintf(f, "usage: semcode stats [--json] [--store DIR]\n\n"
               "Entities by language and kind, model, store size, cache, embedding checks, last run:\n"
               "a summary, or with --json one JSON object (fields in docs/API.md).\n");
}

int cli_cmd_stats(int argc, char **argv) {
    cli_repo_args a;
    memset(&a, 0, sizeof a);
    int rc = cli__parse_opts("stats", argc, argv, &a, cli__stats_usage);
    if (rc >= 0) return rc;
    if (optind != argc) return cli_usage_error("stats", "unexpected argument '%s'", argv[optind]);
    sc_repo *r = cli__open("stats", &a, NULL, false);
    if (!r) return 1;
    char *js = NULL;
    int exit_code = 0;
    if (sc_repo_stats_json(r, &js) != SC_OK) {
        fprintf(stderr, "semcode stats: %s\n", sc_repo_errmsg(r));
        exit_code = 1;
    } else if (a.json || cli_stats_print(stdout, js) != 0) {
        puts(js);
    }
    sc_free(js);
    sc_repo_close(r);
    return exit_code;
}
