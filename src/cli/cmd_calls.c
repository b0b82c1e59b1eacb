/*
** cli/cmd_calls.c: `semcode callers TARGET` and `semcode callees TARGET`,
** the call graph of the index (sc_repo_callers / sc_repo_callees), as text
** or JSON.
*/
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "semcode/semcode.h"

static void cli__calls_usage(FILE *f, const char *cmd) {
    bool callers = !strcmp(cmd, "callers");
    fprintf(f,
            "usage: semcode %s TARGET [--json] [--limit N] [--store DIR] [--repo PATH]...\n\n"
            "%s\n"
            "TARGET is a name (every entity of that name), a qualified name as search\n"
            "prints it (Session.request, net/http.(*Client).Do) or path:line (the innermost\n"
            "entity covering that line). Calls are resolved by scope: the caller's class for\n"
            "self/this, imports, the same file, the package or directory, then a name unique\n"
            "in the repository; ambiguous calls are left out. Each line shows the call site\n"
            "and how it was resolved. An index made before the call graph gets it with its\n"
            "next `semcode index` run.\n\n"
            "  --json          one JSON object: {direction, targets, %s: [{path, line, name,\n"
            "                  receiver, how, %s: entity}], unresolved, took_ms}\n"
            "  --limit N       at most N edges (default: all)\n"
            "  --store DIR     use the index in DIR (default: found from the working folder)\n\n"
            CLI_REPOS_HELP "  (TARGET is looked up in each repository; calls resolve within each)\n",
            cmd,
            callers ? "List the code that calls TARGET: every call site of the index resolved to it,\n"
                      "with the function, method or file that makes the call.\n"
                    : "List what TARGET calls: every call site inside it, with the entity of the\n"
                      "repository it resolves to, or \"(unresolved)\" for library, builtin or ambiguous\n"
                      "calls.\n",
            cmd, callers ? "caller" : "callee");
}

/* What one repository's call graph run needs and makes (cli_repos_each). */
typedef struct cli_calls_run {
    const char *cmd;   /* callers or callees */
    const char *target;/* TARGET */
    uint32_t limit;    /* --limit (0 = all) */
    bool json;         /* --json */
    json_t *acc;       /* --json over several repositories: the folded result */
} cli_calls_run;

/* Print the edges of g as text, each line after [repo] when repo is given. */
static void cli__calls_print(const sc_call_edges *g, bool callers, const char *repo) {
    char tag[80] = "";
    if (repo) snprintf(tag, sizeof tag, "[%s] ", repo);
    for (size_t i = 0; i < g->n_targets; i++)
        printf("%s%s %s:%u  %s  %s\n", tag, i ? "     " : (callers ? "callers of" : "callees of"), g->targets[i].path,
               g->targets[i].start_line, g->targets[i].kind, g->targets[i].qualified_name);
    if (!g->n) printf("%s  (none)\n", tag);
    for (size_t i = 0; i < g->n; i++) {
        const sc_call_edge *e = &g->items[i];
        const sc_call_entity *x = callers ? &e->caller : &e->callee;
        if (callers)
            printf("%s  %s:%u  %s  %s  [%s]\n", tag, e->path, e->line, x->kind, x->qualified_name, e->how);
        else if (x->id)
            printf("%s  %s:%u  %s%s%s -> %s %s:%u  [%s]\n", tag, e->path, e->line, e->receiver ? e->receiver : "",
                   e->receiver ? "." : "", e->name, x->qualified_name, x->path, x->start_line, e->how);
        else
            printf("%s  %s:%u  %s%s%s  (unresolved)\n", tag, e->path, e->line, e->receiver ? e->receiver : "",
                   e->receiver ? "." : "", e->name);
    }
}

/* The call graph of TARGET in one repository (name NULL: the only one), printed or folded into run->acc. */
static sc_status cli__calls_one(void *arg, const char *name, sc_repo *r, char *msg, size_t msg_size) {
    cli_calls_run *run = arg;
    bool callers = !strcmp(run->cmd, "callers");
    sc_call_edges *g = NULL;
    sc_status st = callers ? sc_repo_callers(r, run->target, run->limit, &g)
                           : sc_repo_callees(r, run->target, run->limit, &g);
    if (st != SC_OK) {
        snprintf(msg, msg_size, "%s", sc_repo_errmsg(r));
        return st;
    }
    if (run->json && name) {
        static const char *const keys_callers[] = {"targets", "callers", NULL}, *const keys_callees[] = {"targets", "callees", NULL};
        char *txt = sc_call_edges_json(g, run->cmd);
        cli_json_fold(&run->acc, txt ? json_loads(txt, 0, NULL) : NULL, name, callers ? keys_callers : keys_callees);
        sc_free(txt);
    } else if (run->json) {
        char *txt = sc_call_edges_json(g, run->cmd);
        puts(txt ? txt : "{}");
        sc_free(txt);
    } else {
        cli__calls_print(g, callers, name);
    }
    sc_call_edges_free(g);
    return SC_OK;
}

/* semcode callers|callees TARGET. */
static int cli__calls(const char *cmd, int argc, char **argv) {
    enum { O_STORE = 1000, O_JSON, O_LIMIT };
    static const struct option opts[] = {
        {"store", required_argument, NULL, O_STORE}, {"json", no_argument, NULL, O_JSON},
        {"limit", required_argument, NULL, O_LIMIT}, {"help", no_argument, NULL, 'h'},
        CLI_REPOS_LONG_OPTIONS,                      {NULL, 0, NULL, 0},
    };
    const char *store = NULL;
    bool json = false;
    uint32_t limit = 0;
    cli_repos repos = {.n = 0};
    cli_opts p;
    cli_opts_begin(&p, cmd, argc, argv, "hn:", opts);
    int ch;
    while ((ch = cli_opts_next(&p)) != -1) {
        switch (ch) {
        case O_STORE: store = optarg; break;
        case O_JSON: json = true; break;
        case 'n':
        case O_LIMIT:
            if (cli_opt_u32(cmd, "--limit", optarg, 1, 1000000, &limit)) return 2;
            break;
        case 'h': cli__calls_usage(stdout, cmd); return 0;
        case CLI_O_REPO:
        case CLI_O_WORKSPACE:
            if (cli_repos_option(cmd, &repos, ch, optarg)) return 2;
            break;
        default: return 2;
        }
    }
    if (optind != argc - 1)
        return cli_usage_error(cmd, "%s", "exactly one TARGET (name, qualified name or path:line) is required");
    cli_calls_run run = {.cmd = cmd, .target = argv[optind], .limit = limit, .json = json};
    if (cli_repos_given(&repos)) {
        int rc = cli_repos_each(cmd, &repos, NULL, false, cli__calls_one, &run);
        if (!rc && json) cli_json_put(run.acc), run.acc = NULL;
        json_decref(run.acc);
        return rc;
    }
    sc_repo *r = cli_repo_open(cmd, store, NULL, false, 0, NULL, NULL, false);
    if (!r) return 1;
    char msg[1024];
    int exit_code = 0;
    if (cli__calls_one(&run, NULL, r, msg, sizeof msg) != SC_OK) {
        fprintf(stderr, "semcode %s: %s\n", cmd, msg);
        exit_code = 1;
    }
    sc_repo_close(r);
    return exit_code;
}

int cli_cmd_callers(int argc, char **argv) { return cli__calls("callers", argc, argv); }

int cli_cmd_callees(int argc, char **argv) { return cli__calls("callees", argc, argv); }
