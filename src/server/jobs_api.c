/*
** server/jobs_api.c: the HTTP endpoints of backfill jobs: POST /jobs,
** GET /jobs, GET /jobs/{id}, DELETE /jobs/{id} (docs/API.md). A key
** scoped to a tenant starts, sees and cancels only its tenant's jobs;
** another tenant's job answers 404 as a missing one, so ids leak nothing.
*/
#include "server/jobs.h"
#include "server/server_int.h"

#include <stdlib.h>
#include <string.h>

/* The jobs of the server, or NULL with 503 when jobs are off. */
static server_jobs *server__jobs(server_call *call) {
    if (!call->ctx->jobs) server_fail(call, 503, "Service unavailable: backfill jobs are not running on this server");
    return call->ctx->jobs;
}

/* The job id of the path: a positive integer. */
static bool server__job_id(server_call *call, int64_t *id) {
    const char *s = call->args[0];
    char *end = NULL;
    long long v = strtoll(s, &end, 10);
    if (!*s || *end || v <= 0) {
        server_fail(call, 400, "Validation error in path: the job id must be a positive integer, got `%.40s`", s);
        return false;
    }
    *id = v;
    return true;
}

json_t *server_api_jobs_submit(server_call *call) {
    server_jobs *js = server__jobs(call);
    if (!js) return NULL;
    int status = 0;
    char msg[1024];
    json_t *o = server_jobs_submit(js, call->body, call->tenant, call->role >= SERVER_ROLE_ADMIN, &status, msg,
                                   sizeof msg);
    if (!o) server_fail(call, status, "%s", msg);
    return o;
}

json_t *server_api_jobs_list(server_call *call) {
    server_jobs *js = server__jobs(call);
    if (!js) return NULL;
    const char *state = server_arg(call, "state");
    if (state && strcmp(state, "queued") && strcmp(state, "running") && strcmp(state, "done") &&
        strcmp(state, "failed") && strcmp(state, "cancelled"))
        return server_fail(call, 400, "Query deserialize error: `state` must be queued, running, done, failed or "
                                      "cancelled, not `%.32s`", state);
    json_t *a = server_jobs_list(js, call->tenant, state);
    return a ? json_pack("{s:o}", "jobs", a) : server_fail(call, 500, "out of memory");
}

/* GET or DELETE of the job in the path: fn's status of it, 404 when the caller does not see it. */
static json_t *server__job_call(server_call *call, json_t *(*fn)(server_jobs *, int64_t, const char *)) {
    server_jobs *js = server__jobs(call);
    int64_t id;
    if (!js || !server__job_id(call, &id)) return NULL;
    json_t *o = fn(js, id, call->tenant);
    return o ? o : server_fail(call, 404, "Not found: job %lld does not exist", (long long)id);
}

json_t *server_api_job_get(server_call *call) {
    return server__job_call(call, server_jobs_get);
}

json_t *server_api_job_cancel(server_call *call) {
    return server__job_call(call, server_jobs_cancel);
}
