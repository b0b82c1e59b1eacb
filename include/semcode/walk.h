/*
** semcode public API: walking and parsing a source tree.
**
** sc_parse_tree walks a directory (leaving out what git ignores, asked of
** libgit2, and what .semcodeignore files add; skipping vendored folders)
** and parses every file it keeps in parallel, delivering the results in
** path order. It is the first two steps of the indexing pipeline
** (src/pipeline/), offered on their own for `semcode parse` and other
** programs that want entities without an index.
**
** Thread safety: sc_parse_tree may be called from several threads at once;
** the callback runs on the calling thread.
*/
#ifndef SEMCODE_WALK_H
#define SEMCODE_WALK_H

#include "common.h"
#include "parse.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ==== Walking and parsing a tree ==== */

/* Options of a directory walk; get defaults from sc_walk_options_default. */
typedef struct sc_walk_options {
    uint32_t n_threads;     /* parser threads, 0 = all cores */
    bool use_gitignore;     /* leave out what git ignores (.gitignore, .git/info/exclude,
                               core.excludesFile) and what .semcodeignore adds (default true) */
    bool skip_vendored;     /* skip vendor/, third_party/, *.min.js and the like (default true) */
    sc_lang only_lang;      /* report only files of this language, SC_LANG_UNKNOWN = all */
} sc_walk_options;

/* Default walk options. */
SC_API sc_walk_options sc_walk_options_default(void);

/* Called once per file, in path order, on the thread that called
** sc_parse_tree. The result is borrowed for the call. Return 0 to go on,
** non-zero to stop (sc_parse_tree then returns SC_INTERRUPTED). */
typedef int (*sc_parse_tree_fn)(void *payload, const sc_parse_result *r);

/* Walk `root` (a directory or one file), skip ignored files, parse the rest
** in parallel and call fn for each (skipped files included, with their
** reason). Paths are relative to root. On failure (root missing,
** SC_NOMEM) sets *errmsg, when errmsg is not NULL, to the reason (owned,
** free with sc_free; NULL otherwise). */
SC_API sc_status sc_parse_tree(const char *root, const sc_parse_options *popt,
                               const sc_walk_options *wopt, sc_parse_tree_fn fn, void *payload,
                               char **errmsg);

#ifdef __cplusplus
}
#endif
#endif /* SEMCODE_WALK_H */
