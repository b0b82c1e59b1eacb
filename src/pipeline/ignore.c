/*
** pipeline/ignore.c: which paths of a walk git ignores, asked of libgit2,
** with .semcodeignore on top.
**
** DESIGN
** - Matching is libgit2's (git_ignore_path_is_ignored: git's wildmatch,
**   negation, directory-only rules, escapes, trailing spaces,
**   core.ignorecase, core.excludesFile or its XDG default). Nothing here
**   matches a pattern.
** - The rules live in a bare in-memory repository (git_repository_new)
**   as its "internal" rules, which libgit2 consults first. Each ignore
**   file is added there rewritten to apply from its own directory: in
**   a/.gitignore, "/x" becomes "a/x", and "x" becomes "a/", a "**"
**   directory, then "x" (x at any depth below a/). This is because
**   libgit2 1.5, reading nested .gitignore files itself, drops a negation
**   without wildcards that no earlier line of the same file matches, so
**   "!keep.log" in a/.gitignore never re-includes what the parent's
**   "*.log" ignores (libgit2 issue #7284, still open in 1.9). Every
**   negation is added after its own positive twin, which matches exactly
**   the same paths and so decides nothing, but keeps libgit2 from dropping
**   it.
** - Precedence, last match wins: .git/info/exclude, then every .gitignore
**   from the top of the work tree down to the directory being walked, then
**   every .semcodeignore likewise; core.excludesFile (read by libgit2 from
**   the repository's configuration) comes after all of them. Entering a
**   directory that has ignore files rebuilds the internal rules in that
**   order; leaving it needs nothing, as its rewritten rules cannot match
**   outside it.
** - In a git work tree (git_repository_open_ext from the root, which may be
**   a subdirectory) paths are asked relative to the top of the work tree,
**   and the ignore files of the directories above the root count. A plain
**   directory, a bare repository and a repository libgit2 refuses (owned
**   by another user) are walked on their own: the ignore files of the root
**   and below, the global configuration. So is a root that git itself
**   ignores (with its repository's configuration): asked for explicitly,
**   it is indexed. A repository git refuses to work in (a bad .git/config)
**   or a bad global configuration is an error, as in git.
** - Ignore rules only: a tracked file that matches a rule is left out too,
**   as `git check-ignore --no-index` answers.
** - libgit2 is initialised once per process, on first use, and shut down
**   when the library is unloaded (its initialisation is reference counted
**   and thread-safe; it costs some milliseconds, mostly certificates).
**
** Thread safety: a pipeline_ignore (and its repository) belongs to one
** walk on one thread; several walks may run at once.
*/
#include <errno.h>
#include <fcntl.h>
#include <git2.h>
#include <git2/sys/repository.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "pipeline/pipeline.h"

/* The ignore files of one directory, rewritten to apply from it. */
typedef struct pipeline__layer {
    char *git; /* its .gitignore's rules, NULL when it has none */
    char *own; /* its .semcodeignore's rules, NULL when it has none */
} pipeline__layer;

struct pipeline_ignore {
    git_repository *rules;  /* bare in-memory repository holding the rules as internal rules */
    char *prefix;           /* the root relative to the top of the work tree, "" at the top or outside git */
    char *exclude;          /* rewritten .git/info/exclude, NULL when none */
    pipeline__layer *layers; /* from the top of the work tree down to the directory being walked */
    size_t n_layers;        /* used */
    size_t cap_layers;      /* allocated */
    util_buf path;          /* scratch: the path being asked */
};

/* ==== libgit2 set-up ==== */

static pthread_once_t pipeline__git_once = PTHREAD_ONCE_INIT;
static int pipeline__git_rc; /* git_libgit2_init's result: > 0 once initialised */

static void pipeline__git_init_once(void) {
    pipeline__git_rc = git_libgit2_init();
}

/* Release the process's reference to libgit2 when the library goes away. */
__attribute__((destructor)) static void pipeline__git_fini(void) {
    if (pipeline__git_rc > 0) git_libgit2_shutdown();
}

/* Record libgit2's last error as the reason for status code. */
static sc_status pipeline__git_err(sc_err *err, sc_status code, const char *what) {
    const git_error *e = git_error_last();
    if (e && e->klass == GIT_ERROR_NOMEMORY) code = SC_NOMEM;
    return sc_err_set(err, code, "%s: %s", what, e && e->message ? e->message : "libgit2 error");
}

/* ==== Rewriting ignore files ==== */

/* Append dir to b with wildmatch's special characters escaped. */
static void pipeline__put_dir(util_buf *b, const char *dir) {
    for (const char *s = dir; *s; s++) {
        if (strchr("\\*?[]!#", *s)) util_buf_append(b, "\\", 1);
        util_buf_append(b, s, 1);
    }
}

/* Length of line[0, n) without the trailing white space git strips: spaces
** and tabs not escaped by an odd number of backslashes. */
static size_t pipeline__trim_end(const char *line, size_t n) {
    while (n > 0 && (line[n - 1] == ' ' || line[n - 1] == '\t')) {
        size_t k = 0;
        while (k + 1 < n && line[n - 2 - k] == '\\') k++;
        if (k % 2) break; /* escaped */
        n--;
    }
    return n;
}

/* Append to b the rules of one ignore file's text, rewritten to apply from
** dir (relative to the top of the work tree, "" for the top): a pattern
** with a '/' before its end is anchored at dir, any other matches at any
** depth below it. Comments and blank lines are dropped. */
static void pipeline__rewrite(util_buf *b, const char *dir, const char *text, size_t n) {
    if (n >= 3 && !memcmp(text, "\xEF\xBB\xBF", 3)) text += 3, n -= 3; /* git skips a UTF-8 BOM */
    const char *nul = memchr(text, 0, n);
    if (nul) n = (size_t)(nul - text);
    util_buf rule = {0}; /* one rewritten pattern */
    for (size_t i = 0; i < n;) {
        size_t e = i;
        while (e < n && text[e] != '\n') e++;
        const char *line = text + i;
        size_t len = e - i;
        i = e + 1;
        if (len == 0 || line[0] == '#') continue;
        bool negate = line[0] == '!';
        const char *body = line + negate;
        size_t body_len = len - negate;
        size_t end = body_len;
        if (end > 0 && body[end - 1] == '\r') end--;
        end = pipeline__trim_end(body, end);
        if (end == 0) continue;
        bool dir_only = body[end - 1] == '/';
        bool anchored = memchr(body, '/', end - dir_only) != NULL;
        rule.len = 0;
        if (*dir) {
            pipeline__put_dir(&rule, dir);
            if (anchored) {
                util_buf_append(&rule, "/", 1);
                if (body[0] == '/') body++, body_len--;
            } else {
                util_buf_append(&rule, "/**/", 4);
            }
        } else if (body[0] == '#' || body[0] == '!') {
            util_buf_append(&rule, "\\", 1); /* "!#x": a pattern, not a comment */
        }
        util_buf_append(&rule, body, body_len);
        util_buf_append(&rule, "\n", 1);
        if (rule.oom) break;
        if (negate) {
            util_buf_append(b, rule.data, rule.len); /* the positive twin */
            util_buf_append(b, "!", 1);
        }
        util_buf_append(b, rule.data, rule.len);
    }
    if (rule.oom) b->oom = true;
    util_buf_free(&rule);
}

/* Read the ignore file name in directory fs_dir and append its rules,
** rewritten for dir, to a new string in *out (NULL when the file is
** missing, unreadable, not a regular file or has no rule). A symbolic link
** is not followed when in_tree: git does not follow one to a .gitignore of
** the work tree. SC_NOMEM on allocation failure. */
static sc_status pipeline__read_rules(const char *fs_dir, const char *name, const char *dir, bool in_tree, char **out) {
    *out = NULL;
    char p[PATH_MAX + 32];
    if ((size_t)snprintf(p, sizeof p, "%s%s%s", fs_dir, *fs_dir ? "/" : "", name) >= sizeof p) return SC_OK;
    if (strchr(dir, '\n')) return SC_OK; /* no rule can name such a directory */
    /* non-blocking: a FIFO of that name must not stop the walk */
    int fd = open(p, O_RDONLY | O_NONBLOCK | O_CLOEXEC | (in_tree ? O_NOFOLLOW : 0));
    if (fd < 0) return errno == ENOMEM ? SC_NOMEM : SC_OK;
    struct stat st;
    util_buf text = {0};
    bool read_error = fstat(fd, &st) != 0 || !S_ISREG(st.st_mode);
    char chunk[4096];
    while (!read_error) {
        ssize_t got = read(fd, chunk, sizeof chunk);
        if (got < 0 && errno == EINTR) continue;
        if (got <= 0) {
            read_error = got < 0; /* EIO: no rules, as git */
            break;
        }
        util_buf_append(&text, chunk, (size_t)got);
    }
    close(fd);
    util_buf rules = {0};
    if (!read_error && text.len) pipeline__rewrite(&rules, dir, text.data, text.len);
    bool oom = text.oom || rules.oom;
    util_buf_free(&text);
    if (oom) {
        util_buf_free(&rules);
        return SC_NOMEM;
    }
    *out = rules.data; /* NULL when empty */
    return SC_OK;
}

/* ==== Rule set ==== */

/* Make the repository's internal rules those of ig, in precedence order. */
static sc_status pipeline__rebuild(pipeline_ignore *ig, sc_err *err) {
    if (git_ignore_clear_internal_rules(ig->rules) < 0) return pipeline__git_err(err, SC_ERROR, "ignore rules");
    if (ig->exclude && git_ignore_add_rule(ig->rules, ig->exclude) < 0)
        return pipeline__git_err(err, SC_ERROR, "ignore rules");
    for (size_t i = 0; i < ig->n_layers; i++)
        if (ig->layers[i].git && git_ignore_add_rule(ig->rules, ig->layers[i].git) < 0)
            return pipeline__git_err(err, SC_ERROR, "ignore rules");
    for (size_t i = 0; i < ig->n_layers; i++)
        if (ig->layers[i].own && git_ignore_add_rule(ig->rules, ig->layers[i].own) < 0)
            return pipeline__git_err(err, SC_ERROR, "ignore rules");
    return SC_OK;
}

/* Push the layer of directory fs_dir (dir relative to the top of the work
** tree); *pushed tells whether it had any rule. */
static sc_status pipeline__push(pipeline_ignore *ig, const char *fs_dir, const char *dir, bool *pushed) {
    *pushed = false;
    pipeline__layer l = {NULL, NULL};
    sc_status rc = pipeline__read_rules(fs_dir, ".gitignore", dir, true, &l.git);
    if (rc == SC_OK) rc = pipeline__read_rules(fs_dir, ".semcodeignore", dir, true, &l.own);
    if (rc == SC_OK && (l.git || l.own)) {
        if (util_grow(&ig->layers, &ig->cap_layers, ig->n_layers + 1, sizeof *ig->layers, 8)) {
            ig->layers[ig->n_layers++] = l;
            *pushed = true;
            return SC_OK;
        }
        rc = SC_NOMEM;
    }
    free(l.git);
    free(l.own);
    return rc;
}

/* Drop the layers above mark. */
static void pipeline__pop(pipeline_ignore *ig, size_t mark) {
    while (ig->n_layers > mark) {
        ig->n_layers--;
        free(ig->layers[ig->n_layers].git);
        free(ig->layers[ig->n_layers].own);
    }
}

/* Push the layers of the directories from the top of the work tree
** (top, with a trailing '/') down to the root's parent. */
static sc_status pipeline__push_above(pipeline_ignore *ig, const char *top) {
    const char *prefix = ig->prefix;
    char fs_dir[PATH_MAX], dir[PATH_MAX];
    for (size_t k = 0;;) { /* prefix[0, k) is the directory: "", "a", "a/b" for prefix "a/b/c" */
        if ((size_t)snprintf(dir, sizeof dir, "%.*s", (int)k, prefix) >= sizeof dir ||
            (size_t)snprintf(fs_dir, sizeof fs_dir, "%s%s", top, dir) >= sizeof fs_dir)
            return SC_OK;
        bool pushed;
        sc_status rc = pipeline__push(ig, fs_dir, dir, &pushed);
        if (rc != SC_OK) return rc;
        const char *slash = strchr(prefix + k + (k ? 1 : 0), '/');
        if (!slash) return SC_OK;
        k = (size_t)(slash - prefix);
    }
}

/* Read what the git work tree around abs_root (open as repo) contributes:
** the root's path in it (the prefix), .git/info/exclude, the ignore files
** of the directories above the root and its configuration (*cfg, owned).
** Leaves ig as for a plain directory when the root is not in a work tree. */
static sc_status pipeline__read_repo(pipeline_ignore *ig, git_repository *repo, const char *abs_root, git_config **cfg,
                                     sc_err *err) {
    const char *top = git_repository_workdir(repo); /* ends with '/' */
    if (!top || git_repository_is_bare(repo)) return SC_OK;
    size_t top_len = strlen(top), root_len = strlen(abs_root);
    if (root_len >= top_len && !strncmp(top, abs_root, top_len)) {
        char *prefix = util_strdup(abs_root + top_len);
        if (!prefix) return sc_err_set(err, SC_NOMEM, "out of memory reading ignore rules");
        free(ig->prefix);
        ig->prefix = prefix;
    } else if (!(root_len + 1 == top_len && !strncmp(top, abs_root, root_len))) {
        return SC_OK; /* not inside the work tree (a path libgit2 resolved otherwise): a plain directory */
    }
    if (git_repository_config_snapshot(cfg, repo) < 0) return pipeline__git_err(err, SC_ERROR, "reading the git configuration");
    sc_status rc = SC_OK;
    git_buf info = GIT_BUF_INIT;
    if (git_repository_item_path(&info, repo, GIT_REPOSITORY_ITEM_INFO) == 0)
        rc = pipeline__read_rules(info.ptr, "exclude", "", false, &ig->exclude);
    git_buf_dispose(&info);
    if (rc == SC_OK && *ig->prefix) rc = pipeline__push_above(ig, top);
    return rc == SC_OK ? SC_OK : sc_err_set(err, rc, "out of memory reading ignore rules");
}

/* The rule set of a root, resolved on disk (abs_root). */
static sc_status pipeline__open(pipeline_ignore *ig, const char *abs_root, sc_err *err) {
    git_repository *repo = NULL;
    git_config *cfg = NULL;
    sc_status rc = SC_OK;
    int grc = git_repository_open_ext(&repo, abs_root, 0, getenv("GIT_CEILING_DIRECTORIES"));
    if (grc == 0) {
        rc = pipeline__read_repo(ig, repo, abs_root, &cfg, err);
        git_repository_free(repo);
    } else if (grc != GIT_ENOTFOUND && grc != GIT_EOWNER) {
        /* as git, which refuses to work in it (a bad .git/config, say) */
        char what[PATH_MAX + 64];
        snprintf(what, sizeof what, "the git repository around '%s'", abs_root);
        rc = pipeline__git_err(err, SC_ERROR, what);
    }
    /* else not in a work tree, or one libgit2 refuses to open (another
    ** owner: GIT_EOWNER, or GIT_ENOTFOUND for safe.directory in 1.5.1) */
    if (rc == SC_OK && git_repository_new(&ig->rules) < 0) rc = pipeline__git_err(err, SC_ERROR, "ignore rules");
    if (rc == SC_OK && cfg && git_repository_set_config(ig->rules, cfg) < 0)
        rc = pipeline__git_err(err, SC_ERROR, "ignore rules");
    git_config_free(cfg);
    if (rc == SC_OK) rc = pipeline__rebuild(ig, err);
    if (rc == SC_OK && *ig->prefix) {
        /* a root the rules above it exclude (a build folder, say) was asked for: walk it on its own */
        bool ignored = false;
        rc = pipeline_ignore_check(ig, "", true, &ignored, err);
        if (rc == SC_OK && ignored) {
            pipeline__pop(ig, 0);
            free(ig->exclude);
            ig->exclude = NULL;
            ig->prefix[0] = '\0';
            rc = pipeline__rebuild(ig, err);
        }
    }
    return rc;
}

sc_status pipeline_ignore_open(const char *root, pipeline_ignore **out, sc_err *err) {
    *out = NULL;
    pthread_once(&pipeline__git_once, pipeline__git_init_once);
    if (pipeline__git_rc < 0) return pipeline__git_err(err, SC_ERROR, "initialising libgit2");
    char *abs_root = realpath(root, NULL);
    if (!abs_root)
        return sc_err_set(err, errno == ENOMEM ? SC_NOMEM : SC_IOERR, "cannot resolve '%s': %s", root, strerror(errno));
    pipeline_ignore *ig = calloc(1, sizeof *ig);
    sc_status rc = ig && (ig->prefix = calloc(1, 1)) ? pipeline__open(ig, abs_root, err)
                                                      : sc_err_set(err, SC_NOMEM, "out of memory reading ignore rules");
    free(abs_root);
    if (rc != SC_OK) {
        pipeline_ignore_close(ig);
        return rc;
    }
    *out = ig;
    return SC_OK;
}

void pipeline_ignore_close(pipeline_ignore *ig) {
    if (!ig) return;
    pipeline__pop(ig, 0);
    free(ig->layers);
    free(ig->exclude);
    free(ig->prefix);
    util_buf_free(&ig->path);
    git_repository_free(ig->rules);
    free(ig);
}

/* Path of rel relative to the top of the work tree in ig->path, with a
** trailing '/' for a directory; false when memory runs out. */
static bool pipeline__top_path(pipeline_ignore *ig, const char *rel, bool is_dir) {
    ig->path.len = 0;
    util_buf_puts(&ig->path, ig->prefix);
    if (*ig->prefix && *rel) util_buf_append(&ig->path, "/", 1);
    util_buf_puts(&ig->path, rel);
    if (is_dir) util_buf_append(&ig->path, "/", 1);
    return !ig->path.oom && ig->path.data;
}

sc_status pipeline_ignore_enter(pipeline_ignore *ig, const char *rel, const char *fs_dir, size_t *mark, sc_err *err) {
    *mark = ig->n_layers;
    if (!pipeline__top_path(ig, rel, false)) return sc_err_set(err, SC_NOMEM, "out of memory reading ignore files");
    char *dir = util_strdup(ig->path.data);
    if (!dir) return sc_err_set(err, SC_NOMEM, "out of memory reading ignore files");
    bool pushed = false;
    sc_status rc = pipeline__push(ig, fs_dir, dir, &pushed);
    free(dir);
    if (rc != SC_OK) return sc_err_set(err, rc, "out of memory reading the ignore files of '%s'", fs_dir);
    return pushed ? pipeline__rebuild(ig, err) : SC_OK;
}

void pipeline_ignore_leave(pipeline_ignore *ig, size_t mark) {
    if (ig) pipeline__pop(ig, mark);
}

sc_status pipeline_ignore_check(pipeline_ignore *ig, const char *rel, bool is_dir, bool *ignored, sc_err *err) {
    *ignored = false;
    if (!pipeline__top_path(ig, rel, is_dir)) return sc_err_set(err, SC_NOMEM, "out of memory checking '%s'", rel);
    int yes = 0;
    if (git_ignore_path_is_ignored(&yes, ig->rules, ig->path.data) < 0) {
        const git_error *e = git_error_last();
        if (e && e->klass == GIT_ERROR_NOMEMORY) return sc_err_set(err, SC_NOMEM, "out of memory checking '%s'", rel);
        return SC_OK; /* a path libgit2 cannot take (too long): kept, as before libgit2 */
    }
    *ignored = yes != 0;
    return SC_OK;
}
