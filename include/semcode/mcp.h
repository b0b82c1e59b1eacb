/*
** semcode public API: the Model Context Protocol server over stdio
** (`semcode mcp`, issue 19). Newline-delimited JSON-RPC 2.0 on a pair of
** streams: initialize, ping, tools/list, tools/call of the tools described
** in docs/MCP.md. The Streamable HTTP transport of the same server is part
** of `semcode serve` (include/semcode/server.h, POST /mcp).
**
** Thread safety: sc_mcp_serve_stdio uses repo from its own thread and from
** the background index run it starts; nothing else may use repo meanwhile.
*/
#ifndef SEMCODE_MCP_H
#define SEMCODE_MCP_H

#include <stdio.h>

#include "common.h"
#include "repo.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct sc_mcp_options {
    bool index_at_start;  /* start an incremental index update in the background at once (default true) */
    volatile int *cancel; /* the flag given as repo's sc_repo_options.cancel: set when input ends so a running
                             update stops at its next batch; also ends serving when it becomes non-zero (a signal)
                             (NULL = none: a running update is waited for) */
} sc_mcp_options;

SC_API sc_mcp_options sc_mcp_options_default(void);

/* Answer MCP messages read from in_fd (one JSON object a line) on out (one
** a line, flushed) until in_fd ends or *opt->cancel is set, over repo
** (borrowed). Calls never wait for the background index run: search_code
** answers from what is indexed so far, marked partial. Returns SC_OK at the
** end of input, SC_INTERRUPTED when cancelled, SC_IOERR when out fails. */
SC_API sc_status sc_mcp_serve_stdio(sc_repo *repo, int in_fd, FILE *out, const sc_mcp_options *opt);

#ifdef __cplusplus
}
#endif
#endif /* SEMCODE_MCP_H */
