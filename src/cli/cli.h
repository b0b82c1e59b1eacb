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
int cli_cmd_store_demo(int argc, char **argv);
int cli_cmd_parse(int argc, char **argv); /* semcode parse PATH: entities and summary */
int cli_cmd_pairs(int argc, char **argv); /* semcode pairs PATH: doc/code training pairs */

#endif /* SC_CLI_H */
