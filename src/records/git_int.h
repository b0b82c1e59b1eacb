/*
** records: private interface of the git source, shared by git.c (the
** run: repository, branches, cursor, rewrites, walks) and git_commit.c (one
** commit -> one record). Only these two files see libgit2.
*/
#ifndef SC_RECORDS_GIT_INT_H
#define SC_RECORDS_GIT_INT_H

#include <git2.h>

#include "records/records_int.h"
#include "semcode/parse.h"

#define GIT_LINK_MAX_FILES 500 /* files of one commit parsed for links at most */

/* What a run works with; everything borrowed or owned by git.c. */
typedef struct git_run {
    sc_records *rs;                /* where the records go (errors too) */
    git_repository *repo;          /* the repository, opened bare (see git.c) */
    char workdir[4096];            /* its work tree ("" for a bare repository) */
    const sc_git_options *opt;     /* options (defaults filled in) */
    char source[SC_REC_MAX_SOURCE + 1]; /* record source */
    bool link;                     /* link commits to the code entities their diffs touched */
    char prefix[4096];             /* the code root relative to the work tree: "" or "dir/sub/" */
    sc_parser *parser;             /* parses changed files for links */
    sc_git_summary *sum;           /* counters */
} git_run;

/* The record of commit (owned by the caller, sc_rec_free): message,
** people, dates, parents, changed files with status and line counts, diff
** stats and, when run->link, links to the entities its hunks touched.
** Errors go to run->rs (records_fail). */
sc_status git_commit_record(git_run *run, git_commit *commit, sc_rec **out);

/* Fail run->rs with libgit2's last message after `what`. */
sc_status git_fail(git_run *run, sc_status code, const char *what);

#endif /* SC_RECORDS_GIT_INT_H */
