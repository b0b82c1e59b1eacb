/*
** cli/print_stats.c: the human summary of `semcode stats` (without --json),
** read from the JSON object of sc_repo_stats_json so that both outputs say
** the same thing. Counts by language and kind are listed largest first.
*/
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"

/* ==== Helpers ==== */

typedef struct cli__count {
    const char *name; /* language or kind (borrowed from the JSON) */
    json_int_t n;     /* how many entities */
} cli__count;

static int cli__count_cmp(const void *a, const void *b) {
    const cli__count *x = a, *y = b;
    if (x->n != y->n) return x->n < y->n ? 1 : -1;
    return strcmp(x->name, y->name);
}

/* "python 8, c 3, ..." for an object of counts, largest first. */
static void cli__print_counts(FILE *f, const json_t *obj) {
    size_t n = json_object_size(obj), k = 0;
    if (!n) {
        fputs("none", f);
        return;
    }
    cli__count *c = malloc(n * sizeof *c);
    if (!c) return;
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)obj, key, v) c[k++] = (cli__count){key, json_integer_value(v)};
    qsort(c, k, sizeof *c, cli__count_cmp);
    for (size_t i = 0; i < k; i++) fprintf(f, "%s%s %lld", i ? ", " : "", c[i].name, (long long)c[i].n);
    free(c);
}

/* Bytes as B, KiB, MiB or GiB with one decimal. */
static void cli__print_size(FILE *f, double bytes) {
    static const char *const unit[] = {"B", "KiB", "MiB", "GiB", "TiB"};
    int u = 0;
    while (bytes >= 1024 && u < 4) bytes /= 1024, u++;
    if (u == 0) fprintf(f, "%.0f B", bytes);
    else fprintf(f, "%.1f %s", bytes, unit[u]);
}

static json_int_t cli__int(const json_t *o, const char *k) { return json_integer_value(json_object_get(o, k)); }
static double cli__num(const json_t *o, const char *k) { return json_number_value(json_object_get(o, k)); }

/* ==== The summary ==== */

int cli_stats_print(FILE *f, const char *json_text) {
    json_error_t jerr;
    json_t *s = json_loads(json_text, 0, &jerr);
    if (!s) return -1;
    const json_t *model = json_object_get(s, "model");
    fprintf(f, "index of %s\n", json_string_value(json_object_get(s, "root")));
    fprintf(f, "  store        %s (format %lld), ", json_string_value(json_object_get(s, "store")),
            (long long)cli__int(s, "index_format"));
    cli__print_size(f, (double)cli__int(s, "store_bytes"));
    fputs(" (", f);
    cli__print_size(f, cli__num(s, "bytes_per_entity"));
    fputs(" per entity)\n", f);
    fprintf(f, "  model        %s, %lld dimensions, %s", json_string_value(json_object_get(model, "id")),
            (long long)cli__int(model, "dim"), json_string_value(json_object_get(model, "provider")));
    const char *base = json_string_value(json_object_get(model, "base_url"));
    if (base) fprintf(f, " (%s)", base);
    const json_t *sw = json_object_get(s, "switch");
    if (sw)
        fprintf(f, "\n  switching    from %s to %s (%lld dimensions): %lld of %lld entities embedded; searches use "
                   "the first until 'semcode index' completes it",
                json_string_value(json_object_get(sw, "from")), json_string_value(json_object_get(sw, "to")),
                (long long)cli__int(sw, "dim_to"), (long long)cli__int(sw, "done"), (long long)cli__int(sw, "total"));
    fprintf(f, "\n  files        %lld\n  entities     %lld: ", (long long)cli__int(s, "files"),
            (long long)cli__int(s, "entities"));
    cli__print_counts(f, json_object_get(s, "by_language"));
    fputs("\n  kinds        ", f);
    cli__print_counts(f, json_object_get(s, "by_kind"));
    fputc('\n', f);
    const json_t *run = json_object_get(s, "last_run");
    const char *last = json_string_value(json_object_get(s, "last_index"));
    if (last && json_is_object(run))
        fprintf(f,
                "  last index   %s: %lld files seen, %lld parsed; entities +%lld ~%lld -%lld; %lld embedded, "
                "%lld reused; %.2f s\n",
                last, (long long)cli__int(run, "files_seen"), (long long)cli__int(run, "files_parsed"),
                (long long)cli__int(run, "entities_added"), (long long)cli__int(run, "entities_updated"),
                (long long)cli__int(run, "entities_removed"), (long long)cli__int(run, "embeddings_new"),
                (long long)cli__int(run, "embeddings_cached"), cli__num(run, "seconds"));
    else if (last) fprintf(f, "  last index   %s\n", last);
    const json_t *cache = json_object_get(s, "cache");
    if (cache) fprintf(f, "  cache        %lld vectors\n", (long long)cli__int(cache, "entries"));
    const json_t *e = json_object_get(s, "embeddings");
    if (e) {
        fprintf(f,
                "  embeddings   %lld checked: %lld of the wrong dimension, %lld zero, norm %.3f ± %.3f, "
                "%.1f%% exact duplicates\n",
                (long long)cli__int(e, "sampled"), (long long)cli__int(e, "wrong_dimension"),
                (long long)cli__int(e, "zero_vectors"), cli__num(e, "norm_mean"), cli__num(e, "norm_std"),
                100.0 * cli__num(e, "exact_duplicate_rate"));
        if (cli__int(e, "wrong_dimension") || cli__int(e, "zero_vectors"))
            fputs("  warning: some vectors are unusable; 'semcode doctor' tells more\n", f);
    }
    json_decref(s);
    return 0;
}
