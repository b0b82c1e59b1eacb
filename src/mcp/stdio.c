/*
** mcp/stdio.c: the stdio transport of the MCP server (sc_mcp_serve_stdio,
** `semcode mcp`): newline-delimited JSON-RPC messages in, one answer line
** out per request, flushed at once. Nothing else is written to out: the
** library's messages go to its logger (stderr by default).
*/
#include "mcp/mcp_int.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MCP_MAX_LINE (16u << 20) /* longest message accepted (16 MiB) */

sc_mcp_options sc_mcp_options_default(void) {
    sc_mcp_options o = {.index_at_start = true, .cancel = NULL};
    return o;
}

/* Answer one line; false when out cannot be written. */
static bool mcp__line(mcp_server *m, const char *line, size_t n, FILE *out) {
    while (n && (line[n - 1] == '\r' || line[n - 1] == ' ' || line[n - 1] == '\t')) n--;
    if (!n) return true;
    json_error_t e;
    json_t *msg = json_loadb(line, n, JSON_REJECT_DUPLICATES, &e);
    json_t *resp;
    if (!msg) {
        char buf[300];
        snprintf(buf, sizeof buf, "Parse error: %s at byte %d", e.text, e.position);
        resp = mcp_error_response(NULL, MCP_ERR_PARSE, buf);
    } else {
        mcp_caller who = {.tenant = NULL, .may_write = true};
        resp = mcp_server_handle(m, msg, &who);
        json_decref(msg);
    }
    if (!resp) return true;
    char *text = json_dumps(resp, JSON_COMPACT);
    json_decref(resp);
    if (!text) return true;
    bool ok = fputs(text, out) >= 0 && fputc('\n', out) != EOF && fflush(out) == 0;
    free(text);
    return ok;
}

sc_status sc_mcp_serve_stdio(sc_repo *repo, int in_fd, FILE *out, const sc_mcp_options *opt) {
    sc_mcp_options o = opt ? *opt : sc_mcp_options_default();
    mcp_options mo = {.repo = repo, .repo_mu = NULL, .may_index = true};
    mcp_server *m = mcp_server_new(&mo);
    if (!m) return SC_NOMEM;
    mcp_server_set_cancel(m, o.cancel);
    if (o.index_at_start && repo) mcp_server_reindex(m, -1);
    util_buf buf = {0};
    sc_status rc = SC_OK;
    for (;;) {
        if (o.cancel && *o.cancel) {
            rc = SC_INTERRUPTED;
            break;
        }
        struct pollfd p = {.fd = in_fd, .events = POLLIN};
        int pr = poll(&p, 1, 200);
        if (pr < 0 && errno != EINTR) {
            rc = SC_IOERR;
            break;
        }
        if (pr <= 0) continue;
        char chunk[65536];
        ssize_t got = read(in_fd, chunk, sizeof chunk);
        if (got < 0 && (errno == EINTR || errno == EAGAIN)) continue;
        if (got <= 0) break; /* end of input */
        util_buf_append(&buf, chunk, (size_t)got);
        if (buf.oom) {
            rc = SC_NOMEM;
            break;
        }
        size_t start = 0;
        for (size_t i = 0; i < buf.len; i++) {
            if (buf.data[i] != '\n') continue;
            if (!mcp__line(m, buf.data + start, i - start, out)) {
                rc = SC_IOERR;
                break;
            }
            start = i + 1;
        }
        if (rc != SC_OK) break;
        memmove(buf.data, buf.data + start, buf.len - start);
        buf.len -= start;
        if (buf.len > MCP_MAX_LINE) { /* a line that never ends: refuse it, keep serving */
            json_t *r = mcp_error_response(NULL, MCP_ERR_INVALID_REQUEST, "Invalid Request: message over 16 MiB");
            char *t = json_dumps(r, JSON_COMPACT);
            json_decref(r);
            if (t) fprintf(out, "%s\n", t), fflush(out);
            free(t);
            buf.len = 0;
        }
    }
    if (rc == SC_OK && buf.len && !mcp__line(m, buf.data, buf.len, out)) rc = SC_IOERR; /* last line without '\n' */
    util_buf_free(&buf);
    mcp_server_free(m);
    return rc;
}
