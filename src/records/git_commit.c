/*
** records/git_commit.c: one git commit as a record.
**
** Fields: subject, body, author, author_email, author_date, committer,
** committer_email, committer_date, date (the author date, what `git log`
** shows and history is ordered by), merge, n_parents, files (objects of
** path, status, added, removed, and old_path for renames and copies,
** binary for binary files; the first max_files), paths and dirs (keyword
** arrays), files_changed, insertions, deletions (of every file), and links:
** parent (each parent's sha) and entity (code entities touched).
**
** DESIGN
** - The diff is against the first parent (the root commit: against an
**   empty tree), as `git show --first-parent` and GitHub's merge view; zero
**   context lines, renames detected as `git log` does by default.
** - Links are computed from the commit itself, not from today's index: the
**   new side of each changed file is parsed with the same parser and
**   options as `semcode index`, and every entity (chunks aside) whose line
**   range meets a hunk is linked by its point id (pipeline_entity_id: path
**   relative to the indexed root, kind, qualified name, ordinal). An entity
**   that still exists under that name today is the same point, however far
**   its lines have moved since. Merge commits are not linked: the changes
**   they bring were made, and linked, by the commits they merge.
*/
#include "records/git_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pipeline/pipeline.h"

/* ==== Links ==== */

/* New-side line ranges of a patch's hunks (a pure deletion touches the
** line before it). Owned array of pairs in *ranges, count in *n. */
static bool gc__hunk_ranges(git_patch *patch, uint32_t **ranges, size_t *n) {
    size_t nh = git_patch_num_hunks(patch);
    *n = 0;
    *ranges = malloc(sizeof **ranges * 2 * (nh ? nh : 1));
    if (!*ranges) return false;
    for (size_t h = 0; h < nh; h++) {
        const git_diff_hunk *hk = NULL;
        size_t lines;
        if (git_patch_get_hunk(&hk, &lines, patch, h) != 0) continue;
        uint32_t a = hk->new_start > 0 ? (uint32_t)hk->new_start : 1;
        uint32_t z = hk->new_lines > 0 ? a + (uint32_t)hk->new_lines - 1 : a;
        (*ranges)[2 * *n] = a;
        (*ranges)[2 * *n + 1] = z;
        (*n)++;
    }
    return true;
}

/* Link rec to the entities of the new side of delta that its hunks touched. */
static sc_status gc__link_file(git_run *run, sc_rec *rec, const git_diff_delta *d, git_patch *patch) {
    const char *path = d->new_file.path;
    size_t pl = strlen(run->prefix);
    if (strncmp(path, run->prefix, pl)) return SC_OK; /* outside the indexed root */
    const char *rel = path + pl;
    if (!sc_lang_has_grammar(sc_lang_detect(rel, NULL, 0))) return SC_OK;
    git_blob *blob = NULL;
    if (git_blob_lookup(&blob, run->repo, &d->new_file.id) != 0) return SC_OK; /* a submodule, say */
    uint32_t *ranges = NULL;
    size_t nr = 0;
    sc_parse_result *res = NULL;
    sc_parse_options popt = sc_parse_options_default();
    sc_status rc = SC_OK;
    if (!gc__hunk_ranges(patch, &ranges, &nr)) rc = records_fail(run->rs, SC_NOMEM, "out of memory");
    else if (nr && sc_parser_parse(run->parser, rel, git_blob_rawcontent(blob), (size_t)git_blob_rawsize(blob), &popt,
                                   &res) != SC_OK)
        rc = records_fail(run->rs, SC_NOMEM, "parsing %s: %s", rel, sc_parser_errmsg(run->parser));
    for (uint32_t i = 0; rc == SC_OK && res && i < res->n_entities; i++) {
        const sc_entity *e = &res->entities[i];
        if (e->kind == SC_ENTITY_KIND_CHUNK) continue;
        bool hit = false;
        for (size_t k = 0; k < nr && !hit; k++) hit = e->start_line <= ranges[2 * k + 1] && e->end_line >= ranges[2 * k];
        if (!hit) continue;
        char id[24];
        snprintf(id, sizeof id, "%llu", (unsigned long long)pipeline_entity_id(rel, e, pipeline_entity_ordinal(res, i)));
        if (sc_rec_add_link(rec, "entity", id) != SC_OK) rc = records_fail(run->rs, SC_NOMEM, "%s", sc_rec_errmsg(rec));
        else run->sum->links++;
    }
    sc_parse_result_free(res);
    free(ranges);
    git_blob_free(blob);
    return rc;
}

/* ==== Files ==== */

/* Add the changed files of diff to rec (files, paths, dirs, counts, links). */
static sc_status gc__files(git_run *run, sc_rec *rec, git_diff *diff, bool link) {
    size_t n = git_diff_num_deltas(diff), kept = 0, linked = 0;
    size_t adds_total = 0, dels_total = 0;
    json_t *files = json_array(), *dirs = json_object();
    sc_status rc = files && dirs ? SC_OK : records_fail(run->rs, SC_NOMEM, "out of memory");
    for (size_t i = 0; rc == SC_OK && i < n; i++) {
        git_patch *patch = NULL;
        if (git_patch_from_diff(&patch, diff, i) != 0 || !patch) {
            rc = git_fail(run, SC_IOERR, "diffing a file");
            break;
        }
        const git_diff_delta *d = git_patch_get_delta(patch);
        size_t adds = 0, dels = 0;
        git_patch_line_stats(NULL, &adds, &dels, patch);
        adds_total += adds;
        dels_total += dels;
        const char *path = d->status == GIT_DELTA_DELETED ? d->old_file.path : d->new_file.path;
        if (kept < run->opt->max_files) {
            char st[2] = {git_diff_status_char(d->status), 0};
            json_t *f = json_pack("{s:s, s:s, s:I, s:I}", "path", path, "status", st, "added", (json_int_t)adds,
                                  "removed", (json_int_t)dels);
            if (f && (d->status == GIT_DELTA_RENAMED || d->status == GIT_DELTA_COPIED))
                json_object_set_new(f, "old_path", json_string(d->old_file.path));
            if (f && (d->flags & GIT_DIFF_FLAG_BINARY)) json_object_set_new(f, "binary", json_true());
            if (!f || json_array_append_new(files, f) != 0 || sc_rec_add_keyword(rec, "paths", path) != SC_OK)
                rc = records_fail(run->rs, SC_NOMEM, "out of memory");
            kept++;
        }
        const char *slash = strchr(path, '/');
        char dir[256];
        snprintf(dir, sizeof dir, "%.*s", slash ? (int)(slash - path) : 1, slash ? path : ".");
        if (rc == SC_OK && json_object_size(dirs) < 100) json_object_set_new(dirs, dir, json_true());
        if (rc == SC_OK && link && d->status != GIT_DELTA_DELETED && !(d->flags & GIT_DIFF_FLAG_BINARY) &&
            linked < GIT_LINK_MAX_FILES) {
            linked++;
            rc = gc__link_file(run, rec, d, patch);
        }
        git_patch_free(patch);
    }
    const char *dk;
    json_t *dv;
    json_object_foreach(dirs, dk, dv) if (rc == SC_OK && sc_rec_add_keyword(rec, "dirs", dk) != SC_OK)
        rc = records_fail(run->rs, SC_NOMEM, "out of memory");
    if (rc == SC_OK && (records_rec_set_value(rec, "files", json_incref(files)) != SC_OK ||
                        sc_rec_set_int(rec, "files_changed", (int64_t)n) != SC_OK ||
                        sc_rec_set_int(rec, "insertions", (int64_t)adds_total) != SC_OK ||
                        sc_rec_set_int(rec, "deletions", (int64_t)dels_total) != SC_OK ||
                        (kept < n && sc_rec_set_bool(rec, "files_truncated", true) != SC_OK)))
        rc = records_fail(run->rs, SC_NOMEM, "out of memory");
    json_decref(files);
    json_decref(dirs);
    return rc;
}

/* ==== The commit ==== */

/* Set name, email and date fields of a signature (prefix "author" / "committer"). */
static sc_status gc__person(sc_rec *rec, const char *who, const git_signature *sig) {
    char f[32];
    sc_status rc = sc_rec_set_str(rec, who, sig && sig->name ? sig->name : "");
    snprintf(f, sizeof f, "%s_email", who);
    if (rc == SC_OK) rc = sc_rec_set_str(rec, f, sig && sig->email ? sig->email : "");
    snprintf(f, sizeof f, "%s_date", who);
    if (rc == SC_OK && sig) rc = sc_rec_set_date(rec, f, (int64_t)sig->when.time);
    return rc;
}

/* The diff of commit against its first parent (or an empty tree). */
static sc_status gc__diff(git_run *run, git_commit *commit, git_diff **out) {
    git_tree *tree = NULL, *ptree = NULL;
    git_commit *parent = NULL;
    git_diff_options dopt;
    git_diff_options_init(&dopt, GIT_DIFF_OPTIONS_VERSION);
    dopt.context_lines = 0;
    dopt.interhunk_lines = 0;
    git_diff_find_options fopt;
    git_diff_find_options_init(&fopt, GIT_DIFF_FIND_OPTIONS_VERSION);
    fopt.flags = GIT_DIFF_FIND_RENAMES;
    sc_status rc = SC_OK;
    if (git_commit_tree(&tree, commit) != 0 ||
        (git_commit_parentcount(commit) && (git_commit_parent(&parent, commit, 0) != 0 || git_commit_tree(&ptree, parent) != 0)) ||
        git_diff_tree_to_tree(out, run->repo, ptree, tree, &dopt) != 0 || git_diff_find_similar(*out, &fopt) != 0)
        rc = git_fail(run, SC_IOERR, "reading the trees of a commit");
    git_tree_free(tree);
    git_tree_free(ptree);
    git_commit_free(parent);
    return rc;
}

sc_status git_commit_record(git_run *run, git_commit *commit, sc_rec **out) {
    char sha[GIT_OID_HEXSZ + 1];
    git_oid_tostr(sha, sizeof sha, git_commit_id(commit));
    sc_rec *rec = NULL;
    char *err = NULL;
    sc_status rc = sc_rec_new(SC_REC_KIND_COMMIT, run->source, sha, &rec, &err);
    if (rc != SC_OK) {
        rc = records_fail(run->rs, rc, "%s", err ? err : "out of memory");
        sc_free(err);
        return rc;
    }
    unsigned np = git_commit_parentcount(commit);
    const char *summary = git_commit_summary(commit), *body = git_commit_body(commit);
    const git_signature *au = git_commit_author(commit);
    rc = sc_rec_set_str(rec, "subject", summary ? summary : "");
    if (rc == SC_OK && body) rc = sc_rec_set_str(rec, "body", body);
    if (rc == SC_OK) rc = gc__person(rec, "author", au);
    if (rc == SC_OK) rc = gc__person(rec, "committer", git_commit_committer(commit));
    if (rc == SC_OK) rc = sc_rec_set_date(rec, "date", au ? (int64_t)au->when.time : (int64_t)git_commit_time(commit));
    if (rc == SC_OK) rc = sc_rec_set_bool(rec, "merge", np > 1);
    if (rc == SC_OK) rc = sc_rec_set_int(rec, "n_parents", np);
    for (unsigned i = 0; rc == SC_OK && i < np; i++) {
        char psha[GIT_OID_HEXSZ + 1];
        git_oid_tostr(psha, sizeof psha, git_commit_parent_id(commit, i));
        rc = sc_rec_add_link(rec, "parent", psha);
    }
    if (rc != SC_OK) rc = records_fail(run->rs, rc, "commit %s: %s", sha, sc_rec_errmsg(rec));
    git_diff *diff = NULL;
    if (rc == SC_OK) rc = gc__diff(run, commit, &diff);
    if (rc == SC_OK) rc = gc__files(run, rec, diff, run->link && np <= 1);
    git_diff_free(diff);
    if (rc != SC_OK) {
        sc_rec_free(rec);
        return rc;
    }
    *out = rec;
    return SC_OK;
}
