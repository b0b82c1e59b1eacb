/*
** records/git.c: the git source (sc_git_ingest). Opens the repository,
** resolves the branches, reads the source's cursor, removes the commits of
** rewritten history, walks the new commits oldest first and hands one
** record per commit to the writer, with the cursor advancing per batch.
**
** DESIGN
** - Cursor (JSON, kept by the writer in the store, records_int.h):
**   {"format": 1, "branches": {"<name>": "<sha of the last commit ingested>"},
**    "link_prefix": "<indexed root relative to the work tree>" | null,
**    "repo": "<work tree>"}. A source whose recorded repository is another
**   path and none of whose recorded commits exists here is refused (two
**   checkouts of different projects with one folder name in one store);
**   a moved or re-cloned repository still has the commits and goes on.
** - Incremental: a branch's walk pushes its tip and hides the last ingested
**   commit of every branch (and the tips of branches already done in this
**   run), so a commit shared by branches is read once.
** - Order and checkpoints: the walk is reverse topological (parents first),
**   and before each record is queued the cursor is set to that commit. A
**   batch is flushed with the cursor of its last commit; every ancestor of
**   that commit inside the walk was queued before it, so hiding it next
**   time skips nothing that is not stored. (Commits of a side branch queued
**   before it may be walked again: idempotent.) An interrupted run resumes
**   from its last batch.
** - Rewritten history: a branch whose recorded commit is not an ancestor of
**   its tip any more (force-push), or that vanished, loses the commits that
**   only it reached: a walk from the old commits hiding every current tip
**   lists them, and they are deleted before anything is added (a flush
**   deletes first; the cursor moves only with later batches). When an old
**   commit is no longer in the object database (garbage-collected), the run
**   reconciles instead: the ids of every commit reachable from the current
**   tips against the ids stored for the source (8 bytes per commit each).
** - --full (or a change of the indexed root, or linking made possible for
**   commits ingested without it) walks everything again; the writer skips
**   records that did not change; unreachable stored commits are removed.
** - Memory: libgit2's walk keeps a small node per commit it has seen
**   (reverse order needs the whole list) and its object cache is capped at
**   GIT_CACHE_BYTES for the run; semcode holds one batch of records, plus
**   the id sets of a reconciliation (8 bytes per commit). The store's own
**   in-memory mirror grows with what it holds (docs/ARCHITECTURE.md).
** - The repository is reopened bare for the walk: the diff of a repository
**   with a work tree looks up each file's .gitattributes there (a realpath
**   and stats per file, a quarter of the time), while only the commits'
**   content matters; attributes set in the work tree are not consulted.
*/
#include "records/git_int.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define GIT_CURSOR_FORMAT 1
#define GIT_CACHE_BYTES (16 << 20) /* libgit2's object cache during a run */

sc_status git_fail(git_run *run, sc_status code, const char *what) {
    const git_error *e = git_error_last();
    return records_fail(run->rs, code, "%s: %s", what, e && e->message ? e->message : "libgit2 error");
}

sc_git_options sc_git_options_default(void) {
    sc_git_options o;
    memset(&o, 0, sizeof o);
    o.max_files = 1000;
    return o;
}

/* ==== Commit keys ==== */

/* The key of a commit in a records_keyset: the first 8 bytes of its oid. */
static uint64_t git__key(const git_oid *oid) {
    uint64_t k = 0;
    for (int i = 0; i < 8; i++) k = k << 8 | oid->id[i];
    return k;
}

/* ==== Branches ==== */

/* Names of up to 20 branches of repo, for a message ("main, dev, origin/main"). */
static void git__branch_names(git_repository *repo, char *buf, size_t size) {
    buf[0] = '\0';
    git_branch_iterator *it = NULL;
    if (git_branch_iterator_new(&it, repo, GIT_BRANCH_ALL) != 0) return;
    git_reference *ref;
    git_branch_t type;
    int n = 0;
    size_t at = 0;
    while (n < 20 && git_branch_next(&ref, &type, it) == 0) {
        const char *name = NULL;
        if (git_branch_name(&name, ref) == 0 && at < size)
            at += (size_t)snprintf(buf + at, size - at, "%s%s", n++ ? ", " : "", name);
        git_reference_free(ref);
    }
    git_branch_iterator_free(it);
}

/* The tip of branch `name` (local, else remote-tracking) in *oid; false
** when there is no such branch. */
static bool git__branch_tip(git_repository *repo, const char *name, git_oid *oid) {
    git_reference *ref = NULL;
    if (git_branch_lookup(&ref, repo, name, GIT_BRANCH_LOCAL) != 0 &&
        git_branch_lookup(&ref, repo, name, GIT_BRANCH_REMOTE) != 0)
        return false;
    git_object *obj = NULL;
    bool ok = git_reference_peel(&obj, ref, GIT_OBJECT_COMMIT) == 0;
    if (ok) git_oid_cpy(oid, git_object_id(obj));
    git_object_free(obj);
    git_reference_free(ref);
    return ok;
}

/* The requested branches (or HEAD's) with their tips. */
typedef struct git_branch {
    char *name;      /* owned */
    git_oid tip;     /* its commit now */
    git_oid old;     /* last ingested (when has_old) */
    bool has_old;    /* the cursor names it */
    bool old_exists; /* that commit is in the object database */
    bool requested;  /* asked for in this run (others are only in the cursor) */
    bool gone;       /* in the cursor, not in the repository any more */
} git_branch;

/* ==== The run ==== */

typedef struct git_state {
    git_run run;            /* shared with git_commit.c */
    git_branch *br;         /* requested branches, then the cursor's others */
    size_t n_br, cap_br;    /* used, allocated */
    json_t *cursor;         /* the cursor being advanced */
    char *cursor0;          /* the cursor as the run found it (compact, sorted keys): unchanged = not rewritten */
    bool cursor_moved;      /* this run has set the cursor (then every later position is set too) */
    records_keyset stored;         /* after a reconciliation: the commits stored and still reachable (not walked again) */
    bool full;              /* walk everything again */
    double t0;              /* start */
} git_state;

static void git__progress(git_state *g, const char *stage, const char *branch, uint64_t done, uint64_t total) {
    if (!g->run.opt->progress) return;
    sc_git_progress p = {stage, branch, done, total, util_now() - g->t0};
    g->run.opt->progress(g->run.opt->progress_arg, &p);
}

static git_branch *git__add_branch(git_state *g, const char *name) {
    for (size_t i = 0; i < g->n_br; i++)
        if (!strcmp(g->br[i].name, name)) return &g->br[i];
    if (!util_grow(&g->br, &g->cap_br, g->n_br + 1, sizeof *g->br, 8)) return NULL;
    git_branch *b = &g->br[g->n_br];
    memset(b, 0, sizeof *b);
    if (!(b->name = util_strdup(name))) return NULL;
    g->n_br++;
    return b;
}

/* Open the repository containing path; SC_NOTFOUND / SC_INVALID say why not. */
static sc_status git__open(git_state *g, const char *path) {
    git_run *run = &g->run;
    if (git_repository_open_ext(&run->repo, path, 0, NULL) != 0)
        return records_fail(run->rs, SC_NOTFOUND, "%s is not in a git repository (no .git found there or above): %s",
                            path, git_error_last() ? git_error_last()->message : "not found");
    if (git_repository_is_empty(run->repo) == 1)
        return records_fail(run->rs, SC_INVALID, "the git repository at %s has no commits yet", path);
    /* Reopened bare: a diff of a repository with a work tree looks up the
    ** .gitattributes of every file in the work tree (a realpath and stats
    ** per file, a quarter of the run's time); the commits' own content is
    ** all that is read. */
    const char *wd = git_repository_workdir(run->repo);
    snprintf(run->workdir, sizeof run->workdir, "%s", wd ? wd : "");
    char gitdir[PATH_MAX];
    snprintf(gitdir, sizeof gitdir, "%s", git_repository_path(run->repo));
    git_repository_free(run->repo);
    run->repo = NULL;
    if (git_repository_open_ext(&run->repo, gitdir, GIT_REPOSITORY_OPEN_NO_SEARCH | GIT_REPOSITORY_OPEN_BARE, NULL) != 0)
        return git_fail(run, SC_IOERR, "opening the repository");
    if (run->opt->source) {
        snprintf(run->source, sizeof run->source, "%s", run->opt->source);
        return SC_OK;
    }
    /* "git:" + the name of the work tree's folder (a bare repository: its own, without ".git") */
    const char *top = *run->workdir ? run->workdir : gitdir;
    char buf[PATH_MAX];
    snprintf(buf, sizeof buf, "%s", top);
    size_t n = strlen(buf);
    while (n > 1 && buf[n - 1] == '/') buf[--n] = '\0';
    if (n > 4 && !strcmp(buf + n - 4, ".git")) buf[n -= 4] = '\0';
    while (n > 1 && buf[n - 1] == '/') buf[--n] = '\0';
    const char *base = strrchr(buf, '/');
    snprintf(run->source, sizeof run->source, "git:%.*s", SC_REC_MAX_SOURCE - 4, base && base[1] ? base + 1 : buf);
    return SC_OK;
}

/* The requested branches, or HEAD's. */
static sc_status git__branches(git_state *g, const char *path) {
    git_run *run = &g->run;
    const sc_git_options *o = run->opt;
    char names[1024];
    for (size_t i = 0; i < o->n_branches; i++) {
        git_branch *b = git__add_branch(g, o->branches[i]);
        if (!b) return records_fail(run->rs, SC_NOMEM, "out of memory");
        if (!git__branch_tip(run->repo, o->branches[i], &b->tip)) {
            git__branch_names(run->repo, names, sizeof names);
            return records_fail(run->rs, SC_NOTFOUND, "no branch '%s' in the git repository at %s (branches: %s)",
                                o->branches[i], path, names[0] ? names : "none");
        }
        b->requested = true;
    }
    if (o->n_branches) return SC_OK;
    if (git_repository_head_unborn(run->repo) == 1)
        return records_fail(run->rs, SC_INVALID, "the git repository at %s has no commits yet (HEAD's branch is unborn)",
                            path);
    if (git_repository_head_detached(run->repo) == 1)
        return records_fail(run->rs, SC_INVALID,
                            "HEAD of the git repository at %s is detached (not on a branch): name the branches to "
                            "ingest with --branch",
                            path);
    git_reference *head = NULL;
    if (git_repository_head(&head, run->repo) != 0) return git_fail(run, SC_INVALID, "reading HEAD");
    git_branch *b = git__add_branch(g, git_reference_shorthand(head));
    git_reference_free(head);
    if (!b) return records_fail(run->rs, SC_NOMEM, "out of memory");
    if (!git__branch_tip(run->repo, b->name, &b->tip)) return git_fail(run, SC_INVALID, "resolving HEAD's branch");
    b->requested = true;
    return SC_OK;
}

/* Is any commit recorded in the cursor's branches in this repository? */
static bool git__any_recorded_here(git_state *g, json_t *brs) {
    git_odb *odb = NULL;
    if (git_repository_odb(&odb, g->run.repo) != 0) return true; /* cannot tell: do not refuse */
    bool found = false;
    const char *name;
    json_t *v;
    json_object_foreach(brs, name, v) {
        git_oid oid;
        if (!found && json_is_string(v) && git_oid_fromstr(&oid, json_string_value(v)) == 0 && git_odb_exists(odb, &oid))
            found = true;
    }
    git_odb_free(odb);
    return found;
}

/* Read the cursor: the last commit of each branch ingested before. */
static sc_status git__cursor(git_state *g) {
    git_run *run = &g->run;
    char *text = NULL;
    sc_status rc = sc_records_get_cursor(run->rs, run->source, &text);
    if (rc != SC_OK) return rc;
    json_t *c = text ? json_loads(text, 0, NULL) : NULL;
    sc_free(text);
    g->cursor = json_is_object(c) ? c : json_object();
    if (!json_is_object(c)) json_decref(c);
    if (!g->cursor) return records_fail(run->rs, SC_NOMEM, "out of memory");
    json_t *brs = json_object_get(g->cursor, "branches");
    if (!json_is_object(brs)) {
        brs = json_object();
        json_object_set_new(g->cursor, "branches", brs);
    }
    /* The same source name for another repository (two checkouts called
    ** alike in one store): none of its recorded commits is here, and it was
    ** recorded elsewhere. Refused rather than reconciled away. */
    const char *was = json_string_value(json_object_get(g->cursor, "repo"));
    const char *here = *run->workdir ? run->workdir : git_repository_path(run->repo);
    if (was && strcmp(was, here) && json_object_size(brs) && !git__any_recorded_here(g, brs))
        return records_fail(run->rs, SC_INVALID,
                            "the store holds commits of source '%s' from another repository (%s), none of which is in "
                            "%s: pass --source NAME to keep them apart",
                            run->source, was, here);
    /* Linking now but not before (or for another root): everything again.
    ** A run that cannot link records so (link_prefix null), so the next
    ** run that can links what it added. */
    const json_t *lp = json_object_get(g->cursor, "link_prefix");
    bool linked_before = json_is_string(lp);
    if (json_object_size(brs) && run->link && (!linked_before || strcmp(json_string_value(lp), run->prefix)))
        g->full = true; /* (a run without links leaves the stored links as they are) */
    const char *name;
    json_t *v;
    json_object_foreach(brs, name, v) {
        git_oid old;
        if (!json_is_string(v) || git_oid_fromstr(&old, json_string_value(v)) != 0) continue;
        git_branch *b = git__add_branch(g, name);
        if (!b) return records_fail(run->rs, SC_NOMEM, "out of memory");
        b->old = old;
        b->has_old = true;
        git_odb *odb = NULL;
        b->old_exists = git_repository_odb(&odb, run->repo) == 0 && git_odb_exists(odb, &old);
        git_odb_free(odb);
        if (!b->requested) b->gone = !git__branch_tip(run->repo, name, &b->tip);
    }
    g->cursor0 = json_dumps(g->cursor, JSON_COMPACT | JSON_SORT_KEYS);
    json_object_set_new(g->cursor, "format", json_integer(GIT_CURSOR_FORMAT));
    json_object_set_new(g->cursor, "repo", json_string(here));
    json_object_set_new(g->cursor, "link_prefix", run->link ? json_string(run->prefix) : json_null());
    return g->cursor0 ? SC_OK : records_fail(run->rs, SC_NOMEM, "out of memory");
}

/* Record that branch b is ingested up to oid (the cursor, queued with the
** next record). */
static sc_status git__advance(git_state *g, const git_branch *b, const git_oid *oid) {
    char sha[GIT_OID_HEXSZ + 1];
    git_oid_tostr(sha, sizeof sha, oid);
    json_object_set_new(json_object_get(g->cursor, "branches"), b->name, json_string(sha));
    char *text = json_dumps(g->cursor, JSON_COMPACT | JSON_SORT_KEYS);
    if (!text) return records_fail(g->run.rs, SC_NOMEM, "out of memory");
    /* a run that found nothing new rewrites nothing */
    bool same = !g->cursor_moved && g->cursor0 && !strcmp(text, g->cursor0);
    sc_status rc = same ? SC_OK : sc_records_set_cursor(g->run.rs, g->run.source, text);
    if (!same) g->cursor_moved = true;
    free(text);
    return rc;
}

/* Tips that stay: requested branches' tips and the recorded commits of the
** cursor's other branches that still exist. */
static sc_status git__hide_kept(git_state *g, git_revwalk *w) {
    for (size_t i = 0; i < g->n_br; i++) {
        const git_branch *b = &g->br[i];
        if (b->requested && git_revwalk_hide(w, &b->tip) != 0) return git_fail(&g->run, SC_IOERR, "walking the history");
        if (!b->requested && !b->gone && b->old_exists) git_revwalk_hide(w, &b->old);
    }
    return SC_OK;
}

/* Is the recorded commit of b still an ancestor of (or equal to) its tip? */
static bool git__fast_forward(git_state *g, const git_branch *b) {
    if (!b->has_old || !b->old_exists || b->gone) return false;
    return git_oid_equal(&b->old, &b->tip) || git_graph_descendant_of(g->run.repo, &b->tip, &b->old) == 1;
}

/* A reconciliation going through the stored ids of the source. */
typedef struct git_del_ctx {
    git_state *g;        /* the run */
    const records_keyset *keep; /* reachable commits */
    records_keyset *stored;     /* stored and reachable ones go here (NULL = not kept) */
    sc_status rc;        /* first failure */
    uint64_t n;          /* deleted */
} git_del_ctx;

/* Delete a stored commit no kept tip reaches; note the others. */
static bool git__del_unreachable(void *arg, const char *id) {
    git_del_ctx *c = arg;
    git_oid oid;
    if (git_oid_fromstr(&oid, id) != 0) return true;
    uint64_t k = git__key(&oid);
    if (records_keyset_has(c->keep, k)) {
        if (c->stored && !records_keyset_add(c->stored, k)) c->rc = records_fail(c->g->run.rs, SC_NOMEM, "out of memory");
        return c->rc == SC_OK;
    }
    c->rc = sc_records_delete(c->g->run.rs, SC_REC_KIND_COMMIT, c->g->run.source, id);
    c->n++;
    if (c->rc == SC_OK && c->n % 10000 == 0) c->rc = sc_records_flush(c->g->run.rs);
    return c->rc == SC_OK;
}

/* Walk every commit reachable from the kept tips into set (unsorted). */
static sc_status git__reachable(git_state *g, records_keyset *set) {
    git_revwalk *w = NULL;
    if (git_revwalk_new(&w, g->run.repo) != 0) return git_fail(&g->run, SC_IOERR, "walking the history");
    sc_status rc = SC_OK;
    for (size_t i = 0; rc == SC_OK && i < g->n_br; i++) {
        const git_branch *b = &g->br[i];
        if (b->requested && git_revwalk_push(w, &b->tip) != 0) rc = git_fail(&g->run, SC_IOERR, "walking the history");
        if (!b->requested && !b->gone && b->old_exists) git_revwalk_push(w, &b->old);
    }
    git_oid oid;
    while (rc == SC_OK && git_revwalk_next(&oid, w) == 0)
        if (!records_keyset_add(set, git__key(&oid))) rc = records_fail(g->run.rs, SC_NOMEM, "out of memory");
    git_revwalk_free(w);
    records_keyset_sort(set);
    return rc;
}

/* Remove the stored commits no kept tip reaches, by reconciling ids; with
** keep_stored, the stored commits that stay go to g->stored (the walks
** that follow skip them). */
static sc_status git__reconcile(git_state *g, bool keep_stored) {
    records_keyset keep = {0};
    sc_status rc = git__reachable(g, &keep);
    git_del_ctx c = {g, &keep, keep_stored ? &g->stored : NULL, SC_OK, 0};
    if (rc == SC_OK) rc = sc_records_each_id(g->run.rs, SC_REC_KIND_COMMIT, g->run.source, git__del_unreachable, &c);
    if (rc == SC_OK) rc = c.rc;
    records_keyset_sort(&g->stored);
    g->run.sum->commits_removed += c.n;
    free(keep.k);
    return rc == SC_OK ? sc_records_flush(g->run.rs) : rc;
}

/* Step 1: rewritten or vanished branches lose the commits only they reached. */
static sc_status git__rewrites(git_state *g) {
    git_run *run = &g->run;
    bool any = false, missing = false;
    for (size_t i = 0; i < g->n_br; i++) {
        git_branch *b = &g->br[i];
        if (!b->has_old || (!b->gone && !b->requested) || git__fast_forward(g, b)) continue;
        any = true;
        if (b->requested) run->sum->rewrites++;
        if (!b->old_exists) missing = true;
    }
    for (size_t i = 0; i < g->n_br; i++) /* vanished branches leave the cursor */
        if (g->br[i].gone) json_object_del(json_object_get(g->cursor, "branches"), g->br[i].name);
    if (!any || g->full) return SC_OK; /* a full run reconciles at its end */
    git__progress(g, "remove", NULL, 0, 0);
    if (missing) return git__reconcile(g, true);
    git_revwalk *w = NULL;
    sc_status rc = git_revwalk_new(&w, run->repo) == 0 ? SC_OK : git_fail(run, SC_IOERR, "walking the history");
    for (size_t i = 0; rc == SC_OK && i < g->n_br; i++) {
        const git_branch *b = &g->br[i];
        if (b->has_old && (b->gone || b->requested) && !git__fast_forward(g, b) && git_revwalk_push(w, &b->old) != 0)
            rc = git_fail(run, SC_IOERR, "walking the old history");
    }
    if (rc == SC_OK) rc = git__hide_kept(g, w);
    git_oid oid;
    while (rc == SC_OK && git_revwalk_next(&oid, w) == 0) {
        char sha[GIT_OID_HEXSZ + 1];
        git_oid_tostr(sha, sizeof sha, &oid);
        rc = sc_records_delete(run->rs, SC_REC_KIND_COMMIT, run->source, sha);
        run->sum->commits_removed++;
        if (rc == SC_OK && run->sum->commits_removed % 10000 == 0) rc = sc_records_flush(run->rs);
    }
    git_revwalk_free(w);
    return rc == SC_OK ? sc_records_flush(run->rs) : rc;
}

/* A walk of branch b's new commits, oldest first: its tip, hiding what is
** ingested (unless full) and the branches done before it in this run. */
static sc_status git__walk_new(git_state *g, size_t bi, git_revwalk **out) {
    git_run *run = &g->run;
    git_revwalk *w = NULL;
    if (git_revwalk_new(&w, run->repo) != 0 ||
        git_revwalk_sorting(w, GIT_SORT_TOPOLOGICAL | GIT_SORT_TIME | GIT_SORT_REVERSE) != 0 ||
        git_revwalk_push(w, &g->br[bi].tip) != 0) {
        git_revwalk_free(w);
        return git_fail(run, SC_IOERR, "walking the history");
    }
    for (size_t i = 0; i < g->n_br; i++) {
        const git_branch *b = &g->br[i];
        if (b->requested && i < bi) git_revwalk_hide(w, &b->tip);
        if (!g->full && b->has_old && b->old_exists) git_revwalk_hide(w, &b->old); /* may fail for a lost commit */
    }
    *out = w;
    return SC_OK;
}

/* Step 2 for branch bi: every new commit becomes a record, the cursor
** following (commits a reconciliation found stored are passed over). */
static sc_status git__ingest_branch(git_state *g, size_t bi) {
    git_run *run = &g->run;
    git_branch *b = &g->br[bi];
    git_revwalk *w = NULL;
    sc_status rc = git__walk_new(g, bi, &w);
    uint64_t total = 0, done = 0;
    git_oid oid;
    while (rc == SC_OK && git_revwalk_next(&oid, w) == 0) total++; /* counted first, for progress */
    git_revwalk_free(w);
    w = NULL;
    if (rc == SC_OK) rc = git__walk_new(g, bi, &w);
    git__progress(g, "commits", b->name, 0, total);
    while (rc == SC_OK && git_revwalk_next(&oid, w) == 0) {
        if (run->opt->cancel && __atomic_load_n(run->opt->cancel, __ATOMIC_RELAXED)) {
            rc = records_fail(run->rs, SC_INTERRUPTED, "interrupted after %llu commits of %s; the next run goes on from there",
                              (unsigned long long)done, b->name);
            break;
        }
        if (++done % 256 == 0) git__progress(g, "commits", b->name, done, total);
        if (records_keyset_has(&g->stored, git__key(&oid))) continue;
        git_commit *c = NULL;
        sc_rec *rec = NULL;
        if (git_commit_lookup(&c, run->repo, &oid) != 0) rc = git_fail(run, SC_IOERR, "reading a commit");
        if (rc == SC_OK) rc = git_commit_record(run, c, &rec);
        git_commit_free(c);
        if (rc == SC_OK) rc = git__advance(g, b, &oid);
        if (rc == SC_OK) rc = sc_records_put(run->rs, rec);
        sc_rec_free(rec);
        run->sum->commits_walked++;
    }
    git_revwalk_free(w);
    if (rc == SC_OK) rc = git__advance(g, b, &b->tip);
    if (rc == SC_OK) run->sum->branches++;
    git__progress(g, "commits", b->name, done, total);
    return rc;
}

/* Work out where the indexed root is in the work tree (run->prefix). */
static void git__link_root(git_state *g) {
    git_run *run = &g->run;
    char root[PATH_MAX], top[PATH_MAX];
    run->link = false;
    if (!run->opt->code_root || !*run->workdir || !realpath(run->opt->code_root, root) || !realpath(run->workdir, top))
        return;
    size_t n = strlen(top);
    if (!strcmp(root, top)) {
        run->prefix[0] = '\0';
    } else if (!strncmp(root, top, n) && root[n] == '/') {
        snprintf(run->prefix, sizeof run->prefix, "%s/", root + n + 1);
    } else {
        return; /* the index is of a tree outside this repository */
    }
    run->link = sc_parser_new(&run->parser, NULL) == SC_OK; /* without a parser, commits are stored unlinked */
}

static void git__state_free(git_state *g) {
    for (size_t i = 0; i < g->n_br; i++) free(g->br[i].name);
    free(g->br);
    json_decref(g->cursor);
    free(g->cursor0);
    free(g->stored.k);
    sc_parser_free(g->run.parser);
    git_repository_free(g->run.repo);
}

/* The run after the repository is open: rewrites, then each branch. */
static sc_status git__run(git_state *g, const char *path) {
    sc_status rc = git__branches(g, path);
    if (rc == SC_OK) git__link_root(g);
    if (rc == SC_OK) rc = git__cursor(g);
    g->full = g->full || g->run.opt->full;
    if (rc == SC_OK) rc = git__rewrites(g);
    for (size_t i = 0; rc == SC_OK && i < g->n_br; i++)
        if (g->br[i].requested) rc = git__ingest_branch(g, i);
    if (rc == SC_INTERRUPTED) {
        sc_records_flush(g->run.rs); /* keep what was done: the cursor matches it */
    } else if (rc == SC_OK) {
        rc = sc_records_flush(g->run.rs);
        if (rc == SC_OK && g->full) {
            /* every stored commit no kept tip reaches goes (the walks covered the requested branches) */
            git__progress(g, "remove", NULL, 0, 0);
            rc = git__reconcile(g, false);
        }
    }
    return rc;
}

sc_status sc_git_ingest(sc_records *rs, const char *repo_path, const sc_git_options *opt, sc_git_summary *out) {
    if (!rs || !repo_path) return SC_MISUSE;
    sc_git_options o = opt ? *opt : sc_git_options_default();
    if (!o.max_files) o.max_files = 1000;
    sc_git_summary sum;
    memset(&sum, 0, sizeof sum);
    git_state g;
    memset(&g, 0, sizeof g);
    g.run.rs = rs;
    g.run.opt = &o;
    g.run.sum = &sum;
    g.t0 = util_now();
    uint64_t written0 = sc_records_get_stats(rs).written;
    git_libgit2_init();
    /* libgit2 keeps the trees it read (every commit's, and its parent's) in
    ** a process-wide cache of up to 256 MiB; a walk reads each about twice
    ** in a row, so a small cache serves it as well. Capped for the run and
    ** restored after (the setting is libgit2's, shared by the process). */
    ssize_t cached = 0, allowed = 0;
    git_libgit2_opts(GIT_OPT_GET_CACHED_MEMORY, &cached, &allowed);
    git_libgit2_opts(GIT_OPT_SET_CACHE_MAX_SIZE, (ssize_t)GIT_CACHE_BYTES);
    sc_status rc = git__open(&g, repo_path);
    if (rc == SC_OK) rc = git__run(&g, repo_path);
    sum.linked = g.run.link;
    snprintf(sum.source, sizeof sum.source, "%s", g.run.source);
    sum.commits_written = sc_records_get_stats(rs).written - written0;
    sum.seconds = util_now() - g.t0;
    git__progress(&g, "done", NULL, sum.commits_walked, sum.commits_walked);
    git__state_free(&g);
    if (allowed > 0) git_libgit2_opts(GIT_OPT_SET_CACHE_MAX_SIZE, allowed);
    git_libgit2_shutdown();
    if (out) *out = sum;
    return rc;
}
