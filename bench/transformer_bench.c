/*
** bench/transformer_bench: semcode's side of bench/transformer.sh. Loads a
** model directory, embeds every line of a text file (batch size and
** thread count from the command line) after one warm-up batch, and prints
** one JSON line: sentences, seconds, sentences per second, tokens.
**
**   transformer_bench MODEL_DIR TEXTS_FILE BATCH THREADS [ROUNDS]
*/
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "semcode/transformer.h"

static double bench__now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

int main(int argc, char **argv) {
    if (argc < 5) {
        fprintf(stderr, "usage: %s MODEL_DIR TEXTS_FILE BATCH THREADS [ROUNDS]\n", argv[0]);
        return 2;
    }
    sc_transformer_options opt = sc_transformer_options_default();
    opt.batch_size = (uint32_t)atoi(argv[3]);
    opt.threads = (uint32_t)atoi(argv[4]);
    int rounds = argc > 5 ? atoi(argv[5]) : 1;
    sc_transformer *m = NULL;
    char *msg = NULL;
    if (sc_transformer_load(argv[1], &opt, &m, &msg) != SC_OK) {
        fprintf(stderr, "load: %s\n", msg);
        return 1;
    }
    FILE *f = fopen(argv[2], "r");
    if (!f) return 1;
    size_t n = 0, cap = 0;
    char **texts = NULL, *line = NULL;
    size_t lcap = 0;
    ssize_t r;
    while ((r = getline(&line, &lcap, f)) >= 0) {
        if (r > 0 && line[r - 1] == '\n') line[r - 1] = '\0';
        if (n == cap) {
            cap = cap ? cap * 2 : 1024;
            texts = realloc(texts, cap * sizeof *texts);
        }
        texts[n++] = strdup(line);
    }
    fclose(f);
    free(line);
    uint32_t dim = sc_transformer_dim(m);
    float *out = malloc(n * dim * sizeof *out);
    size_t tokens = 0;
    for (size_t i = 0; i < n; i++) {
        uint32_t k = 0;
        sc_transformer_tokenize(m, texts[i], NULL, 0, &k);
        tokens += k;
    }
    size_t warm = n < 32 ? n : 32;
    sc_transformer_embed(m, (const char *const *)texts, warm, out);
    double t0 = bench__now();
    for (int k = 0; k < rounds; k++)
        if (sc_transformer_embed(m, (const char *const *)texts, n, out) != SC_OK) {
            fprintf(stderr, "embed: %s\n", sc_transformer_errmsg(m));
            return 1;
        }
    double dt = bench__now() - t0;
    printf("{\"engine\":\"semcode\",\"sentences\":%zu,\"tokens\":%zu,\"seconds\":%.3f,\"per_s\":%.1f}\n",
           n * (size_t)rounds, tokens * (size_t)rounds, dt, (double)n * rounds / dt);
    for (size_t i = 0; i < n; i++) free(texts[i]);
    free(texts);
    free(out);
    sc_transformer_free(m);
    return 0;
}
