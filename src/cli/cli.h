/*
** cli: subcommands of the semcode executable. Each subcommand is a
** function taking (argc, argv) with argv[0] the command name and returning
** the process exit status: 0 success, 1 failure, 2 bad usage.
*/
#ifndef SC_CLI_H
#define SC_CLI_H

#include "semcode/semcode.h"

typedef struct cli_command {
    const char *name;    /* word after "semcode" */
    const char *summary; /* one line for the usage text */
    int (*run)(int argc, char **argv);
} cli_command;

int cli_cmd_version(int argc, char **argv);
int cli_cmd_index(int argc, char **argv);      /* semcode index [PATH] */
int cli_cmd_search(int argc, char **argv);     /* semcode search QUERY */
int cli_cmd_similar(int argc, char **argv);    /* semcode similar TARGET */
int cli_cmd_duplicates(int argc, char **argv); /* semcode duplicates */
int cli_cmd_stats(int argc, char **argv);      /* semcode stats */
int cli_cmd_store_demo(int argc, char **argv);
int cli_cmd_parse(int argc, char **argv); /* semcode parse PATH: entities and summary */
int cli_cmd_pairs(int argc, char **argv); /* semcode pairs PATH: doc/code training pairs */
int cli_cmd_serve(int argc, char **argv); /* semcode serve: the HTTP server */
int cli_cmd_train(int argc, char **argv); /* semcode train --pairs FILE --out MODEL */
int cli_cmd_eval(int argc, char **argv);  /* semcode eval: BM25 / model / hybrid retrieval quality */
int cli_cmd_embed(int argc, char **argv); /* semcode embed: vectors of input lines */
int cli_cmd_doctor(int argc, char **argv); /* semcode doctor: quality report of stored embeddings */
/* semcode embed --model DIR (a Hugging Face model directory): called by cli_cmd_embed */
int cli_embed_transformer(int argc, char **argv);

#endif /* SC_CLI_H */
