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
            "usage: semcode %s TARGET [--json] [--limit N] [--store DIR]\n\n"
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
            "  --store DIR     use the index in DIR (default: found from the working folder)\n",
            cmd,
            callers ? "List the code that calls TARGET: every call site of the index resolved to it,\n"
                      "with the function, method or file that makes the call.\n"
                    : "List what TARGET calls: every call site inside it, with the entity of the\n"
                      "repository it resolves to, or \"(unresolved)\" for library, builtin or ambiguous\n"
                      "calls.\n",
            cmd, callers ? "caller" : "callee");
}

/* semcode callers|callees TARGET. */
static int cli__calls(const char *cmd, int argc, char **argv) {
    enum { O_STORE = 1000, O_JSON, O_LIMIT };
    static const struct option opts[] = {
        {"store", required_argument, NULL, O_STORE}, {"json", no_argument, NULL, O_JSON},
        {"limit", required_argument, NULL, O_LIMIT}, {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *store = NULL;
    bool json = false;
    uint32_t limit = 0;
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
        default: return 2;
        }
    }
    if (optind != argc - 1)
        return cli_usage_error(cmd, "%s", "exactly one TARGET (name, qualified name or path:line) is required");
    const char *target = argv[optind];
    sc_repo *r = cli_repo_open(cmd, store, NULL, false, 0, NULL, NULL, false);
    if (!r) return 1;
    bool callers = !strcmp(cmd, "callers");
    sc_call_edges *g = NULL;
    sc_status st = callers ? sc_repo_callers(r, target, limit, &g) : sc_repo_callees(r, target, limit, &g);
    int exit_code = 0;
    if (st != SC_OK) {
        fprintf(stderr, "semcode %s: %s\n", cmd, sc_repo_errmsg(r));
        exit_code = 1;
    } else if (json) {
        char *txt = sc_call_edges_json(g, cmd);
        puts(txt ? txt : "{}");
        sc_free(txt);
    } else {
        for (size_t i = 0; i < g->n_targets; i++)
            printf("%s %s:%u  %s  %s\n", i ? "     " : (callers ? "callers of" : "callees of"), g->targets[i].path,
                   g->targets[i].start_line, g->targets[i].kind, g->targets[i].qualified_name);
        if (!g->n) printf("  (none)\n");
        for (size_t i = 0; i < g->n; i++) {
            const sc_call_edge *e = &g->items[i];
            const sc_call_entity *x = callers ? &e->caller : &e->callee;
            char site[64];
            snprintf(site, sizeof site, "%u", e->line);
            if (callers)
                printf("  %s:%s  %s  %s  [%s]\n", e->path, site, x->kind, x->qualified_name, e->how);
            else if (x->id)
                printf("  %s:%s  %s%s%s -> %s %s:%u  [%s]\n", e->path, site, e->receiver ? e->receiver : "",
                       e->receiver ? "." : "", e->name, x->qualified_name, x->path, x->start_line, e->how);
            else
                printf("  %s:%s  %s%s%s  (unresolved)\n", e->path, site, e->receiver ? e->receiver : "",
                       e->receiver ? "." : "", e->name);
        }
    }
    sc_call_edges_free(g);
    sc_repo_close(r);
    return exit_code;
}

int cli_cmd_callers(int argc, char **argv) { return cli__calls("callers", argc, argv); }

int cli_cmd_callees(int argc, char **argv) { return cli__calls("callees", argc, argv); }
