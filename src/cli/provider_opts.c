/*
** cli/provider_opts.c: the embedding provider options shared by `semcode
** index`, `search`, `similar`, `duplicates`, `stats` (cmd_repo.c) and
** `semcode embed` (cmd_model.c): --provider, --base-url, --remote-model,
** --api-key-env, --dimensions, --send-dimensions, --batch-size,
** --concurrency, --timeout, --retries, --remote-family, --fallback, their
** environment defaults (values are checked with options.c's helpers), and
** where the built-in model is.
*/
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"

const char *cli_default_model(void) {
    static char *found;
    static bool looked;
    if (!looked) {
        found = sc_model_default_path();
        looked = true;
    }
    return found ? found : "models/builtin.scm";
}

void cli_provider_env(cli_provider_args *p) {
    const char *env;
    if ((env = getenv("SEMCODE_PROVIDER")) && *env) p->provider = env;
    if ((env = getenv("SEMCODE_BASE_URL")) && *env) p->remote.base_url = env;
    if ((env = getenv("SEMCODE_REMOTE_MODEL")) && *env) p->remote.model = env;
    if ((env = getenv("SEMCODE_API_KEY_ENV")) && *env) p->remote.api_key_env = env;
}

static bool cli__is_provider(const char *s) {
    return !strcmp(s, "openai") || !strcmp(s, "builtin") || !strcmp(s, "local");
}

int cli_provider_option(const char *cmd, int ch, const char *arg, cli_provider_args *p) {
    switch (ch) {
    case CLI_O_PROVIDER:
        if (!cli__is_provider(arg)) return cli_usage_error(cmd, "--provider must be builtin or openai, got '%s'", arg);
        p->provider = arg;
        return 0;
    case CLI_O_BASE_URL:
        if (strncmp(arg, "http://", 7) && strncmp(arg, "https://", 8))
            return cli_usage_error(cmd, "--base-url must start with http:// or https://, got '%s'", arg);
        p->remote.base_url = arg;
        break;
    case CLI_O_REMOTE_MODEL:
        if (!*arg) return cli_usage_error(cmd, "--remote-model needs a model name%s", "");
        p->remote.model = arg;
        break;
    case CLI_O_KEY_ENV:
        if (!*arg || strchr(arg, '='))
            return cli_usage_error(cmd, "--api-key-env takes the NAME of an environment variable, got '%s'",
                                   *arg ? "(a value with '=')" : "nothing");
        p->remote.api_key_env = arg;
        break;
    case CLI_O_FAMILY: p->remote.family = arg; break;
    case CLI_O_SEND_DIMS: p->remote.send_dimensions = true; break;
    case CLI_O_DIMS:
    case CLI_O_BATCH:
    case CLI_O_CONC:
    case CLI_O_RETRIES: {
        uint32_t lo = ch == CLI_O_RETRIES ? 0 : 1;
        uint32_t hi = ch == CLI_O_DIMS ? 65536 : ch == CLI_O_BATCH ? 2048 : ch == CLI_O_CONC ? 64 : 100;
        uint32_t *dst = ch == CLI_O_DIMS ? &p->remote.dim : ch == CLI_O_BATCH ? &p->remote.batch_size
                        : ch == CLI_O_CONC ? &p->remote.concurrency : &p->remote.max_retries;
        const char *name = ch == CLI_O_DIMS ? "--dimensions" : ch == CLI_O_BATCH ? "--batch-size"
                           : ch == CLI_O_CONC ? "--concurrency" : "--retries";
        int rc = cli_opt_u32(cmd, name, arg, lo, hi, dst);
        if (rc) return rc;
        if (ch == CLI_O_RETRIES) p->retries_given = true;
        break;
    }
    case CLI_O_TIMEOUT: {
        float secs;
        if (!cli_parse_f(arg, 0.001f, 3600.0f, &secs))
            return cli_usage_error(cmd, "--timeout must be a number of seconds within (0, 3600], got '%s'", arg);
        p->remote.timeout_ms = (uint32_t)(secs * 1000.0f + 0.5f);
        break;
    }
    case CLI_O_FALLBACK:
        if (strcmp(arg, "builtin"))
            return cli_usage_error(cmd, "--fallback must be builtin (the only local provider), got '%s'", arg);
        p->fallback = true;
        return 0;
    default: return -1;
    }
    p->remote_given = true;
    return 0;
}

int cli_provider_check(const char *cmd, const cli_provider_args *p) {
    if (p->provider && !cli__is_provider(p->provider))
        return cli_usage_error(cmd, "SEMCODE_PROVIDER must be builtin or openai, got '%s'", p->provider);
    return 0;
}

sc_repo_provider cli_provider_choice(const cli_provider_args *p, bool model_given) {
    if (p->provider) return strcmp(p->provider, "openai") ? SC_REPO_PROVIDER_LOCAL : SC_REPO_PROVIDER_REMOTE;
    if (p->remote_given || p->fallback) return SC_REPO_PROVIDER_REMOTE;
    return model_given ? SC_REPO_PROVIDER_LOCAL : SC_REPO_PROVIDER_AUTO;
}
