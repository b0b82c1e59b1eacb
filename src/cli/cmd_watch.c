/*
** cli/cmd_watch.c: `semcode watch [PATH]`, which keeps the index of a tree
** fresh by itself (semcode/watch.h) until SIGINT/SIGTERM: one line per
** update on stdout (text, or a JSON object with --json).
*/
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"

static void cli__watch_usage(FILE *f) {
    fprintf(f,
            "usage: semcode watch [PATH] [options]\n\n"
            "Index the tree at PATH (default: the current folder) and keep the index fresh:\n"
            "file changes (edits, new files and folders, renames, deletes, branch switches)\n"
            "are followed with inotify and, once they settle, the index is updated\n"
            "incrementally as 'semcode index' does. Paths the index ignores (.gitignore,\n"
            ".semcodeignore, .git, node_modules, vendored folders) do not start updates.\n"
            "A lost event queue makes a full rescan. Runs until Ctrl-C; the index is locked\n"
            "meanwhile (search it through 'semcode serve --repo PATH --watch' instead).\n\n"
            "options:\n"
            "  --store DIR       where the index lives (default $SEMCODE_STORE, else PATH/.semcode)\n"
            "  --model FILE      embedding model file, or builtin (default: the model the index records;\n"
            "                    the built-in one for a new index)\n"
            "  --debounce MS     quiet time after the last change before updating (default 250)\n"
            "  --max-delay MS    update at the latest this long after the first change (default 2000)\n"
            "  --cpu PERCENT     share of one core the updates may use over time, 1-100 (default 50)\n"
            "  --nice N          niceness of the indexing thread, 0-19 (default 10)\n"
            "  --threads N       parser threads (default 1)\n"
            "  --json            one JSON object per update: {initial, rescan, events, paths, waited_s,\n"
            "                    seconds, parsed, deleted, entities_added, entities_updated,\n"
            "                    entities_removed, dirs_watched, ok, error}\n"
            "  -q, --quiet       print nothing but errors\n");
}

/* What the report callback prints with. */
typedef struct cli_watch_out {
    bool json;  /* --json */
    bool quiet; /* --quiet */
} cli_watch_out;

static void cli__watch_report(void *arg, const sc_watch_report *r) {
    const cli_watch_out *o = arg;
    const sc_repo_summary *s = r->summary;
    if (r->status != SC_OK) fprintf(stderr, "semcode watch: update failed: %s\n", r->errmsg ? r->errmsg : "");
    if (o->json) {
        json_t *j = json_pack("{s:b, s:b, s:I, s:I, s:f, s:f, s:I, s:I, s:I, s:I, s:I, s:i, s:b}", "initial", r->initial,
                              "rescan", r->rescan, "events", (json_int_t)r->events, "paths", (json_int_t)r->paths,
                              "waited_s", r->waited, "seconds", s->seconds_total, "parsed", (json_int_t)s->files_parsed,
                              "deleted", (json_int_t)s->files_deleted, "entities_added", (json_int_t)s->entities_added,
                              "entities_updated", (json_int_t)s->entities_updated, "entities_removed",
                              (json_int_t)s->entities_removed, "dirs_watched", (int)r->dirs_watched, "ok",
                              r->status == SC_OK);
        if (j && r->status != SC_OK) json_object_set_new(j, "error", json_string(r->errmsg ? r->errmsg : ""));
        char *t = j ? json_dumps(j, JSON_COMPACT) : NULL;
        if (t) puts(t);
        free(t);
        json_decref(j);
    } else if (!o->quiet) {
        printf("%s in %.2fs: %llu parsed, %llu deleted, entities +%llu ~%llu -%llu (%llu events%s, %u folders watched)\n",
               r->initial ? "indexed" : "updated", s->seconds_total, (unsigned long long)s->files_parsed,
               (unsigned long long)s->files_deleted, (unsigned long long)s->entities_added,
               (unsigned long long)s->entities_updated, (unsigned long long)s->entities_removed,
               (unsigned long long)r->events, r->rescan ? ", rescan" : "", r->dirs_watched);
    }
    fflush(stdout);
}

int cli_cmd_watch(int argc, char **argv) {
    enum { O_STORE = 1000, O_MODEL, O_DEBOUNCE, O_MAXDELAY, O_CPU, O_NICE, O_THREADS, O_JSON, O_QUIET };
    static const struct option opts[] = {
        {"store", required_argument, NULL, O_STORE},       {"model", required_argument, NULL, O_MODEL},
        {"debounce", required_argument, NULL, O_DEBOUNCE}, {"max-delay", required_argument, NULL, O_MAXDELAY},
        {"cpu", required_argument, NULL, O_CPU},           {"nice", required_argument, NULL, O_NICE},
        {"threads", required_argument, NULL, O_THREADS},   {"json", no_argument, NULL, O_JSON},
        {"quiet", no_argument, NULL, O_QUIET},             {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    sc_watch_options wo = sc_watch_options_default();
    const char *store = NULL, *model = NULL;
    uint32_t threads = 1, nice_v = (uint32_t)wo.nice;
    cli_watch_out out = {false, false};
    cli_opts p;
    cli_opts_begin(&p, "watch", argc, argv, "hq", opts);
    int ch;
    while ((ch = cli_opts_next(&p)) != -1) {
        switch (ch) {
        case O_STORE: store = optarg; break;
        case O_MODEL:
            model = strcmp(optarg, "builtin") ? optarg : cli_default_model();
            break;
        case O_DEBOUNCE:
            if (cli_opt_u32("watch", "--debounce", optarg, 0, 600000, &wo.debounce_ms)) return 2;
            break;
        case O_MAXDELAY:
            if (cli_opt_u32("watch", "--max-delay", optarg, 0, 3600000, &wo.max_delay_ms)) return 2;
            break;
        case O_CPU:
            if (cli_opt_u32("watch", "--cpu", optarg, 1, 100, &wo.cpu_percent)) return 2;
            break;
        case O_NICE:
            if (cli_opt_u32("watch", "--nice", optarg, 0, 19, &nice_v)) return 2;
            break;
        case O_THREADS:
            if (cli_opt_u32("watch", "--threads", optarg, 1, 64, &threads)) return 2;
            break;
        case O_JSON: out.json = true; break;
        case 'q':
        case O_QUIET: out.quiet = true; break;
        case 'h': cli__watch_usage(stdout); return 0;
        default: return 2;
        }
    }
    if (argc - optind > 1) return cli_usage_error("watch", "expected one PATH, got also '%s'", argv[optind + 1]);
    wo.nice = (int)nice_v;
    const char *path = optind < argc ? argv[optind] : ".";
    sc_repo *r = cli_repo_open("watch", store, model, false, threads, NULL, path, true);
    if (!r) return 1;
    wo.report = cli__watch_report;
    wo.report_arg = &out;
    /* Signals are taken by sigwait below; the watcher thread never sees them. */
    sigset_t set, old;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &set, &old);
    sc_watch *w = NULL;
    char *err = NULL;
    if (sc_watch_start(r, &wo, &w, &err) != SC_OK) {
        fprintf(stderr, "semcode watch: %s\n", err ? err : "cannot start");
        sc_free(err);
        sc_repo_close(r);
        pthread_sigmask(SIG_SETMASK, &old, NULL);
        return 1;
    }
    if (!out.quiet && !out.json) fprintf(stderr, "semcode watch: watching %s (Ctrl-C to stop)\n", sc_repo_root(r));
    int sig = 0;
    while (sigwait(&set, &sig) != 0) {
    }
    /* A second signal ends the process at once (the index stays consistent). */
    signal(SIGINT, SIG_DFL);
    signal(SIGTERM, SIG_DFL);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    sc_watch_stop(w);
    sc_repo_close(r);
    if (!out.quiet && !out.json) fprintf(stderr, "semcode watch: stopped\n");
    return 0;
}
