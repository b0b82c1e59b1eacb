/*
** cli/cmd_jobs.c: the client side of the backfill jobs of `semcode serve`:
** `semcode jobs` (list, show, follow with a progress bar, cancel) and
** `semcode ingest ... --server URL` (submit the ingestion as a job instead
** of running it here). Talks HTTP with libcurl; the server's URL comes from
** --server, else $SEMCODE_SERVER, else http://127.0.0.1:6333, its API key
** from the environment variable --api-key-env names (SEMCODE_API_KEY).
** Exit status 0 success (a followed job that ended done), 1 failure (the
** server refused, or the followed job failed or was cancelled), 2 bad usage.
*/
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli.h"

#define CLI_JOBS_DEFAULT_URL "http://127.0.0.1:6333"
#define CLI_JOBS_BAR 24 /* characters of the progress bar */

/* Where the server is and how to talk to it. */
typedef struct cli_server {
    const char *url;     /* root URL, no trailing slash needed */
    const char *key;     /* API key (from the environment), NULL = none */
    bool json;           /* print JSON */
    bool tty;            /* stdout is a terminal: redraw a progress bar */
} cli_server;

/* A growing text (answers, output lines). */
typedef struct cli_jobs_buf {
    char *data;  /* owned, NUL-terminated, NULL while empty */
    size_t len;  /* bytes in data */
} cli_jobs_buf;

/* ==== HTTP ==== */

static size_t cli__jobs_write(const char *p, size_t size, size_t n, void *arg) {
    cli_jobs_buf *b = arg;
    size_t len = size * n;
    char *grown = realloc(b->data, b->len + len + 1);
    if (!grown) return 0;
    b->data = grown;
    memcpy(b->data + b->len, p, len);
    b->len += len;
    b->data[b->len] = '\0';
    return len;
}

/* method path (body may be NULL): the answer's JSON (owned) and HTTP
** status; NULL after printing why (no answer, not JSON). */
static json_t *cli__jobs_call(const cli_server *s, const char *method, const char *path, const char *body, long *status) {
    CURL *c = curl_easy_init();
    if (!c) return NULL;
    char url[2048], auth[1100];
    size_t ul = strlen(s->url);
    snprintf(url, sizeof url, "%.*s%s", (int)(ul && s->url[ul - 1] == '/' ? ul - 1 : ul), s->url, path);
    struct curl_slist *h = curl_slist_append(NULL, "Content-Type: application/json");
    if (s->key) {
        snprintf(auth, sizeof auth, "api-key: %s", s->key);
        h = curl_slist_append(h, auth);
    }
    cli_jobs_buf b = {NULL, 0};
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    if (body) curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, cli__jobs_write);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 120L);
    CURLcode rc = curl_easy_perform(c);
    *status = 0;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, status);
    curl_slist_free_all(h);
    curl_easy_cleanup(c);
    json_t *o = NULL;
    if (rc != CURLE_OK) fprintf(stderr, "semcode jobs: %s: %s\n", url, curl_easy_strerror(rc));
    else if (!(o = b.data ? json_loads(b.data, 0, NULL) : NULL))
        fprintf(stderr, "semcode jobs: %s answered %ld without JSON\n", url, *status);
    free(b.data);
    return o;
}

/* The result of an answer, or NULL after printing the server's error. */
static json_t *cli__jobs_result(json_t *ans, long status) {
    if (!ans) return NULL;
    json_t *r = json_object_get(ans, "result");
    if (status >= 200 && status < 300 && r) return r;
    const char *e = json_string_value(json_object_get(json_object_get(ans, "status"), "error"));
    fprintf(stderr, "semcode jobs: the server answered %ld: %s\n", status, e ? e : "(no message)");
    return NULL;
}

static void cli__server_init(cli_server *s, const char *url, const char *key_env) {
    const char *env = getenv("SEMCODE_SERVER");
    s->url = url ? url : env && *env ? env : CLI_JOBS_DEFAULT_URL;
    const char *k = getenv(key_env ? key_env : "SEMCODE_API_KEY");
    s->key = k && *k ? k : NULL;
    s->tty = isatty(1) != 0;
}

/* ==== Printing ==== */

static uint64_t cli__u(const json_t *o, const char *k) {
    return (uint64_t)json_integer_value(json_object_get(o, k));
}

/* What a job reads from, in a few words. */
static void cli__job_what(const json_t *j, char *out, size_t size) {
    const json_t *src = json_object_get(j, "source");
    const char *type = json_string_value(json_object_get(src, "type"));
    const char *what = json_string_value(json_object_get(src, "repo"));
    if (!what) what = json_string_value(json_object_get(src, "source_name"));
    if (!what) what = json_string_value(json_object_get(src, "name"));
    if (!what) what = json_string_value(json_object_get(src, "jql"));
    if (!what) what = json_string_value(json_object_get(src, "path"));
    snprintf(out, size, "%s %s", type ? type : "?", what ? what : "");
}

/* One line of a job: id, state, bar (or counts), rate, ETA, provider. */
static void cli__job_line(const json_t *j, bool bar, cli_jobs_buf *out) {
    char what[120], line[1024];
    cli__job_what(j, what, sizeof what);
    uint64_t total = cli__u(j, "total"), done = cli__u(j, "processed");
    const char *state = json_string_value(json_object_get(j, "state"));
    int n = snprintf(line, sizeof line, "#%-4lld %-9s %-28.28s ", (long long)json_integer_value(json_object_get(j, "id")),
                     state ? state : "?", what);
    if (bar && total) {
        int fill = (int)((double)done / (double)total * CLI_JOBS_BAR + 0.5);
        if (fill > CLI_JOBS_BAR) fill = CLI_JOBS_BAR;
        n += snprintf(line + n, sizeof line - (size_t)n, "[%.*s%*s] %3.0f%% ", fill, "########################",
                      CLI_JOBS_BAR - fill, "", (double)done * 100.0 / (double)total);
    }
    char tot[32] = "?";
    if (total) snprintf(tot, sizeof tot, "%llu", (unsigned long long)total);
    n += snprintf(line + n, sizeof line - (size_t)n, "%llu/%s records", (unsigned long long)done, tot);
    if (total) n += snprintf(line + n, sizeof line - (size_t)n, " batch %llu/%llu", (unsigned long long)cli__u(j, "batch"),
                             (unsigned long long)cli__u(j, "batches"));
    double rate = json_number_value(json_object_get(j, "records_per_second"));
    const json_t *eta = json_object_get(j, "eta_seconds");
    if (rate > 0) n += snprintf(line + n, sizeof line - (size_t)n, " %.0f/s", rate);
    if (json_is_number(eta)) n += snprintf(line + n, sizeof line - (size_t)n, " ETA %.0fs", json_number_value(eta));
    if (cli__u(j, "failed")) n += snprintf(line + n, sizeof line - (size_t)n, " failed %llu", (unsigned long long)cli__u(j, "failed"));
    const char *prov = json_string_value(json_object_get(json_object_get(j, "provider"), "in_use"));
    if (prov) n += snprintf(line + n, sizeof line - (size_t)n, " %s", prov);
    const json_t *tok = json_object_get(j, "tokens"), *cost = json_object_get(j, "estimated_cost");
    if (cli__u(tok, "total"))
        n += snprintf(line + n, sizeof line - (size_t)n, " %llu tokens ~%.4f", (unsigned long long)cli__u(tok, "total"),
                      json_number_value(json_object_get(cost, "total")));
    const char *err = json_string_value(json_object_get(j, "error"));
    if (err) snprintf(line + n, sizeof line - (size_t)n, "\n      error: %s", err);
    cli__jobs_write(line, 1, strlen(line), out);
}

static void cli__print_job(const cli_server *s, const json_t *j) {
    if (s->json) {
        char *t = json_dumps(j, JSON_INDENT(2));
        puts(t ? t : "{}");
        free(t);
        return;
    }
    cli_jobs_buf b = {NULL, 0};
    cli__job_line(j, s->tty, &b); /* a bar on a terminal, plain counts otherwise */
    puts(b.data ? b.data : "");
    free(b.data);
}

static bool cli__job_active(const json_t *j) {
    const char *st = json_string_value(json_object_get(j, "state"));
    return st && (!strcmp(st, "queued") || !strcmp(st, "running"));
}

/* Follow job id (0 = every active job) until it ends: on a terminal, bars
** redrawn in place; otherwise a line per job when its state or its count
** of batches changed, at most every 2 s. Returns the exit code. */
static int cli__follow(const cli_server *s, long long id) {
    volatile int *cancel = cli_cancel_flag();
    cli_catch_interrupts();
    int drawn = 0, rc = 0;
    json_t *prev = json_object();
    double last = 0;
    for (;;) {
        long st;
        char path[64];
        if (id) snprintf(path, sizeof path, "/jobs/%lld", id);
        json_t *ans = cli__jobs_call(s, "GET", id ? path : "/jobs", NULL, &st);
        json_t *res = cli__jobs_result(ans, st);
        if (!res) {
            json_decref(ans);
            rc = 1;
            break;
        }
        json_t *list = id ? json_pack("[O]", res) : json_incref(json_object_get(res, "jobs"));
        size_t i;
        json_t *j;
        bool any = false;
        cli_jobs_buf out = {NULL, 0};
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        double now = (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
        int lines = 0;
        json_array_foreach(list, i, j) {
            bool active = cli__job_active(j);
            char key[32];
            snprintf(key, sizeof key, "%lld", (long long)json_integer_value(json_object_get(j, "id")));
            char sig[96];
            snprintf(sig, sizeof sig, "%s %llu", json_string_value(json_object_get(j, "state")),
                     (unsigned long long)cli__u(j, "batch"));
            const char *was = json_string_value(json_object_get(prev, key));
            bool changed = !was || strcmp(was, sig);
            any |= active;
            if (!id && !active && !was) continue; /* following all: only jobs seen active */
            if (!s->tty && !id && !active && !changed) continue; /* a terminal keeps drawing it, finished */
            if (!s->tty && (!changed || (active && now - last < 2.0 && was))) continue;
            json_object_set_new(prev, key, json_string(sig));
            if (!s->tty && !s->json) {
                cli__job_line(j, false, &out);
                cli__jobs_write("\n", 1, 1, &out);
            } else if (s->tty) {
                cli__jobs_write("\033[K", 1, 3, &out);
                cli__job_line(j, true, &out);
                cli__jobs_write("\n", 1, 1, &out);
                lines++;
            }
            if (!active && id && !s->json) rc = strcmp(json_string_value(json_object_get(j, "state")), "done") ? 1 : 0;
        }
        if (!s->tty && out.len) last = now;
        if (s->tty && drawn) printf("\033[%dA", drawn);
        if (out.data) fputs(out.data, stdout);
        fflush(stdout);
        if (s->tty) drawn = lines;
        free(out.data);
        if (!any || *cancel) {
            if (s->json) {
                char *t = json_dumps(id ? res : list, JSON_INDENT(2));
                puts(t ? t : "null");
                free(t);
            }
            if (id && !cli__job_active(res))
                rc = strcmp(json_string_value(json_object_get(res, "state")), "done") ? 1 : 0;
            json_decref(list);
            json_decref(ans);
            break;
        }
        json_decref(list);
        json_decref(ans);
        struct timespec nap = {0, 500 * 1000 * 1000};
        nanosleep(&nap, NULL);
    }
    json_decref(prev);
    return rc;
}

/* ==== semcode jobs ==== */

static void cli__jobs_usage(FILE *f) {
    fprintf(f, "usage: semcode jobs [ID] [--follow] [--state S] [--json] [--server URL] [--api-key-env VAR]\n"
               "       semcode jobs cancel ID [--server URL] [--api-key-env VAR]\n\n"
               "The backfill jobs of a semcode server (POST /jobs; semcode ingest ... --server URL\n"
               "submits one): state, records done of the total, batch i of n, records per second,\n"
               "ETA, the embedding provider in use, tokens sent and their estimated cost, errors.\n"
               "A key scoped to a tenant sees only that tenant's jobs.\n\n"
               "  ID               one job (else every job, newest first)\n"
               "  --follow, -f     follow until the job (or every running and queued job) ends:\n"
               "                   a progress bar per job on a terminal, plain lines otherwise;\n"
               "                   exit status 1 when a followed job did not end done\n"
               "  --state S        only jobs in state S: queued, running, done, failed, cancelled\n"
               "  --json           print the server's JSON (docs/API.md)\n"
               "  --server URL     the server (default $SEMCODE_SERVER, else " CLI_JOBS_DEFAULT_URL ")\n"
               "  --api-key-env VAR  environment variable holding the API key (default SEMCODE_API_KEY)\n"
               "  cancel ID        cancel a job: a queued one at once, a running one after its batch\n");
}

/* A job id argument: a positive integer, else 0 after printing why. */
static long long cli__job_id(const char *s) {
    char *end = NULL;
    long long v = strtoll(s, &end, 10);
    if (!*s || *end || v <= 0) {
        cli_usage_error("jobs", "a job id is a positive integer, got '%s'", s);
        return 0;
    }
    return v;
}

int cli_cmd_jobs(int argc, char **argv) {
    enum { O_SERVER = 1000, O_KEY, O_STATE, O_JSON };
    static const struct option opts[] = {
        {"server", required_argument, NULL, O_SERVER}, {"api-key-env", required_argument, NULL, O_KEY},
        {"state", required_argument, NULL, O_STATE},   {"json", no_argument, NULL, O_JSON},
        {"follow", no_argument, NULL, 'f'},            {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *url = NULL, *key_env = NULL, *state = NULL;
    bool json = false, follow = false;
    cli_opts p;
    cli_opts_begin(&p, "jobs", argc, argv, "hf", opts);
    int ch;
    while ((ch = cli_opts_next(&p)) != -1) {
        switch (ch) {
        case O_SERVER: url = optarg; break;
        case O_KEY: key_env = optarg; break;
        case O_STATE: state = optarg; break;
        case O_JSON: json = true; break;
        case 'f': follow = true; break;
        case 'h': cli__jobs_usage(stdout); return 0;
        default: return 2;
        }
    }
    if (state && strcmp(state, "queued") && strcmp(state, "running") && strcmp(state, "done") &&
        strcmp(state, "failed") && strcmp(state, "cancelled"))
        return cli_usage_error("jobs", "--state must be queued, running, done, failed or cancelled, got '%s'", state);
    cli_server s;
    cli__server_init(&s, url, key_env);
    s.json = json;
    int n_pos = argc - optind;
    bool cancel = n_pos >= 1 && !strcmp(argv[optind], "cancel");
    if (cancel && n_pos != 2) return cli_usage_error("jobs", "%s", "usage: semcode jobs cancel ID");
    if (!cancel && n_pos > 1) return cli_usage_error("jobs", "expected at most one job id, got also '%s'", argv[optind + 1]);
    long long id = 0;
    if (n_pos && !(id = cli__job_id(argv[optind + (cancel ? 1 : 0)]))) return 2;
    if (follow && !cancel) return cli__follow(&s, id);
    char path[128];
    if (id) snprintf(path, sizeof path, "/jobs/%lld", id);
    else snprintf(path, sizeof path, "/jobs%s%s", state ? "?state=" : "", state ? state : "");
    long st;
    json_t *ans = cli__jobs_call(&s, cancel ? "DELETE" : "GET", path, NULL, &st);
    json_t *res = cli__jobs_result(ans, st);
    if (!res) {
        json_decref(ans);
        return 1;
    }
    if (id) {
        cli__print_job(&s, res);
    } else if (json) {
        char *t = json_dumps(json_object_get(res, "jobs"), JSON_INDENT(2));
        puts(t ? t : "[]");
        free(t);
    } else {
        size_t i;
        json_t *j;
        json_array_foreach(json_object_get(res, "jobs"), i, j) cli__print_job(&s, j);
        if (!json_array_size(json_object_get(res, "jobs"))) printf("no jobs\n");
    }
    json_decref(ans);
    return 0;
}

/* ==== ingest --server ==== */

int cli_jobs_check_local(const cli_ingest_common *c) {
    if (c->server) return 0;
    const char *opt = c->prefer ? "--prefer" : c->priority ? "--priority" : c->batch ? "--batch-size"
                      : c->concurrency ? "--concurrency" : c->follow ? "--follow" : c->api_key_env ? "--api-key-env" : NULL;
    return opt ? cli_usage_error("ingest", "%s applies to a job: give --server URL too", opt) : 0;
}

/* Put integer option `name` (text arg, NULL = absent) into opts as key; 0 or 2. */
static int cli__job_int(json_t *opts, const char *key, const char *name, const char *arg, long long lo, long long hi) {
    if (!arg) return 0;
    char *end = NULL;
    long long v = strtoll(arg, &end, 10);
    if (!*arg || *end || v < lo || v > hi) {
        fprintf(stderr, "semcode ingest: %s must be an integer from %lld to %lld, got '%s'\n", name, lo, hi, arg);
        return 2;
    }
    json_object_set_new(opts, key, json_integer(v));
    return 0;
}

int cli_jobs_submit(const cli_ingest_common *c, json_t *source) {
    if (c->templates_path || c->store || c->model || c->cache) {
        json_decref(source);
        return cli_usage_error("ingest", "%s",
                               "--templates, --store, --model and --cache apply to a local run, not to --server "
                               "(the server uses its own store and routes the provider by --prefer)");
    }
    if (c->prefer && strcmp(c->prefer, "fast") && strcmp(c->prefer, "balanced") && strcmp(c->prefer, "quality")) {
        json_decref(source);
        return cli_usage_error("ingest", "--prefer must be fast, balanced or quality, got '%s'", c->prefer);
    }
    json_t *opts = json_object();
    if (c->prefer) json_object_set_new(opts, "provider", json_string(c->prefer));
    if (c->full) json_object_set_new(opts, "full", json_true());
    if (cli__job_int(opts, "priority", "--priority", c->priority, -1000, 1000) ||
        cli__job_int(opts, "batch_size", "--batch-size", c->batch, 1, 65536) ||
        cli__job_int(opts, "concurrency", "--concurrency", c->concurrency, 1, 64)) {
        json_decref(opts);
        json_decref(source);
        return 2;
    }
    if (c->source) json_object_set_new(source, "source_name", json_string(c->source));
    json_t *body = json_pack("{s:o, s:o}", "source", source, "options", opts);
    if (c->tenant) json_object_set_new(body, "tenant", json_string(c->tenant));
    char *text = json_dumps(body, JSON_COMPACT);
    json_decref(body);
    cli_server s;
    cli__server_init(&s, c->server, c->api_key_env);
    s.json = c->json;
    long st;
    json_t *ans = text ? cli__jobs_call(&s, "POST", "/jobs", text, &st) : NULL;
    free(text);
    json_t *res = cli__jobs_result(ans, st);
    int rc = res ? 0 : 1;
    long long id = res ? (long long)json_integer_value(json_object_get(res, "id")) : 0;
    if (res && !c->follow) {
        if (c->json) cli__print_job(&s, res);
        else if (!c->quiet)
            printf("submitted job %lld to %s (priority %lld); follow it with: semcode jobs %lld --follow --server %s\n",
                   id, s.url, (long long)json_integer_value(json_object_get(res, "priority")), id, s.url);
    }
    json_decref(ans);
    if (res && c->follow) rc = cli__follow(&s, id);
    return rc;
}
