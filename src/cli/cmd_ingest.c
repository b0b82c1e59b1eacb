/*
** cli/cmd_ingest.c: `semcode ingest github | jira | jsonl`, the tracker and
** file sources of development records (the git source is in
** cmd_records.c). One option table for the three, each option checked
** against the source it applies to; progress and skipped items on stderr,
** the summary on stdout (JSON with --json). Exit status 0 when the run
** finished (skipped items included), 1 when it failed, 2 on bad usage.
*/
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"

#define CLI_MAX_REPORTS 100 /* skipped items printed one by one; then only counted */

typedef enum cli_src { CLI_SRC_GITHUB = 0, CLI_SRC_JIRA = 1, CLI_SRC_JSONL = 2 } cli_src;

typedef struct cli_src_args {
    cli_src src;                       /* which source */
    const char *name;                  /* OWNER/REPO or FILE|- */
    cli_ingest_common c;               /* --tenant, --source, --full, ... */
    const char *jql, *map_file, *kind; /* jira --jql; jsonl --map-file, --kind */
    json_t *map;                       /* jsonl --map entries (target -> path), owned */
    sc_source_options o;               /* source options */
} cli_src_args;

/* ==== Usage ==== */

#define CLI_INGEST_COMMON_HELP                                                                                      \
    "  --tenant T       the tenant the records belong to (default: the store's global namespace)\n"                 \
    "  --source NAME    record source (default: github:OWNER/REPO, jira:HOST, jsonl:FILE)\n"                        \
    "  --full           list everything and remove the stored records the source no longer has\n"                   \
    "                   (the first run is full; later runs read what changed since the last)\n"                     \
    "  --templates FILE text templates of the records (JSON; docs/ARCHITECTURE.md)\n"                               \
    "  --store DIR      the index folder (default $SEMCODE_STORE, else the indexed tree you are in,\n"             \
    "                   else ./.semcode); with a tree indexed into qdrant://HOST:PORT/COLL the\n"                  \
    "                   records go to COLL_records there\n"                                                         \
    "  --model FILE     embedding model (default: what the index uses, else built-in)\n"                            \
    "  --cache          also keep vectors in the embedding cache (cache.db)\n"                                      \
    "  --json           print the summary as one JSON object (docs/API.md)\n"                                       \
    "  -q, --quiet      no progress output\n" CLI_INGEST_JOB_HELP

#define CLI_INGEST_HTTP_HELP                                                                                        \
    "  --token-env VAR  read the API token from environment variable VAR (never stored or printed)\n"              \
    "  --from-dir DIR   read saved API answers of the same shapes from DIR instead (offline)\n"                     \
    "  --per-page N     items per page\n"                                                                           \
    "  --max-wait S     longest rate-limit wait accepted, in seconds (default 900); a longer one\n"                  \
    "                   stops the run (run again later: it goes on from its cursor)\n"                             \
    "  --retries N      retries of a failed request, with backoff (default 5)\n"                                   \
    "  --timeout S      seconds per request (default 30)\n"                                                    \
    "  --no-sweep       after an incremental run, do not list every item's id to remove the stored\n"          \
    "                   ones that are gone (deleted, transferred, out of the query); the sweep costs\n"       \
    "                   one request per 100 items (for very large trackers; --full still removes)\n"

static void cli__github_usage(FILE *f) {
    fprintf(f, "usage: semcode ingest github OWNER/REPO [options]\n\n"
               "Ingest a GitHub repository's issues and pull requests over the REST API:\n"
               "issues with their comments, pull requests with their reviews, review comments\n"
               "and commits (linked to the commits of 'semcode ingest git', so 'semcode history'\n"
               "shows them), labels, state, author, dates, links. Pages follow the Link header;\n"
               "rate limits (X-RateLimit-Remaining / Reset, Retry-After, 403 / 429) are waited\n"
               "out, 5xx answers retried. Later runs read what changed since the last one,\n"
               "asking with the last listing's ETag (If-None-Match): an unchanged repository\n"
               "answers 304, reads nothing and costs no rate limit. Search them with\n"
               "'semcode search --in issues|prs'.\n\n"
               "options:\n"
               "  --api-url URL    API root (default https://api.github.com; GitHub Enterprise:\n"
               "                   https://HOST/api/v3)\n" CLI_INGEST_HTTP_HELP
               "                   (--per-page: default and most 100)\n"
               "  With --from-dir, DIR holds issues.json (or issues.1.json, issues.2.json, ...),\n"
               "  issues/N/comments.json, pulls/N.json, pulls/N/reviews.json, pulls/N/comments.json\n"
               "  and pulls/N/commits.json, as the API answers them.\n" CLI_INGEST_COMMON_HELP);
}

static void cli__jira_usage(FILE *f) {
    fprintf(f, "usage: semcode ingest jira --url URL --jql QUERY [options]\n\n"
               "Ingest the Jira issues a JQL query matches, over the REST search (API 3: Jira\n"
               "Cloud's /search/jql paged by nextPageToken, or /search by startAt / maxResults\n"
               "on a site without it; API 2: /search by startAt): summary, description (plain\n"
               "or Atlassian Document Format), comments, labels, components, status, priority,\n"
               "type, people, dates and custom text fields. The query's ORDER BY is replaced by created order; a source keeps\n"
               "the result of one query (another query makes a full sync).\n\n"
               "options:\n"
               "  --url URL        the Jira site (https://example.atlassian.net)\n"
               "  --jql QUERY      the issues to ingest (\"\" for all), e.g. 'project = PROJ'\n"
               "  --user U         basic authentication as U with the token (Jira Cloud: the\n"
               "                   account's email and an API token); without: a bearer token\n"
               "                   (a Data Center personal access token)\n"
               "  --api-version N  REST API version, 2 (default) or 3\n" CLI_INGEST_HTTP_HELP
               "                   (--per-page: default 50)\n"
               "  With --from-dir, DIR holds search.json (or search.1.json, search.2.json, ...) and,\n"
               "  for issues with more comments than the search returned, issue/KEY/comment.json.\n"
               CLI_INGEST_COMMON_HELP);
}

static void cli__jsonl_usage(FILE *f) {
    fprintf(f, "usage: semcode ingest jsonl FILE|- [options]\n\n"
               "Ingest records from JSON Lines (one object per line; '-' reads standard input),\n"
               "streamed in bounded memory. A line that is not an object, lacks its id or has a\n"
               "bad value is reported as FILE:LINE and skipped.\n\n"
               "options:\n"
               "  --map SPEC       record field = input path, comma-separated, repeatable:\n"
               "                   --map id=key,title=summary,body=text,date=created\n"
               "                   paths: a.b for nested keys, comments[].body for a list;\n"
               "                   targets: id (required), kind, links.REL, or a field name;\n"
               "                   without --map every top-level key is its own field\n"
               "  --map-file FILE  the mapping as a JSON object {\"id\": \"key\", ...}\n"
               "  --kind K         kind of the records without a mapped kind: issue, pr, comment,\n"
               "                   review, commit or doc (default doc)\n" CLI_INGEST_COMMON_HELP);
}

static void cli__src_usage(cli_src src, FILE *f) {
    if (src == CLI_SRC_GITHUB) cli__github_usage(f);
    else if (src == CLI_SRC_JIRA) cli__jira_usage(f);
    else cli__jsonl_usage(f);
}

/* ==== Options ==== */

/* Add the entries of a --map SPEC ("a=b,c=d") to a->map; 0 or 2. */
static int cli__map_spec(cli_src_args *a, const char *spec) {
    char *dup = strdup(spec), *save = NULL;
    int rc = 0;
    for (char *t = strtok_r(dup, ",", &save); t && !rc; t = strtok_r(NULL, ",", &save)) {
        char *eq = strchr(t, '=');
        if (!eq || eq == t || !eq[1]) {
            rc = cli_usage_error("ingest", "--map entries are FIELD=PATH, got '%s'", t);
            break;
        }
        *eq = '\0';
        json_object_set_new(a->map, t, json_string(eq + 1));
    }
    free(dup);
    return rc;
}

/* Parse the options of a source; -1 to go on, else an exit code. */
static int cli__src_opts(int argc, char **argv, cli_src_args *a) {
    enum { O_TOKEN = 1000, O_API, O_DIR, O_PERPAGE, O_MAXWAIT, O_RETRIES, O_TIMEOUT, O_URL, O_JQL, O_USER, O_VERSION,
           O_MAP, O_MAPFILE, O_KIND, O_NOSWEEP };
    static const struct option opts[] = {
        {"token-env", required_argument, NULL, O_TOKEN},   {"api-url", required_argument, NULL, O_API},
        {"from-dir", required_argument, NULL, O_DIR},      {"per-page", required_argument, NULL, O_PERPAGE},
        {"max-wait", required_argument, NULL, O_MAXWAIT},  {"retries", required_argument, NULL, O_RETRIES},
        {"timeout", required_argument, NULL, O_TIMEOUT},   {"url", required_argument, NULL, O_URL},
        {"jql", required_argument, NULL, O_JQL},           {"user", required_argument, NULL, O_USER},
        {"api-version", required_argument, NULL, O_VERSION}, {"map", required_argument, NULL, O_MAP},
        {"map-file", required_argument, NULL, O_MAPFILE},  {"kind", required_argument, NULL, O_KIND},
        {"no-sweep", no_argument, NULL, O_NOSWEEP},
        CLI_INGEST_LONG_OPTIONS,                           {NULL, 0, NULL, 0},
    };
    /* which source each option applies to (bit per cli_src; 7 = all) */
    static const struct { int opt; unsigned srcs; } only[] = {
        {O_TOKEN, 3}, {O_DIR, 3}, {O_PERPAGE, 3}, {O_MAXWAIT, 3}, {O_RETRIES, 3}, {O_TIMEOUT, 3}, {O_API, 1},
        {O_URL, 2},   {O_JQL, 2}, {O_USER, 2},    {O_VERSION, 2}, {O_MAP, 4},     {O_MAPFILE, 4}, {O_KIND, 4},
        {O_NOSWEEP, 3},
    };
    static const char *const src_names[] = {"github", "jira", "jsonl"};
    cli_opts p;
    cli_opts_begin(&p, "ingest", argc, argv, "hq", opts);
    int ch;
    uint32_t v;
    while ((ch = cli_opts_next(&p)) != -1) {
        for (size_t i = 0; i < sizeof only / sizeof *only; i++)
            if (only[i].opt == ch && !(only[i].srcs & (1u << a->src))) {
                fprintf(stderr, "semcode ingest: --%s does not apply to ingest %s\n", opts[p.index].name,
                        src_names[a->src]);
                return 2;
            }
        if (cli_ingest_common_option(ch, optarg, &a->c)) continue;
        switch (ch) {
        case O_TOKEN: a->o.token_env = optarg; break;
        case O_API: a->o.api_url = optarg; break;
        case O_URL: a->o.api_url = optarg; break;
        case O_DIR: a->o.from_dir = optarg; break;
        case O_JQL: a->jql = optarg; break;
        case O_USER: a->o.user = optarg; break;
        case O_PERPAGE:
            if (cli_opt_u32("ingest", "--per-page", optarg, 1, a->src == CLI_SRC_GITHUB ? 100 : 1000, &a->o.per_page)) return 2;
            break;
        case O_MAXWAIT:
            if (cli_opt_u32("ingest", "--max-wait", optarg, 1, 86400, &a->o.max_wait_s)) return 2;
            break;
        case O_RETRIES:
            if (cli_opt_u32("ingest", "--retries", optarg, 0, 100, &a->o.max_retries)) return 2;
            a->o.retries_set = true;
            break;
        case O_TIMEOUT:
            if (cli_opt_u32("ingest", "--timeout", optarg, 1, 3600, &v)) return 2;
            a->o.timeout_ms = v * 1000;
            break;
        case O_VERSION:
            if (cli_opt_u32("ingest", "--api-version", optarg, 2, 3, &a->o.api_version)) return 2;
            break;
        case O_MAP:
            if (cli__map_spec(a, optarg)) return 2;
            break;
        case O_MAPFILE: a->map_file = optarg; break;
        case O_KIND: a->kind = optarg; break;
        case O_NOSWEEP: a->o.no_sweep = true; break;
        case 'h': cli__src_usage(a->src, stdout); return 0;
        default: return 2; /* CLI_OPT_BAD: said why */
        }
    }
    a->o.source = a->c.source;
    a->o.full = a->c.full;
    return -1;
}

/* Check what the source needs after parsing; -1 to go on, else 2. */
static int cli__src_check(cli_src_args *a, int argc, char **argv) {
    int n_pos = argc - optind;
    if (a->src == CLI_SRC_JIRA) {
        if (n_pos) return cli_usage_error("ingest", "jira takes no positional arguments, got '%s'", argv[optind]);
        if (!a->jql) return cli_usage_error("ingest", "%s", "ingest jira needs --jql QUERY (\"\" for every issue)");
        if (!a->o.api_url && !a->o.from_dir)
            return cli_usage_error("ingest", "%s", "ingest jira needs --url URL (the Jira site) or --from-dir DIR");
        return -1;
    }
    const char *what = a->src == CLI_SRC_GITHUB ? "OWNER/REPO" : "FILE (or - for standard input)";
    if (n_pos != 1) return cli_usage_error("ingest", n_pos ? "expected one %s" : "%s is required", what);
    a->name = argv[optind];
    if (a->map_file && json_object_size(a->map))
        return cli_usage_error("ingest", "%s", "give the mapping by --map or by --map-file, not both");
    return -1;
}

/* ==== Running ==== */

typedef struct cli_src_ui {
    bool tty;          /* redraw one progress line */
    bool quiet;        /* no progress */
    double last;       /* time of the last progress line */
    uint64_t reports;  /* skipped items printed */
} cli_src_ui;

static void cli__src_progress(void *arg, const sc_source_progress *p) {
    cli_src_ui *ui = arg;
    if (ui->quiet) return;
    const char *cr = ui->tty ? "\r\033[K" : "";
    if (!strcmp(p->stage, "wait")) {
        fprintf(stderr, "%ssemcode ingest: %s: waiting %.1f s\n", cr, p->note ? p->note : "waiting", p->wait_seconds);
    } else if (!strcmp(p->stage, "remove")) {
        fprintf(stderr, "%ssemcode ingest: removing the records the source no longer has\n", cr);
    } else if (strcmp(p->stage, "done")) {
        if (p->seconds - ui->last < (ui->tty ? 0.25 : 2.0)) return;
        ui->last = p->seconds;
        fprintf(stderr, "%ssemcode ingest: %llu items", cr, (unsigned long long)p->items);
        if (p->total) fprintf(stderr, " of %llu", (unsigned long long)p->total);
        fprintf(stderr, " (%.0f/s)%s", p->seconds > 0 ? (double)p->items / p->seconds : 0.0, ui->tty ? "" : "\n");
    } else if (ui->tty && ui->last > 0) {
        fprintf(stderr, "%s", cr);
    }
    fflush(stderr);
}

static void cli__src_report(void *arg, const char *where, const char *message) {
    cli_src_ui *ui = arg;
    if (++ui->reports > CLI_MAX_REPORTS) return;
    fprintf(stderr, "%ssemcode ingest: skipped %s: %s\n", ui->tty && !ui->quiet ? "\r\033[K" : "", where, message);
    if (ui->reports == CLI_MAX_REPORTS) fprintf(stderr, "semcode ingest: (further skipped items are only counted)\n");
}

/* Print the summary of a run. */
static void cli__src_summary(const cli_src_args *a, sc_status st, const sc_source_summary *s, const sc_records_stats *rs) {
    if (a->c.json) {
        json_t *o = json_pack("{s:b, s:s, s:b, s:I, s:I, s:I, s:I, s:I, s:b, s:I, s:I, s:I, s:I, s:f, s:I, s:I, s:f}",
                              "ok", st == SC_OK, "source", s->source, "full", s->full, "items", (json_int_t)s->items,
                              "written", (json_int_t)s->written, "unchanged", (json_int_t)s->unchanged, "removed",
                              (json_int_t)s->removed, "malformed", (json_int_t)s->malformed, "removal_skipped",
                              s->removal_skipped, "pages", (json_int_t)s->pages, "requests", (json_int_t)s->requests,
                              "retries", (json_int_t)s->retries, "rate_waits", (json_int_t)s->rate_waits,
                              "seconds_waited", s->seconds_waited, "embedded", (json_int_t)rs->embedded,
                              "vectors_reused", (json_int_t)rs->vectors_reused, "seconds", s->seconds);
        if (o && *s->since) json_object_set_new(o, "since", json_string(s->since));
        if (o) json_object_set_new(o, "swept", json_integer((json_int_t)s->swept));
        if (o) json_object_set_new(o, "sweep", json_boolean(s->swept_run));
        cli_records_store_json(o, rs);
        char *txt = o ? json_dumps(o, JSON_INDENT(2)) : NULL;
        puts(txt ? txt : "{}");
        free(txt);
        json_decref(o);
        return;
    }
    if (a->c.quiet || st != SC_OK) return;
    printf("ingested %s in %.2fs%s: %llu items read (%.0f/s), %llu records written, %llu unchanged, %llu removed"
           "%s%llu%s\n",
           s->source, s->seconds, s->full ? " (full sync)" : "", (unsigned long long)s->items,
           s->seconds > 0 ? (double)s->items / s->seconds : 0.0, (unsigned long long)s->written,
           (unsigned long long)s->unchanged, (unsigned long long)s->removed, s->swept_run ? " (" : "",
           (unsigned long long)s->swept, s->swept_run ? " by the id sweep)" : "");
    if (s->malformed)
        printf("  %llu malformed item%s skipped%s\n", (unsigned long long)s->malformed, s->malformed == 1 ? "" : "s",
               s->removal_skipped ? "; nothing removed (a skipped item may still exist: fix it, then --full)" : "");
    if (s->requests)
        printf("  %llu requests, %llu retries, %llu rate-limit waits (%.1f s waited)\n", (unsigned long long)s->requests,
               (unsigned long long)s->retries, (unsigned long long)s->rate_waits, s->seconds_waited);
}

/* The mapping of a jsonl run as JSON text (owned; NULL = identity), or NULL with *rc = 1. */
static char *cli__mapping(cli_src_args *a, int *rc) {
    if (a->map_file) {
        json_error_t je;
        json_t *m = json_load_file(a->map_file, JSON_REJECT_DUPLICATES, &je);
        if (!m) {
            fprintf(stderr, "semcode ingest: --map-file %s: %s (line %d)\n", a->map_file, je.text, je.line);
            *rc = 1;
            return NULL;
        }
        char *s = json_dumps(m, JSON_COMPACT);
        json_decref(m);
        return s;
    }
    return json_object_size(a->map) ? json_dumps(a->map, JSON_COMPACT) : NULL;
}

/* Run the source into r's store. */
static int cli__src_run(cli_src_args *a, sc_repo *r, const char *templates) {
    sc_rec_kind kind = SC_REC_KIND_DOC;
    if (a->kind && sc_rec_kind_parse(a->kind, &kind) != SC_OK)
        return cli_usage_error("ingest", "--kind must be issue, pr, comment, review, commit or doc, got '%s'", a->kind);
    int rc = -1;
    char *mapping = a->src == CLI_SRC_JSONL ? cli__mapping(a, &rc) : NULL;
    if (rc > 0) return rc;
    FILE *in = NULL;
    if (a->src == CLI_SRC_JSONL) {
        in = strcmp(a->name, "-") ? fopen(a->name, "r") : stdin;
        if (!in) {
            fprintf(stderr, "semcode ingest: cannot read %s: %s\n", a->name, strerror(errno));
            free(mapping);
            return 1;
        }
    }
    sc_records *rs = cli_records_open("ingest", r, a->c.tenant, templates, false);
    if (!rs) {
        if (in && in != stdin) fclose(in);
        free(mapping);
        return 1;
    }
    cli_src_ui ui = {isatty(2) != 0, a->c.quiet || a->c.json, -1e9, 0};
    a->o.progress = cli__src_progress;
    a->o.progress_arg = &ui;
    a->o.report = cli__src_report;
    a->o.report_arg = &ui;
    cli_catch_interrupts();
    a->o.cancel = cli_cancel_flag();
    sc_source_summary s;
    sc_status st;
    if (a->src == CLI_SRC_GITHUB) st = sc_github_ingest(rs, a->name, &a->o, &s);
    else if (a->src == CLI_SRC_JIRA) st = sc_jira_ingest(rs, a->jql, &a->o, &s);
    else st = sc_jsonl_ingest(rs, in, a->name, mapping, kind, &a->o, &s);
    if (st != SC_OK) fprintf(stderr, "semcode ingest: %s\n", sc_records_errmsg(rs));
    if (ui.reports > CLI_MAX_REPORTS)
        fprintf(stderr, "semcode ingest: %llu skipped items in all\n", (unsigned long long)ui.reports);
    sc_records_stats stats = sc_records_get_stats(rs);
    cli__src_summary(a, st, &s, &stats);
    sc_records_close(rs);
    if (in && in != stdin) fclose(in);
    free(mapping);
    return st == SC_OK ? 0 : 1;
}

/* Read all of in (owned text), NULL after printing why. */
static char *cli__slurp(FILE *in, const char *name) {
    size_t cap = 1 << 16, len = 0;
    char *buf = malloc(cap);
    size_t got;
    while (buf && (got = fread(buf + len, 1, cap - len - 1, in)) > 0) {
        len += got;
        if (cap - len - 1 == 0) {
            char *grown = realloc(buf, cap * 2);
            if (!grown) {
                free(buf);
                buf = NULL;
                break;
            }
            buf = grown;
            cap *= 2;
        }
    }
    if (!buf || ferror(in)) {
        fprintf(stderr, "semcode ingest: cannot read %s: %s\n", name, buf ? strerror(errno) : "out of memory");
        free(buf);
        return NULL;
    }
    buf[len] = '\0';
    return buf;
}

/* Submit the source as a job of the server (--server): JSON Lines are
** uploaded, --from-dir is a path on the server. Returns the exit code. */
static int cli__src_submit(cli_src_args *a) {
    static const char *const types[] = {"github", "jira", "jsonl"};
    json_t *src = json_pack("{s:s}", "type", types[a->src]);
    if (a->o.from_dir) {
        char *abs = realpath(a->o.from_dir, NULL);
        json_object_set_new(src, "from_dir", json_string(abs ? abs : a->o.from_dir));
        free(abs);
    }
    if (a->o.token_env) json_object_set_new(src, "token_env", json_string(a->o.token_env));
    if (a->o.per_page) json_object_set_new(src, "per_page", json_integer(a->o.per_page));
    if (a->src != CLI_SRC_JSONL && a->o.max_wait_s) json_object_set_new(src, "max_wait_s", json_integer(a->o.max_wait_s));
    if (a->o.retries_set) json_object_set_new(src, "retries", json_integer(a->o.max_retries));
    if (a->o.no_sweep) json_object_set_new(src, "sweep", json_false());
    if (a->src == CLI_SRC_GITHUB) {
        json_object_set_new(src, "repo", json_string(a->name));
        if (a->o.api_url) json_object_set_new(src, "api_url", json_string(a->o.api_url));
    } else if (a->src == CLI_SRC_JIRA) {
        json_object_set_new(src, "jql", json_string(a->jql));
        if (a->o.api_url) json_object_set_new(src, "url", json_string(a->o.api_url));
        if (a->o.user) json_object_set_new(src, "user", json_string(a->o.user));
        if (a->o.api_version) json_object_set_new(src, "api_version", json_integer(a->o.api_version));
    } else {
        int rc = -1;
        char *mapping = cli__mapping(a, &rc);
        if (rc > 0) {
            json_decref(src);
            return rc;
        }
        if (mapping) json_object_set_new(src, "mapping", json_loads(mapping, 0, NULL));
        free(mapping);
        if (a->kind) json_object_set_new(src, "kind", json_string(a->kind));
        bool std_in = !strcmp(a->name, "-");
        FILE *in = std_in ? stdin : fopen(a->name, "r");
        char *data = in ? cli__slurp(in, a->name) : NULL;
        if (!in) fprintf(stderr, "semcode ingest: cannot read %s: %s\n", a->name, strerror(errno));
        if (in && !std_in) fclose(in);
        if (!data) {
            json_decref(src);
            return 1;
        }
        const char *base = strrchr(a->name, '/');
        json_object_set_new(src, "name", json_string(std_in ? "stdin" : base ? base + 1 : a->name));
        json_object_set_new(src, "data", json_string(data));
        free(data);
    }
    return cli_jobs_submit(&a->c, src);
}

int cli_ingest_source(int argc, char **argv) {
    cli_src_args a;
    memset(&a, 0, sizeof a);
    a.o = sc_source_options_default();
    a.src = !strcmp(argv[0], "github") ? CLI_SRC_GITHUB : !strcmp(argv[0], "jira") ? CLI_SRC_JIRA : CLI_SRC_JSONL;
    a.map = json_object();
    int rc = cli__src_opts(argc, argv, &a);
    if (rc < 0) rc = cli__src_check(&a, argc, argv);
    if (rc < 0 && a.c.server) rc = cli__src_submit(&a);
    else if (rc < 0 && cli_jobs_check_local(&a.c)) rc = 2;
    char *templates = rc < 0 ? cli_read_templates("ingest", a.c.templates_path, &rc) : NULL;
    if (rc < 0) {
        /* the store of the indexed tree you are in (or --store); a file's
        ** folder does not choose it: records go where searches look */
        sc_repo *r = cli_ingest_repo(a.c.store, a.c.model, a.c.cache, NULL);
        rc = r ? cli__src_run(&a, r, templates) : 1;
        sc_repo_close(r);
    }
    free(templates);
    json_decref(a.map);
    return rc;
}
