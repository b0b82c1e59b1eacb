/*
** semcode public API: a workspace, several indexed repositories searched
** as one (`semcode serve --repo A --repo B`, `semcode search --repo NAME`,
** a workspace file). Each repository keeps its own index; a search runs on
** each repository chosen and merges the results (docs/ARCHITECTURE.md,
** "Several repositories"), every hit naming its repository
** (sc_code_hit.repo).
**
** Workspace file (docs/FILE_FORMATS.md): UTF-8 text, one repository a
** line, `NAME = PATH` or just `PATH` (the name is then the folder's base
** name); blank lines and lines starting with '#' are ignored; a relative
** PATH is taken from the file's folder. Names are 1 to 64 characters of
** [A-Za-z0-9._-], unique within the workspace.
**
** Thread safety: a workspace may be used from several threads. Each of its
** repositories has a lock: sc_workspace_search takes it around each
** repository's search; whoever uses a repository directly
** (sc_workspace_repo) holds it with sc_workspace_lock.
*/
#ifndef SEMCODE_WORKSPACE_H
#define SEMCODE_WORKSPACE_H

#include "common.h"
#include "repo.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct sc_workspace sc_workspace;

#define SC_WORKSPACE_MAX_REPOS 64    /* repositories of one workspace */
#define SC_WORKSPACE_NAME_MAX 64     /* bytes of a repository name */

/* One repository of a workspace (strings borrowed during sc_workspace_open). */
typedef struct sc_workspace_entry {
    const char *name;      /* its name in results and filters; NULL = the base name of path */
    const char *path;      /* root of the indexed tree */
    const char *store_dir; /* its index folder; NULL = PATH/.semcode (never $SEMCODE_STORE); it must exist */
} sc_workspace_entry;

/* Open every repository of repos[0..n) with opt (store_dir ignored: each
** entry's own) into a new workspace. Names must be unique and valid (the
** error names the entry); a missing index is SC_NOTFOUND (never created). errmsg (may be NULL) receives an owned message
** on failure (sc_free). */
SC_API sc_status sc_workspace_open(const sc_workspace_entry *repos, size_t n, const sc_repo_options *opt,
                                   sc_workspace **out, char **errmsg);
/* Open the repositories listed in a workspace file (format above). */
SC_API sc_status sc_workspace_open_file(const char *path, const sc_repo_options *opt, sc_workspace **out,
                                        char **errmsg);
/* Close every repository; NULL is a no-op. No other thread may use ws. */
SC_API void sc_workspace_close(sc_workspace *ws);

/* Repositories in the workspace, in the order given. */
SC_API size_t sc_workspace_count(const sc_workspace *ws);
/* Name of repository i (borrowed, lives as long as ws); NULL past the end. */
SC_API const char *sc_workspace_name(const sc_workspace *ws, size_t i);
/* The names of all repositories, ", "-separated ("a, b"), into buf[0..size)
** (cut at size, always NUL-terminated; "" for a NULL ws): the list that
** "no repository named X" messages show. Returns buf. */
SC_API char *sc_workspace_names(const sc_workspace *ws, char *buf, size_t size);
/* Index of the repository called name, or -1. */
SC_API int sc_workspace_find(const sc_workspace *ws, const char *name);
/* Repository i (borrowed, lives as long as ws); use it under sc_workspace_lock. */
SC_API sc_repo *sc_workspace_repo(sc_workspace *ws, size_t i);
/* Take / release the lock of repository i (an sc_repo is single-threaded). */
SC_API void sc_workspace_lock(sc_workspace *ws, size_t i);
SC_API void sc_workspace_unlock(sc_workspace *ws, size_t i);
/* Take the lock of repository i if it comes within ms milliseconds: true
** with it held, false (not held) when it did not or i is out of range. */
SC_API bool sc_workspace_lock_wait(sc_workspace *ws, size_t i, uint32_t ms);

/* Search the repositories named in names[0..n_names) (n_names 0: all of
** them) with q and merge their results into one list of at most q->limit
** hits, each naming its repository (sc_code_hit.repo). A hybrid search
** of repositories with the same model ranks the union of their candidates
** with one call of the ranking stage (scores, features and confidence as
** for one list); dense and keyword lists merge by score; alpha fusion,
** files mode and models that differ merge as sc_code_hits_merge (by rank
** when scores do not compare). took_ms covers the whole search.
** An unknown name is SC_NOTFOUND naming it and listing the names. *out
** owned (sc_code_hits_free); errmsg as in sc_workspace_open. */
SC_API sc_status sc_workspace_search(sc_workspace *ws, const char *const *names, size_t n_names,
                                     const sc_code_query *q, sc_code_hits **out, char **errmsg);

/* Merge per-repository result lists (pure; what sc_workspace_search does
** after searching): lists[i] (may be NULL: nothing) came from the
** repository called names[i]; by_score as above. Takes the hits out of the
** lists (they are left empty, still to be freed) into *out, at most limit
** (0 = 10), ranks renumbered from 1, repo set. SC_NOMEM only. */
SC_API sc_status sc_code_hits_merge(sc_code_hits *const *lists, const char *const *names, size_t n, bool by_score,
                                    uint32_t limit, sc_code_hits **out);

#ifdef __cplusplus
}
#endif
#endif /* SEMCODE_WORKSPACE_H */
