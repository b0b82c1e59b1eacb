/*
** cli/cmd_embed: `semcode embed --model DIR [TEXT...]` when DIR is a
** Hugging Face model directory (cli_cmd_embed in cmd_model.c hands over
** here; the built-in model stays there). Embeds the texts given as
** arguments, or else every line of standard input, and prints one JSON
** array of floats per text (JSON Lines, in input order). --tokens prints the token ids instead. Standard
** input is read and embedded in rounds of CLI_EMBED_ROUND lines so memory
** stays bounded on long inputs.
*/
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "semcode/transformer.h"

#define CLI_EMBED_ROUND 1024

static void cli__embed_usage(FILE *f) {
    fprintf(f,
            "usage: semcode embed --model DIR [options] [TEXT...]\n\n"
            "Embeds each TEXT (or each line of standard input when no TEXT is given)\n"
            "and prints one JSON array per text.\n\n"
            "  --model DIR      Hugging Face model directory (config.json, model.safetensors,\n"
            "                   tokenizer.json, ...); without it or with 'builtin', the\n"
            "                   built-in model (see semcode embed --model builtin --help)\n"
            "  --threads N      worker threads (default: all cores)\n"
            "  --batch N        sequences per forward batch (default 32)\n"
            "  --max-len N      tokens per text, special tokens included (default: the model's)\n"
            "  --tokens         print token ids instead of vectors\n"
            "  --info           print the model description to standard error\n");
}

static int cli__embed_round(sc_transformer *m, char **texts, size_t n, int tokens) {
    uint32_t dim = sc_transformer_dim(m);
    if (tokens) {
        uint32_t cap = sc_transformer_max_seq_length(m);
        int32_t *ids = malloc(cap * sizeof *ids);
        if (!ids) return 1;
        for (size_t i = 0; i < n; i++) {
            uint32_t k = 0;
            if (sc_transformer_tokenize(m, texts[i], ids, cap, &k) != SC_OK) {
                free(ids);
                fprintf(stderr, "semcode embed: %s\n", sc_transformer_errmsg(m));
                return 1;
            }
            putchar('[');
            for (uint32_t j = 0; j < k && j < cap; j++) printf("%s%d", j ? "," : "", ids[j]);
            puts("]");
        }
        free(ids);
        return 0;
    }
    float *out = malloc(n * dim * sizeof *out);
    if (!out) {
        fprintf(stderr, "semcode embed: out of memory\n");
        return 1;
    }
    if (sc_transformer_embed(m, (const char *const *)texts, n, out) != SC_OK) {
        fprintf(stderr, "semcode embed: %s\n", sc_transformer_errmsg(m));
        free(out);
        return 1;
    }
    for (size_t i = 0; i < n; i++) {
        putchar('[');
        for (uint32_t j = 0; j < dim; j++) printf("%s%.7g", j ? "," : "", (double)out[i * dim + j]);
        puts("]");
    }
    free(out);
    return 0;
}

int cli_embed_transformer(int argc, char **argv) {
    const char *model = NULL;
    int tokens = 0, info = 0;
    sc_transformer_options opt = sc_transformer_options_default();
    enum { O_MODEL = 1000, O_THREADS, O_BATCH, O_MAX_LEN, O_TOKENS, O_INFO };
    static const struct option opts[] = {
        {"model", required_argument, NULL, O_MODEL}, {"threads", required_argument, NULL, O_THREADS},
        {"batch", required_argument, NULL, O_BATCH}, {"max-len", required_argument, NULL, O_MAX_LEN},
        {"tokens", no_argument, NULL, O_TOKENS},     {"info", no_argument, NULL, O_INFO},
        {"help", no_argument, NULL, 'h'},            {NULL, 0, NULL, 0},
    };
    /* '+': the options end at the first TEXT (or at --); what follows is
    ** text, even when it starts with a dash. */
    cli_opts p;
    cli_opts_begin(&p, "embed", argc, argv, "+h", opts);
    int ch;
    while ((ch = cli_opts_next(&p)) != -1) {
        switch (ch) {
        case O_MODEL: model = optarg; break;
        case O_THREADS:
            if (cli_opt_u32("embed", "--threads", optarg, 0, 1024, &opt.threads)) return 2;
            break;
        case O_BATCH:
            if (cli_opt_u32("embed", "--batch", optarg, 0, 65536, &opt.batch_size)) return 2;
            break;
        case O_MAX_LEN:
            if (cli_opt_u32("embed", "--max-len", optarg, 0, 1u << 20, &opt.max_seq_length)) return 2;
            break;
        case O_TOKENS: tokens = 1; break;
        case O_INFO: info = 1; break;
        case 'h': cli__embed_usage(stdout); return 0;
        default: return 2; /* CLI_OPT_BAD: said why */
        }
    }
    int first_text = optind;
    if (!model) {
        fprintf(stderr, "semcode embed: --model DIR is required\n");
        cli__embed_usage(stderr);
        return 2;
    }
    sc_transformer *m = NULL;
    char *msg = NULL;
    sc_status rc = sc_transformer_load(model, &opt, &m, &msg);
    if (rc != SC_OK) {
        fprintf(stderr, "semcode embed: %s\n", msg ? msg : sc_status_str(rc));
        sc_free(msg);
        return 1;
    }
    if (info) fprintf(stderr, "%s\n", sc_transformer_describe(m));
    int status = 0;
    if (first_text < argc) {
        status = cli__embed_round(m, argv + first_text, (size_t)(argc - first_text), tokens);
    } else {
        char **lines = calloc(CLI_EMBED_ROUND, sizeof *lines);
        size_t n = 0, cap = 0;
        char *line = NULL;
        ssize_t r;
        if (!lines) status = 1;
        while (!status && (r = getline(&line, &cap, stdin)) >= 0) {
            if (r > 0 && line[r - 1] == '\n') line[--r] = '\0';
            if (r > 0 && line[r - 1] == '\r') line[--r] = '\0';
            lines[n] = strdup(line);
            if (!lines[n]) status = 1;
            else if (++n == CLI_EMBED_ROUND) {
                status = cli__embed_round(m, lines, n, tokens);
                for (size_t i = 0; i < n; i++) free(lines[i]);
                n = 0;
            }
        }
        if (!status && n) status = cli__embed_round(m, lines, n, tokens);
        for (size_t i = 0; i < n; i++) free(lines[i]);
        free(lines);
        free(line);
    }
    sc_transformer_free(m);
    return status;
}
