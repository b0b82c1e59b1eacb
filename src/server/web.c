/*
** server/web.c: the search page that `semcode serve` gives browsers. GET /
** answers the page when the request's Accept header prefers text/html
** (a browser's navigation) and Qdrant's JSON title otherwise (clients and
** Qdrant's tests check it); GET /ui/ is the page whatever the Accept, and
** GET /ui/NAME its scripts and styles. The files come from web/ and from
** highlight.js in node_modules, built into web_assets.c by
** tools/embed_web.sh at build time: nothing is read from disk at run time.
**
** DESIGN
** - Assets need no key: they hold no data. The page sends the key the user
**   enters (kept in the browser's sessionStorage) with every API call.
** - GET / sets `Vary: Accept`, so a cache never serves the page to a JSON
**   client or the JSON to a browser.
*/
#include "server/server_int.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* The q value of one media range's parameters ("; q=0.8; x=y"), 1 when absent. */
static double server_web__q(const char *params, size_t n) {
    for (size_t i = 0; i < n; i++) {
        if (params[i] != ';') continue;
        size_t j = i + 1;
        while (j < n && (params[j] == ' ' || params[j] == '\t')) j++;
        if (j + 1 < n && (params[j] == 'q' || params[j] == 'Q') && params[j + 1] == '=') {
            char num[16];
            size_t k = 0;
            for (j += 2; j < n && k + 1 < sizeof num && params[j] != ';' && params[j] != ' '; j++) num[k++] = params[j];
            num[k] = 0;
            char *end = NULL;
            double q = strtod(num, &end);
            return end == num || q < 0 ? 0 : q > 1 ? 1 : q;
        }
    }
    return 1;
}

bool server_web_prefers_html(const char *accept) {
    if (!accept) return false;
    double html = 0, json = 0;
    const char *p = accept;
    while (*p) {
        while (*p == ' ' || *p == '\t' || *p == ',') p++;
        size_t n = strcspn(p, ",");
        size_t type_n = strcspn(p, ";,");
        while (type_n && (p[type_n - 1] == ' ' || p[type_n - 1] == '\t')) type_n--;
        double q = server_web__q(p + type_n, n - type_n);
        if (type_n == 9 && !strncasecmp(p, "text/html", 9)) html = q > html ? q : html;
        else if ((type_n == 16 && !strncasecmp(p, "application/json", 16)) ||
                 (type_n == 13 && !strncasecmp(p, "application/*", 13)) || (type_n == 3 && !strncmp(p, "*/*", 3)))
            json = q > json ? q : json;
        p += n;
    }
    return html > json;
}

void server_web_serve(const char *name, server_response *resp) {
    if (!name || !*name) name = "index.html";
    for (size_t i = 0; i < server_web_n_assets; i++) {
        const server_web_asset *a = &server_web_assets[i];
        if (strcmp(a->name, name)) continue;
        resp->status = 200;
        resp->content_type = a->content_type;
        util_buf_append(&resp->body, a->data, a->size);
        if (resp->body.oom) {
            util_buf_free(&resp->body);
            server_response_error(resp, 500, "out of memory");
        }
        return;
    }
    char msg[160];
    snprintf(msg, sizeof msg, "Not found: the web page has no file `%.64s`", name);
    server_response_error(resp, 404, msg);
}
