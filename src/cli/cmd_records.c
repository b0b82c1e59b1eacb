/*
** cli/cmd_records.c: development records on the command line.
** `semcode ingest git [REPO]` (a repository's commits into the store of its
** index; the other sources are in cmd_ingest.c), `semcode history TARGET`
** (the commits that changed an entity and their pull requests, newest
** first) and the records side of `semcode search --in` (cmd_repo.c parses
** that command). Progress on stderr, JSON with --json; exit status
** 0 success, 1 failure, 2 bad usage.
*/
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"

#define CLI_MAX_BRANCHES 64

/* ==== Shared ==== */

sc_records *cli_records_open(const char *cmd, sc_repo *r, const char *tenant, const char *templates, bool read_only) {
    sc_embedder *emb = NULL;
    if (!read_only && sc_repo_embedder(r, &emb) != SC_OK) {
        fprintf(stderr, "semcode %s: %s\n", cmd, sc_repo_errmsg(r));
        return NULL;
    }
    sc_records_options o = sc_records_options_default();
    o.tenant = tenant;
    o.templates_json = templates;
    sc_records *rs = NULL;
    char *err = NULL;
    if (sc_repo_records_open(r, emb, &o, &rs, &err) != SC_OK) {
        fprintf(stderr, "semcode %s: %s\n", cmd, err ? err : "cannot open the records");
        sc_free(err);
        return NULL;
    }
    return rs;
}

sc_rec_hits *cli_records_search(const char *cmd, sc_repo *r, const char *tenant, const sc_rec_query *q) {
    sc_records *rs = cli_records_open(cmd, r, tenant, NULL, q->mode == SC_SEARCH_MODE_KEYWORD);
    if (!rs) return NULL;
    sc_rec_hits *h = NULL;
    if (sc_records_search(rs, q, &h) != SC_OK) fprintf(stderr, "semcode %s: %s\n", cmd, sc_records_errmsg(rs));
    sc_records_close(rs);
    return h;
}

void cli_print_rec_hits(const sc_rec_hits *h, bool color, bool scores) {
    for (size_t i = 0; i < h->n; i++) {
        const sc_rec_hit *x = &h->items[i];
        bool commit = !strcmp(x->kind, "commit");
        char id[24];
        /* commits: the short sha; tracker records: their number or key; others: their id */
        snprintf(id, sizeof id, "%.*s", commit ? 10 : 20, *x->number ? x->number : x->id);
        printf(color ? "\033[33m%s\033[0m  %.10s  \033[32m%s\033[0m  \033[1m%s\033[0m" : "%s  %.10s  %s  %s", id,
               x->date, *x->author ? x->author : "-", x->title);
        if (!commit) printf("  [%s%s%s]", x->kind, *x->state ? " " : "", x->state);
        if (!commit && *x->url) printf("  %s", x->url);
        if (scores) printf("  %.4f", (double)x->score);
        printf("\n");
    }
}

void cli_records_store_json(json_t *o, const sc_records_stats *rs) {
    if (o && rs->store_requests)
        json_object_set_new(o, "store", json_pack("{s:I, s:I, s:I}", "requests", (json_int_t)rs->store_requests,
                                                  "bytes_sent", (json_int_t)rs->store_bytes_sent, "bytes_received",
                                                  (json_int_t)rs->store_bytes_received));
}

char *cli_read_templates(const char *cmd, const char *path, int *rc) {
    if (!path) return NULL;
    json_error_t je;
    json_t *t = json_load_file(path, JSON_REJECT_DUPLICATES, &je);
    char *out = t ? json_dumps(t, JSON_COMPACT) : NULL;
    if (!t) fprintf(stderr, "semcode %s: --templates %s: %s (line %d)\n", cmd, path, je.text, je.line);
    if (!out) *rc = 1;
    json_decref(t);
    return out;
}

sc_repo *cli_ingest_repo(const char *store_opt, const char *model, bool cache, const char *path) {
    /* the index: the root recorded in --store, else that of the indexed tree path (or the working
    ** folder) is in, else path itself (or the working folder) */
    const char *store = store_opt ? store_opt : getenv("SEMCODE_STORE");
    char *found = store && *store ? sc_repo_store_root(store) : NULL;
    if (!found) found = sc_repo_find_root(path ? path : ".");
    sc_repo *r = cli_repo_open("ingest", store_opt, model, cache, 0, NULL, found ? found : path ? path : ".", false);
    free(found);
    return r;
}

/* ==== ingest ==== */

typedef struct cli_ingest_progress {
    bool tty;        /* redraw one line */
    double last;     /* time of the last line */
} cli_ingest_progress;

static void cli__ingest_progress(void *arg, const sc_git_progress *p) {
    cli_ingest_progress *cp = arg;
    bool final = !strcmp(p->stage, "done") || (p->total && p->done == p->total);
    if (!final && p->seconds - cp->last < (cp->tty ? 0.2 : 2.0)) return;
    cp->last = p->seconds;
    double rate = p->seconds > 0 ? (double)p->done / p->seconds : 0;
    if (!strcmp(p->stage, "commits"))
        fprintf(stderr, "%ssemcode ingest: %s: %llu/%llu commits (%.0f/s)%s", cp->tty ? "\r\033[K" : "", p->branch,
                (unsigned long long)p->done, (unsigned long long)p->total, rate, cp->tty && !final ? "" : "\n");
    else if (!strcmp(p->stage, "remove"))
        fprintf(stderr, "%ssemcode ingest: removing the commits of rewritten history\n", cp->tty ? "\r\033[K" : "");
    fflush(stderr);
}

static void cli__ingest_usage(FILE *f) {
    fprintf(f,
            "usage: semcode ingest git [REPO] [options]\n"
            "       semcode ingest github OWNER/REPO [options]   (semcode ingest github --help)\n"
            "       semcode ingest jira --url URL --jql QUERY [options]   (semcode ingest jira --help)\n"
            "       semcode ingest jsonl FILE|- [--map SPEC] [options]   (semcode ingest jsonl --help)\n\n"
            "Ingest the commits of a git repository into the store of its index, to\n"
            "search them (search --in commits) and list the commits that changed an\n"
            "entity (history). Every commit of the chosen branches: sha, parents, author,\n"
            "committer, dates, subject, body, changed files with status and added/removed\n"
            "lines, diff stats. Runs again only read the new commits; rewritten history\n"
            "(a force-push) is detected, its unreachable commits removed. When the tree is\n"
            "indexed (semcode index), commits are linked to the entities their diffs\n"
            "touched. REPO: a folder inside the repository (default: the indexed tree you\n"
            "are in, else the current folder).\n\n"
            "options:\n"
            "  --branch B       a branch to ingest, local or remote-tracking (origin/main);\n"
            "                   repeatable, or B1,B2 (default: HEAD's branch)\n"
            "  --tenant T       the tenant the records belong to (1..64 of A-Z a-z 0-9 _ -;\n"
            "                   default: none, the store's global namespace)\n"
            "  --source NAME    record source (default git:<name of the work tree folder>)\n"
            "  --full           read every commit again (unchanged records are not rewritten)\n"
            "                   and remove stored commits no branch reaches\n"
            "  --no-links       do not link commits to code entities\n"
            "  --templates FILE text templates of the records (JSON; docs/ARCHITECTURE.md)\n"
            "  --max-files N    changed files kept per commit (default 1000)\n"
            "  --store DIR      the index folder (default $SEMCODE_STORE, else REPO/.semcode), or the\n"
            "                   qdrant://HOST:PORT/COLL of a tree indexed into Qdrant: the records go to\n"
            "                   its collection COLL_records (every tenant in it)\n"
            "  --model FILE     embedding model (default: what the index uses, else built-in)\n"
            "  --cache          also keep vectors in the embedding cache (cache.db)\n"
            "  --json           print the summary as one JSON object\n"
            "  -q, --quiet      no progress output\n" CLI_INGEST_JOB_HELP);
}

typedef struct cli_ingest_args {
    const char *branches[CLI_MAX_BRANCHES]; /* --branch (owned copies) */
    size_t n_branches;
    cli_ingest_common c;                    /* --tenant, --source, --full, ... */
    bool no_links;                          /* --no-links */
    uint32_t max_files;                     /* --max-files */
} cli_ingest_args;

bool cli_ingest_common_option(int ch, const char *arg, cli_ingest_common *c) {
    switch (ch) {
    case CLI_O_TENANT: c->tenant = arg; return true;
    case CLI_O_SOURCE: c->source = arg; return true;
    case CLI_O_FULL: c->full = true; return true;
    case CLI_O_TEMPLATES: c->templates_path = arg; return true;
    case CLI_O_STORE: c->store = arg; return true;
    case CLI_O_MODEL: c->model = strcmp(arg, "builtin") ? arg : NULL; return true;
    case CLI_O_CACHE: c->cache = true; return true;
    case CLI_O_JSON: c->json = true; return true;
    case 'q': c->quiet = true; return true;
    case CLI_O_SERVER: c->server = arg; return true;
    case CLI_O_JOB_KEY: c->api_key_env = arg; return true;
    case CLI_O_PREFER: c->prefer = arg; return true;
    case CLI_O_PRIORITY: c->priority = arg; return true;
    case CLI_O_JOB_BATCH: c->batch = arg; return true;
    case CLI_O_JOB_CONC: c->concurrency = arg; return true;
    case CLI_O_FOLLOW: c->follow = true; return true;
    default: return false;
    }
}

/* Parse ingest's options; -1 to go on, else an exit code. */
static int cli__ingest_opts(int argc, char **argv, cli_ingest_args *a) {
    enum { O_BRANCH = 1000, O_NOLINKS, O_MAXF };
    static const struct option opts[] = {
        {"branch", required_argument, NULL, O_BRANCH}, {"no-links", no_argument, NULL, O_NOLINKS},
        {"max-files", required_argument, NULL, O_MAXF}, CLI_INGEST_LONG_OPTIONS, {NULL, 0, NULL, 0},
    };
    cli_opts p;
    cli_opts_begin(&p, "ingest", argc, argv, "hq", opts);
    int ch;
    while ((ch = cli_opts_next(&p)) != -1) {
        if (cli_ingest_common_option(ch, optarg, &a->c)) continue;
        switch (ch) {
        case O_BRANCH: {
            char *dup = strdup(optarg), *save = NULL;
            for (char *t = strtok_r(dup, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
                if (a->n_branches == CLI_MAX_BRANCHES) {
                    free(dup);
                    return cli_usage_error("ingest", "too many branches (at most 64): '%s'", t);
                }
                a->branches[a->n_branches++] = strdup(t);
            }
            free(dup);
            break;
        }
        case O_NOLINKS: a->no_links = true; break;
        case O_MAXF:
            if (cli_opt_u32("ingest", "--max-files", optarg, 1, 1000000, &a->max_files)) return 2;
            break;
        case 'h': cli__ingest_usage(stdout); return 0;
        default: return 2; /* CLI_OPT_BAD: said why */
        }
    }
    return -1;
}

/* Print the summary of an ingestion. */
static void cli__ingest_report(const cli_ingest_args *a, sc_repo *r, sc_status st, const sc_git_summary *s,
                               const sc_records_stats *rs) {
    const char *source = s->source;
    if (a->c.json) {
        json_t *o = json_pack("{s:b, s:s, s:s, s:I, s:I, s:I, s:I, s:I, s:I, s:b, s:I, s:I, s:I, s:f}", "ok", st == SC_OK,
                              "root", sc_repo_root(r), "source", source, "branches", (json_int_t)s->branches,
                              "commits_walked", (json_int_t)s->commits_walked, "commits_written",
                              (json_int_t)s->commits_written, "commits_removed", (json_int_t)s->commits_removed,
                              "rewrites", (json_int_t)s->rewrites, "links", (json_int_t)s->links, "linked", s->linked,
                              "unchanged", (json_int_t)rs->unchanged, "embedded", (json_int_t)rs->embedded,
                              "vectors_reused", (json_int_t)rs->vectors_reused, "seconds", s->seconds);
        cli_records_store_json(o, rs);
        char *txt = o ? json_dumps(o, JSON_INDENT(2)) : NULL;
        puts(txt ? txt : "{}");
        free(txt);
        json_decref(o);
    } else if (!a->c.quiet && st == SC_OK) {
        printf("ingested %s in %.2fs: %llu commits read (%.0f/s), %llu written, %llu removed, %llu rewritten "
               "branches, %s\n",
               source, s->seconds, (unsigned long long)s->commits_walked,
               s->seconds > 0 ? (double)s->commits_walked / s->seconds : 0.0, (unsigned long long)s->commits_written,
               (unsigned long long)s->commits_removed, (unsigned long long)s->rewrites,
               s->linked ? "linked to code entities" : "not linked to code (index the tree to link)");
        if (s->linked) printf("  %llu commit -> entity links\n", (unsigned long long)s->links);
    }
}

/* Run the ingestion of git repository path into r's store. */
static int cli__ingest_run(cli_ingest_args *a, sc_repo *r, const char *path, const char *templates) {
    sc_records *rs = cli_records_open("ingest", r, a->c.tenant, templates, false);
    if (!rs) return 1;
    sc_git_options go = sc_git_options_default();
    go.branches = a->branches;
    go.n_branches = a->n_branches;
    go.source = a->c.source;
    go.full = a->c.full;
    if (a->max_files) go.max_files = a->max_files;
    uint64_t n_code = 0;
    /* the entities may be in Qdrant (--store qdrant://...): counted where they are */
    if (!a->no_links && sc_repo_count_entities(r, &n_code) == SC_OK && n_code)
        go.code_root = sc_repo_root(r);
    cli_ingest_progress cp = {isatty(2) != 0, -1e9};
    if (!a->c.quiet && !a->c.json) {
        go.progress = cli__ingest_progress;
        go.progress_arg = &cp;
    }
    cli_catch_interrupts();
    go.cancel = cli_cancel_flag();
    sc_git_summary s;
    sc_status st = sc_git_ingest(rs, path, &go, &s);
    if (st != SC_OK) fprintf(stderr, "semcode ingest: %s\n", sc_records_errmsg(rs));
    sc_records_stats stats = sc_records_get_stats(rs);
    cli__ingest_report(a, r, st, &s, &stats);
    sc_records_close(rs);
    return st == SC_OK ? 0 : 1;
}

int cli_cmd_ingest(int argc, char **argv) {
    if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
        cli__ingest_usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    if (!strcmp(argv[1], "github") || !strcmp(argv[1], "jira") || !strcmp(argv[1], "jsonl"))
        return cli_ingest_source(argc - 1, argv + 1);
    if (strcmp(argv[1], "git"))
        return cli_usage_error("ingest", "unknown source '%s' (sources: git, github, jira, jsonl)", argv[1]);
    cli_ingest_args a;
    memset(&a, 0, sizeof a);
    int rc = cli__ingest_opts(argc - 1, argv + 1, &a);
    if (rc < 0 && argc - 1 - optind > 1) rc = cli_usage_error("ingest", "expected one REPO, got also '%s'", argv[optind + 2]);
    const char *path = rc < 0 && optind < argc - 1 ? argv[optind + 1] : NULL;
    if (rc < 0 && a.c.server) {
        /* a job of the server: the repository is a path on the server */
        char *abs = realpath(path ? path : ".", NULL);
        json_t *src = json_pack("{s:s, s:s}", "type", "git", "repo", abs ? abs : path ? path : ".");
        free(abs);
        json_t *br = json_array();
        for (size_t i = 0; i < a.n_branches; i++) json_array_append_new(br, json_string(a.branches[i]));
        if (a.n_branches) json_object_set(src, "branches", br);
        json_decref(br);
        if (a.max_files) json_object_set_new(src, "max_files", json_integer(a.max_files));
        rc = cli_jobs_submit(&a.c, src);
    } else if (rc < 0) {
        int lr = cli_jobs_check_local(&a.c);
        if (lr) rc = lr;
    }
    char *templates = rc < 0 ? cli_read_templates("ingest", a.c.templates_path, &rc) : NULL;
    if (rc < 0 && a.c.templates_path && !templates) rc = 1;
    if (rc < 0) {
        sc_repo *r = cli_ingest_repo(a.c.store, a.c.model, a.c.cache, path);
        rc = r ? cli__ingest_run(&a, r, path ? path : sc_repo_root(r), templates) : 1;
        sc_repo_close(r);
    }
    free(templates);
    for (size_t i = 0; i < a.n_branches; i++) free((char *)a.branches[i]);
    return rc;
}

/* ==== history ==== */

static void cli__history_usage(FILE *f) {
    fprintf(f,
            "usage: semcode history TARGET [options]\n\n"
            "List the commits that changed an entity, newest first, with the pull requests\n"
            "of those commits (semcode ingest github: a PR links its commits). TARGET is\n"
            "path:line (the innermost function or class at that line) or a qualified name\n"
            "as search prints it. Needs the tree indexed (semcode index) and its commits\n"
            "ingested (semcode ingest git), in any order.\n\n"
            "options:\n"
            "  --author A     only commits whose author name or email contains A\n"
            "  --since DATE   only commits on or after DATE (YYYY-MM-DD or RFC 3339)\n"
            "  --until DATE   only commits on or before DATE\n"
            "  -n, --limit N  at most N commits (default 100)\n"
            "  --tenant T     the tenant the commits were ingested for\n"
            "  --json         one JSON object: {target, entity, took_ms, results: [...]}\n"
            "  --store DIR    use the index in DIR (default: found from the working folder), or\n"
            "                 qdrant://HOST:PORT/COLL: its code and records, from any folder\n\n"
            CLI_REPOS_HELP
            "  (TARGET is looked up in each repository; JSON: the results of each repository in turn,\n"
            "  newest first, each with its repo, and entities: the entity found in each)\n");
}

/* The entity hit as JSON ({path, start_line, end_line, kind, qualified_name}). */
static json_t *cli__entity_json(const sc_code_hit *e) {
    return json_pack("{s:s, s:i, s:i, s:s, s:s}", "path", e->path, "start_line", (int)e->start_line, "end_line",
                     (int)e->end_line, "kind", e->kind, "qualified_name", e->qualified_name);
}

/* Points of the tenant's records passing filter (0 when there are none or on failure). */
static uint64_t cli__count(sc_records *rs, const char *filter) {
    uint64_t n = 0;
    if (sc_records_count(rs, filter, &n) != SC_OK) n = 0;
    return n;
}

/* Print the history of entity e (id: its point id) from rs (the records of
** tenant, NULL = the global namespace); with acc
** (--json over several repositories), fold it into *acc instead, its
** items naming repository repo. */
static int cli__history_print(const char *tenant, sc_records *rs, const char *target, const sc_code_hit *e,
                              const sc_point_id *id, sc_rec_query *q, bool json, const char *repo, json_t **acc) {
    char idtext[40];
    snprintf(idtext, sizeof idtext, "%llu", (unsigned long long)id->num);
    const char *targets[1] = {idtext};
    sc_rec_hits *h = NULL;
    if (sc_records_history(rs, targets, 1, q, &h) != SC_OK) {
        fprintf(stderr, "semcode history: %s\n", sc_records_errmsg(rs));
        return 1;
    }
    if (json) {
        char *txt = sc_rec_hits_json(h, "target", target, NULL);
        json_t *o = txt ? json_loads(txt, 0, NULL) : NULL;
        if (o) json_object_set_new(o, "entity", cli__entity_json(e));
        if (acc) {
            json_t *ent = json_object_get(o, "entity");
            if (ent) json_object_set_new(o, "entities", json_pack("[O]", ent));
            static const char *const keys[] = {"results", "entities", NULL};
            cli_json_fold(acc, o, repo, keys);
        } else {
            cli_json_put(o);
        }
        sc_free(txt);
    } else {
        if (repo) printf("[%s] ", repo);
        size_t n_prs = 0;
        for (size_t i = 0; i < h->n; i++) n_prs += !strcmp(h->items[i].kind, "pr");
        printf("%s %s (%s:%u-%u): %zu commit%s", e->kind, e->qualified_name, e->path, e->start_line, e->end_line,
               h->n - n_prs, h->n - n_prs == 1 ? "" : "s");
        if (n_prs) printf(", %zu pull request%s", n_prs, n_prs == 1 ? "" : "s");
        printf("\n");
        cli_print_rec_hits(h, isatty(1) != 0, false);
    }
    if (!h->n && !cli__count(rs, "{\"must\":[{\"key\":\"kind\",\"match\":{\"value\":\"commit\"}}]}"))
        fprintf(stderr, "semcode history: no commits are ingested for this index%s; run 'semcode ingest git'\n",
                tenant && *tenant ? " and tenant" : "");
    else if (!h->n && !cli__count(rs, "{\"must\":[{\"key\":\"links.entity\",\"values_count\":{\"gte\":1}}]}"))
        fprintf(stderr, "semcode history: the ingested commits are not linked to code entities; run 'semcode ingest "
                        "git' again now that the tree is indexed\n");
    sc_rec_hits_free(h);
    return 0;
}

/* What one repository's history run needs and makes (cli_repos_each). */
typedef struct cli_history_run {
    const char *target;  /* TARGET */
    const char *tenant;  /* --tenant */
    sc_rec_query *q;     /* filters and limit */
    bool json;           /* --json */
    json_t *acc;         /* --json over several repositories: the folded result */
} cli_history_run;

/* The history of TARGET in one repository (name NULL: the only one). msg
** stays empty when the failure was printed already. */
static sc_status cli__history_one(void *arg, const char *name, sc_repo *r, char *msg, size_t msg_size) {
    cli_history_run *run = arg;
    sc_code_hits *e = NULL;
    sc_point_id id;
    sc_status st = sc_repo_resolve(r, run->target, &e, &id);
    if (st != SC_OK) {
        snprintf(msg, msg_size, "%s", sc_repo_errmsg(r));
        return st;
    }
    sc_records *rs = cli_records_open("history", r, run->tenant, NULL, true);
    st = SC_ERROR;
    if (rs && !cli__history_print(run->tenant, rs, run->target, &e->items[0], &id, run->q, run->json, name,
                                  name && run->json ? &run->acc : NULL))
        st = SC_OK;
    if (st != SC_OK) snprintf(msg, msg_size, "%s", "failed (said above)");
    sc_records_close(rs);
    sc_code_hits_free(e);
    return st;
}

int cli_cmd_history(int argc, char **argv) {
    enum { O_AUTHOR = 1000, O_SINCE, O_UNTIL, O_LIMIT, O_TENANT, O_JSON, O_STORE };
    static const struct option opts[] = {
        {"author", required_argument, NULL, O_AUTHOR}, {"since", required_argument, NULL, O_SINCE},
        {"until", required_argument, NULL, O_UNTIL},   {"limit", required_argument, NULL, O_LIMIT},
        {"tenant", required_argument, NULL, O_TENANT}, {"json", no_argument, NULL, O_JSON},
        {"store", required_argument, NULL, O_STORE},   {"help", no_argument, NULL, 'h'},
        CLI_REPOS_LONG_OPTIONS,                        {NULL, 0, NULL, 0},
    };
    cli_repos repos = {.n = 0};
    sc_rec_query q;
    memset(&q, 0, sizeof q);
    q.limit = 100;
    const char *tenant = NULL, *store = NULL;
    bool json = false;
    cli_opts p;
    cli_opts_begin(&p, "history", argc, argv, "hn:", opts);
    int ch;
    while ((ch = cli_opts_next(&p)) != -1) {
        switch (ch) {
        case O_AUTHOR: q.author = optarg; break;
        case O_SINCE: q.since = optarg; break;
        case O_UNTIL: q.until = optarg; break;
        case 'n':
        case O_LIMIT:
            if (cli_opt_u32("history", "--limit", optarg, 1, 1000000, &q.limit)) return 2;
            break;
        case O_TENANT: tenant = optarg; break;
        case O_JSON: json = true; break;
        case O_STORE: store = optarg; break;
        case 'h': cli__history_usage(stdout); return 0;
        case CLI_O_REPO:
        case CLI_O_WORKSPACE:
            if (cli_repos_option("history", &repos, ch, optarg)) return 2;
            break;
        default: return 2; /* CLI_OPT_BAD: said why */
        }
    }
    if (optind != argc - 1)
        return cli_usage_error("history", "%s", "exactly one TARGET (path:line or qualified name) is required");
    cli_history_run run = {.target = argv[optind], .tenant = tenant, .q = &q, .json = json};
    if (cli_repos_given(&repos)) {
        int rc = cli_repos_each("history", &repos, NULL, false, cli__history_one, &run);
        if (!rc && json) cli_json_put(run.acc), run.acc = NULL;
        json_decref(run.acc);
        return rc;
    }
    sc_repo *r = cli_repo_open("history", store, NULL, false, 0, NULL, NULL, false);
    if (!r) return 1;
    char msg[1024];
    int rc = 0;
    if (cli__history_one(&run, NULL, r, msg, sizeof msg) != SC_OK) {
        if (*msg) fprintf(stderr, "semcode history: %s\n", msg);
        rc = 1;
    }
    sc_repo_close(r);
    return rc;
}
