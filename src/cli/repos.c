/*
** cli/repos.c: the --repo / --workspace options shared by the commands
** that can run on several repositories (search, similar, duplicates,
** history, callers, callees): opening them as a workspace
** (sc_workspace_open, sc_workspace_open_file), choosing among them, running
** a command's operation on each, and folding the per-repository JSON
** results into one object whose items name their repository.
*/
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"

int cli_repos_option(const char *cmd, cli_repos *r, int ch, const char *arg) {
    if (ch == CLI_O_WORKSPACE) {
        r->workspace = arg;
        return 0;
    }
    if (ch != CLI_O_REPO) return -1;
    if (r->n == CLI_REPOS_MAX) return cli_usage_error(cmd, "too many --repo (at most 32): '%s'", arg);
    r->items[r->n++] = arg;
    return 0;
}

bool cli_repos_given(const cli_repos *r) { return r->n || r->workspace; }

int cli_repos_open(const char *cmd, const cli_repos *r, const char *model, bool cache, sc_workspace **ws,
                   bool chosen[SC_WORKSPACE_MAX_REPOS]) {
    sc_repo_options o = sc_repo_options_default();
    o.model_path = model;
    o.use_cache = cache;
    char *err = NULL;
    sc_status rc;
    *ws = NULL;
    if (r->workspace) {
        rc = sc_workspace_open_file(r->workspace, &o, ws, &err);
    } else {
        sc_workspace_entry e[CLI_REPOS_MAX];
        char *own[CLI_REPOS_MAX] = {NULL};
        for (size_t i = 0; i < r->n; i++) {
            const char *eq = strchr(r->items[i], '=');
            e[i] = (sc_workspace_entry){.path = eq ? eq + 1 : r->items[i]};
            if (eq) e[i].name = own[i] = strndup(r->items[i], (size_t)(eq - r->items[i]));
        }
        rc = sc_workspace_open(e, r->n, &o, ws, &err);
        for (size_t i = 0; i < r->n; i++) free(own[i]);
    }
    if (rc != SC_OK) {
        fprintf(stderr, "semcode %s: %s\n", cmd, err ? err : sc_status_str(rc));
        sc_free(err);
        return 1;
    }
    size_t n = sc_workspace_count(*ws);
    /* --repo names choose among a workspace file's repositories; given as paths, every one is used */
    bool all = !r->workspace || r->n == 0;
    for (size_t i = 0; r->workspace && i < r->n; i++)
        if (!strcmp(r->items[i], "all")) all = true;
    for (size_t i = 0; i < n; i++) chosen[i] = all;
    for (size_t i = 0; !all && i < r->n; i++) {
        int k = sc_workspace_find(*ws, r->items[i]);
        if (k < 0) {
            char names[1024];
            fprintf(stderr, "semcode %s: no repository named '%s' in %s (it has: %s)\n", cmd, r->items[i],
                    r->workspace, sc_workspace_names(*ws, names, sizeof names));
            sc_workspace_close(*ws);
            *ws = NULL;
            return 1;
        }
        chosen[k] = true;
    }
    return 0;
}

int cli_repos_each(const char *cmd, const cli_repos *r, const char *model, bool cache, cli_repo_fn fn, void *arg) {
    sc_workspace *ws = NULL;
    bool chosen[SC_WORKSPACE_MAX_REPOS] = {false};
    if (cli_repos_open(cmd, r, model, cache, &ws, chosen)) return 1;
    char msg[1024] = "", missing[1024] = "";
    size_t n_ok = 0, n_missing = 0;
    int exit_code = 0;
    for (size_t i = 0; i < sc_workspace_count(ws) && !exit_code; i++) {
        if (!chosen[i]) continue;
        msg[0] = 0;
        sc_status rc = fn(arg, sc_workspace_name(ws, i), sc_workspace_repo(ws, i), msg, sizeof msg);
        if (rc == SC_OK) n_ok++;
        else if (rc == SC_NOTFOUND) {
            if (!n_missing++) snprintf(missing, sizeof missing, "%s", msg);
        } else {
            fprintf(stderr, "semcode %s: [%s] %s\n", cmd, sc_workspace_name(ws, i), *msg ? msg : sc_status_str(rc));
            exit_code = 1;
        }
    }
    if (!exit_code && !n_ok) {
        fprintf(stderr, "semcode %s: in no repository: %s\n", cmd, *missing ? missing : "nothing to do");
        exit_code = 1;
    }
    sc_workspace_close(ws);
    return exit_code;
}

void cli_json_fold(json_t **acc, json_t *part, const char *name, const char *const *keys) {
    if (!part) return;
    for (size_t k = 0; keys[k]; k++) {
        json_t *a = json_object_get(part, keys[k]), *x;
        size_t i;
        json_array_foreach(a, i, x) if (json_is_object(x)) json_object_set_new(x, "repo", json_string(name));
    }
    if (!*acc) {
        *acc = part;
        return;
    }
    for (size_t k = 0; keys[k]; k++) {
        json_t *dst = json_object_get(*acc, keys[k]), *src = json_object_get(part, keys[k]);
        if (json_is_array(dst) && json_is_array(src)) json_array_extend(dst, src);
    }
    static const char *const sums[] = {"took_ms", "unresolved"};
    for (size_t k = 0; k < 2; k++) {
        json_t *dst = json_object_get(*acc, sums[k]), *src = json_object_get(part, sums[k]);
        if (json_is_integer(dst) && json_is_integer(src))
            json_object_set_new(*acc, sums[k], json_integer(json_integer_value(dst) + json_integer_value(src)));
        else if (json_is_number(dst) && json_is_number(src))
            json_object_set_new(*acc, sums[k], json_real(json_number_value(dst) + json_number_value(src)));
    }
    json_decref(part);
}

void cli_json_put(json_t *o) {
    char *txt = o ? json_dumps(o, JSON_COMPACT | JSON_REAL_PRECISION(17)) : NULL;
    puts(txt ? txt : "{}");
    free(txt);
    json_decref(o);
}
