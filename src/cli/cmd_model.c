/*
** cli/cmd_model.c: `semcode train` (contrastive training of the built-in
** model from doc/code pairs), `semcode eval` (CodeSearchNet protocol over
** held-out pairs and the CoSQA benchmark: BM25, model, hybrid) and
** `semcode embed` (embed lines of text with a model or a remote endpoint,
** for checks and benchmarks).
*/
#include <glob.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/stat.h>

#include "cli/cli.h"

#define CLI__DEFAULT_MODEL cli_default_model() /* the shipped model, found as index finds it */

static double cli__thread_cpu(void) {
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static double cli__model_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* ==== train ==== */

static void cli__train_usage(FILE *f) {
    sc_train_options d = sc_train_options_default();
    fprintf(f,
            "usage: semcode train --pairs FILE --out MODEL [options]\n\n"
            "Trains the built-in static embedding model on doc/code pairs (JSON Lines\n"
            "from `semcode pairs`) with symmetric InfoNCE over in-batch negatives.\n\n"
            "  --dim N          vector dimension (%u)\n"
            "  --epochs N       passes over the pairs (%u)\n"
            "  --batch N        pairs per batch (%u)\n"
            "  --lr X           Adam learning rate (%g)\n"
            "  --temperature X  InfoNCE temperature (%g)\n"
            "  --seed N         random seed (%llu)\n"
            "  --threads N      threads (0 = all cores)\n"
            "  --vocab N        vocabulary size cap (%u)\n"
            "  --min-count N    minimum token count (%u)\n"
            "  --buckets N      character n-gram buckets (%u)\n"
            "  --max-tokens N   tokens kept per text (%u)\n"
            "  --pooling idf|learned|sides   pooling weights (learned; sides = learned, separate\n"
            "                   query and code weights over the shared table)\n"
            "  --towers 1|2     shared or separate query/code towers (%u)\n"
            "  --max-pairs N    use only the first N pairs\n"
            "  --dropout P      drop each token of a training text with probability P (0)\n"
            "  --weight-lr X    learning-rate multiplier of the pooling weights (1)\n"
            "  --tf-power P     a token repeated c times in one text counts c^P (0.3; 1 = plain counts,\n"
            "                   0 = once), at training and at inference (stored in the model)\n"
            "  --batching mixed|language  batches of random pairs, or each of one language (mixed)\n"
            "  --local K        with --batching language: batches of chunks of K pairs from one directory\n"
            "  --upsample N     with --batching language: a language with n < N pairs is visited N/n (<= 4) times an epoch\n"
            "  --mine H         with --local K: from epoch 2, chunks of K pairs whose code vectors (current model)\n"
            "                   fall on the same sides of H random hyperplanes (mined hard negatives; H <= 32)\n"
            "  --loss symmetric|doc-to-code  both cross-entropies, or the doc→code one only (symmetric)\n"
            "  --eval FILE      held-out pairs to evaluate; scores go into the model metadata\n"
            "  --meta JSON      extra metadata object\n",
            d.dim, d.epochs, d.batch, (double)d.lr, (double)d.temperature, (unsigned long long)d.seed, d.vocab_max,
            d.min_count, d.n_buckets, d.max_tokens, d.towers);
}

int cli_cmd_train(int argc, char **argv) {
    enum { O_PAIRS = 1000, O_OUT, O_DIM, O_EPOCHS, O_BATCH, O_LR, O_TEMP, O_SEED, O_THREADS, O_VOCAB, O_MIN_COUNT,
           O_BUCKETS, O_MAX_TOKENS, O_TOWERS, O_MAX_PAIRS, O_EVAL, O_META, O_DROPOUT, O_WEIGHT_LR, O_TF_POWER,
           O_LOCAL, O_UPSAMPLE, O_MINE, O_BATCHING, O_LOSS, O_POOLING };
    static const struct option opts[] = {
        {"pairs", required_argument, NULL, O_PAIRS},         {"out", required_argument, NULL, O_OUT},
        {"dim", required_argument, NULL, O_DIM},             {"epochs", required_argument, NULL, O_EPOCHS},
        {"batch", required_argument, NULL, O_BATCH},         {"lr", required_argument, NULL, O_LR},
        {"temperature", required_argument, NULL, O_TEMP},    {"seed", required_argument, NULL, O_SEED},
        {"threads", required_argument, NULL, O_THREADS},     {"vocab", required_argument, NULL, O_VOCAB},
        {"min-count", required_argument, NULL, O_MIN_COUNT}, {"buckets", required_argument, NULL, O_BUCKETS},
        {"max-tokens", required_argument, NULL, O_MAX_TOKENS}, {"towers", required_argument, NULL, O_TOWERS},
        {"max-pairs", required_argument, NULL, O_MAX_PAIRS}, {"eval", required_argument, NULL, O_EVAL},
        {"meta", required_argument, NULL, O_META},           {"dropout", required_argument, NULL, O_DROPOUT},
        {"weight-lr", required_argument, NULL, O_WEIGHT_LR}, {"tf-power", required_argument, NULL, O_TF_POWER},
        {"local", required_argument, NULL, O_LOCAL},         {"upsample", required_argument, NULL, O_UPSAMPLE},
        {"mine", required_argument, NULL, O_MINE},           {"batching", required_argument, NULL, O_BATCHING},
        {"loss", required_argument, NULL, O_LOSS},           {"pooling", required_argument, NULL, O_POOLING},
        {"help", no_argument, NULL, 'h'},                    {NULL, 0, NULL, 0},
    };
    static const char *const batchings[] = {"mixed", "language"}, *const losses[] = {"symmetric", "doc-to-code"},
                             *const poolings[] = {"idf", "learned", "sides"};
    static const sc_pooling pooling_of[] = {SC_POOLING_IDF, SC_POOLING_LEARNED, SC_POOLING_SIDES};
    sc_train_options o = sc_train_options_default();
    o.verbose = 1;
    const uint32_t rows = 1u << 23; /* the model's row limit (vocabulary, buckets) */
    cli_opts p;
    cli_opts_begin(&p, "train", argc, argv, "h", opts);
    int ch;
    while ((ch = cli_opts_next(&p)) != -1) {
        const char *v = optarg;
        char flag[32]; /* the option's name in messages */
        snprintf(flag, sizeof flag, "--%s", p.index >= 0 ? opts[p.index].name : "help");
        uint32_t k = 0;
        int rc = 0;
        switch (ch) {
        case 'h': cli__train_usage(stdout); return 0;
        case O_PAIRS: o.pairs_path = v; break;
        case O_OUT: o.out_path = v; break;
        case O_EVAL: o.eval_path = v; break;
        case O_META: o.meta_json = v; break;
        case O_DIM: rc = cli_opt_u32("train", flag, v, 1, 4096, &o.dim); break;
        case O_EPOCHS: rc = cli_opt_u32("train", flag, v, 1, 100000, &o.epochs); break;
        case O_BATCH: rc = cli_opt_u32("train", flag, v, 2, 1u << 20, &o.batch); break;
        case O_LR: rc = cli_opt_f("train", flag, v, 1e-9f, 100.0f, &o.lr); break;
        case O_TEMP: rc = cli_opt_f("train", flag, v, 1e-6f, 100.0f, &o.temperature); break;
        case O_SEED: rc = cli_opt_u64("train", flag, v, 0, UINT64_MAX, &o.seed); break;
        case O_THREADS: rc = cli_opt_u32("train", flag, v, 0, 1024, &o.threads); break;
        case O_VOCAB: rc = cli_opt_u32("train", flag, v, 0, rows, &o.vocab_max); break;
        case O_MIN_COUNT: rc = cli_opt_u32("train", flag, v, 0, UINT32_MAX, &o.min_count); break;
        case O_BUCKETS: rc = cli_opt_u32("train", flag, v, 0, rows, &o.n_buckets); break;
        case O_MAX_TOKENS: rc = cli_opt_u32("train", flag, v, 0, 1u << 20, &o.max_tokens); break;
        case O_TOWERS: rc = cli_opt_u32("train", flag, v, 1, 2, &o.towers); break;
        case O_MAX_PAIRS: rc = cli_opt_u64("train", flag, v, 0, UINT64_MAX, &o.max_pairs); break;
        case O_DROPOUT: rc = cli_opt_f("train", flag, v, 0.0f, 0.999f, &o.dropout); break;
        case O_WEIGHT_LR: rc = cli_opt_f("train", flag, v, 0.0f, 1000.0f, &o.weight_lr); break;
        case O_TF_POWER: rc = cli_opt_f("train", flag, v, 0.0f, 1.0f, &o.tf_power); break;
        case O_LOCAL: rc = cli_opt_u32("train", flag, v, 0, 1u << 20, &o.local); break;
        case O_UPSAMPLE: rc = cli_opt_u32("train", flag, v, 0, UINT32_MAX, &o.upsample); break;
        case O_MINE: rc = cli_opt_u32("train", flag, v, 0, 32, &o.mine); break;
        case O_BATCHING: rc = cli_opt_enum("train", flag, v, batchings, 2, &o.batching); break;
        case O_LOSS: rc = cli_opt_enum("train", flag, v, losses, 2, &o.one_way); break;
        case O_POOLING:
            rc = cli_opt_enum("train", flag, v, poolings, 3, &k);
            o.pooling = pooling_of[k];
            break;
        default: return 2; /* CLI_OPT_BAD: said why */
        }
        if (rc) return rc;
    }
    if (optind < argc) return cli_usage_error("train", "unexpected argument '%s'", argv[optind]);
    if (!o.pairs_path || !o.out_path) goto usage;
    char *msg = NULL;
    double t0 = cli__model_now();
    sc_status rc = sc_model_train(&o, &msg);
    if (rc != SC_OK) {
        fprintf(stderr, "semcode train: %s (%s)\n", msg ? msg : "failed", sc_status_str(rc));
        sc_free(msg);
        return 1;
    }
    fprintf(stderr, "train: wrote %s in %.1f s\n", o.out_path, cli__model_now() - t0);
    return 0;
usage:
    cli__train_usage(stderr);
    return 2;
}

/* ==== eval ==== */

static void cli__eval_usage(FILE *f) {
    fprintf(f, "usage: semcode eval [--model MODEL] [--pairs HELDOUT.jsonl] [--pool N] [--max-queries N]\n"
               "                    [--cosqa QUERIES.json --cosqa-corpus code_idx_map.txt] [--json]\n"
               "                    [--rrf-k K] [--w-bm25 W] [--w-model W] [--half all|dev|test]\n\n"
               "CodeSearchNet protocol: per language, each held-out doc ranks its code among\n"
               "N-1 distractors (default 1000 candidates); MRR, R@1, R@10, NDCG@10 for BM25,\n"
               "the model and their reciprocal-rank fusion (w_bm25/(k+rank) + w_model/(k+rank),\n"
               "k 60, weights 1). --model none = BM25 only. --half dev|test asks only the\n"
               "queries of one half of the held-out directories (a fixed hash split; the\n"
               "distractor pools stay whole): choose settings such as fusion weights on dev,\n"
               "report them on test.\n\n"
               "       semcode eval --repo TREE [--model MODEL] [--limit N] [--max-queries N] [--whole-doc]\n"
               "                    [--template V] [--work DIR] [--threads N] [--json]\n\n"
               "The same question through the product path: copies TREE with its doc comments\n"
               "cut out, indexes the copy as 'semcode index' does, and searches each documented\n"
               "entity by its doc comment (first paragraph; --whole-doc: all of it) in keyword,\n"
               "dense and hybrid mode. MRR (0 beyond --limit, default 100), R@1, R@10 of the\n"
               "entity's own path and line. --work DIR keeps the copy and its index there;\n"
               "--template V indexes with prepared-text variant V (docs/QUALITY.md).\n\n"
               "       semcode eval --queries FILE.jsonl [FILE ...] --repos DIR [--split dev|test|all]\n"
               "                    [--repos-tsv TSV ...] [--mode hybrid,dense,keyword] [--work DIR]\n"
               "                    [--model MODEL] [--threads N] [--json] [--per-query FILE] [--check]\n"
               "                    [--dump-features FILE]\n\n"
               "Written queries through the product path (issue 14; format in bench/queries/README.md):\n"
               "each repository R a query names is indexed from DIR/R as 'semcode index' does\n"
               "(doc comments kept) into WORK/R/store (--work, kept and updated by later runs;\n"
               "default a temporary folder), and each query searched in each mode: hit@1,\n"
               "hit@10, MRR@10 and NDCG@10 at entity level (limit 10) and file level (files by\n"
               "first appearance in a search of limit 100), over all queries and per category,\n"
               "language and repository. --split keeps the repositories of that split in the\n"
               "repos tsv files (default bench/queries/repos*.tsv); --per-query writes a JSON\n"
               "line per query and mode with the ranks found; --check only indexes and checks that\n"
               "every target is an entity of the index (no search, no scores); --dump-features\n"
               "writes a JSON line per query with the ranking features and labels of every hybrid\n"
               "candidate (the input of tools/train_ranker.py).\n");
}

/* ==== eval --queries ==== */

static void cli__evalq_log(void *arg, const char *line) {
    (void)arg;
    fprintf(stderr, "eval: %s\n", line);
}

static void cli__evalq_print(const sc_query_eval_result *r) {
    static const char *const kinds[] = {"", "category ", "language ", "repo "};
    static const int order[3] = {SC_SEARCH_MODE_KEYWORD, SC_SEARCH_MODE_DENSE, SC_SEARCH_MODE_HYBRID};
    printf("queries %llu (%llu of other splits skipped), targets %llu, repositories %llu, indexed points %llu; "
           "index %.1f s, searches %.1f s\n\n",
           (unsigned long long)r->queries, (unsigned long long)r->queries_skipped, (unsigned long long)r->targets,
           (unsigned long long)r->repos, (unsigned long long)r->entities, r->seconds_index, r->seconds_search);
    printf("%-28s %5s %-8s  %-27s  %-27s\n", "", "", "", "entity level", "file level");
    printf("%-28s %5s %-8s  %-27s  %-27s\n", "group", "n", "mode", "hit@1 hit@10 mrr@10 ndcg@10",
           "hit@1 hit@10 mrr@10 ndcg@10");
    for (size_t i = 0; i < r->n_groups; i++) {
        const sc_query_group *g = &r->groups[i];
        char label[96];
        if (g->kind == SC_QUERY_GROUP_REPO)
            snprintf(label, sizeof label, "repo %s (%llu files)", g->name, (unsigned long long)g->files);
        else
            snprintf(label, sizeof label, "%s%s", kinds[g->kind], g->name);
        bool first = true;
        for (int k = 0; k < 3; k++) {
            int m = order[k];
            if (!(r->modes & (1u << m))) continue;
            const sc_query_scores *e = &g->entity[m], *f = &g->file[m];
            if (first) printf("%-28.28s %5llu ", label, (unsigned long long)g->queries);
            else printf("%-28s %5s ", "", "");
            printf("%-8s  %5.3f %6.3f %6.3f %7.3f  %5.3f %6.3f %6.3f %7.3f\n", sc_search_mode_name((sc_search_mode)m),
                   e->hit_1, e->hit_10, e->mrr_10, e->ndcg_10, f->hit_1, f->hit_10, f->mrr_10, f->ndcg_10);
            first = false;
        }
    }
}

enum { CLI_EVALQ_MAX_FILES = 256 }; /* files after --queries, after --repos-tsv */

/* `semcode eval --queries FILE... --repos DIR ...`: o as parsed, without
** its file lists (files[0..n_files), tsv[0..n_tsv)). */
static int cli__eval_queries(sc_query_eval_options o, const char **files, size_t n_files, const char **tsv,
                             size_t n_tsv, bool json) {
    glob_t gl = {0};
    bool globbed = false;
    if (!o.repos_dir) return cli_usage_error("eval", "--queries needs --repos DIR (the trees, one folder per repository)%s", "");
    if (!n_tsv) {
        /* the evaluation set's repository lists, when run from the source tree */
        if (glob("bench/queries/repos*.tsv", 0, NULL, &gl) == 0) {
            globbed = true;
            for (size_t k = 0; k < gl.gl_pathc && n_tsv < CLI_EVALQ_MAX_FILES; k++) tsv[n_tsv++] = gl.gl_pathv[k];
        }
    }
    o.query_files = files;
    o.n_query_files = n_files;
    o.tsv_files = tsv;
    o.n_tsv_files = n_tsv;
    sc_query_eval_result *r = NULL;
    char *msg = NULL;
    sc_status rc = sc_repo_eval_queries(&o, &r, &msg);
    if (globbed) globfree(&gl);
    if (rc != SC_OK) {
        fprintf(stderr, "semcode eval: %s\n", msg ? msg : sc_status_str(rc));
        sc_free(msg);
        return 1;
    }
    if (o.check_only && !json) {
        printf("checked %llu queries (%llu of other splits skipped): %llu targets found in the indexes of %llu "
               "repositories\n", (unsigned long long)r->queries, (unsigned long long)r->queries_skipped,
               (unsigned long long)r->targets, (unsigned long long)r->repos);
    } else if (json) {
        char *s = sc_query_eval_json(r);
        if (s) printf("%s\n", s);
        sc_free(s);
        if (!s) rc = SC_NOMEM;
    } else {
        cli__evalq_print(r);
    }
    sc_query_eval_result_free(r);
    return rc == SC_OK ? 0 : 1;
}

static int cli__eval_repo(const char *tree, const char *model_path, const sc_repo_eval_options *base, int json) {
    sc_repo_eval_options o = *base;
    o.model_path = model_path;
    sc_repo_eval_result r;
    char *msg = NULL;
    sc_status rc = sc_repo_eval(tree, &o, &r, &msg);
    if (rc != SC_OK) {
        fprintf(stderr, "semcode eval: %s\n", msg ? msg : sc_status_str(rc));
        sc_free(msg);
        return 1;
    }
    static const int order[3] = {SC_SEARCH_MODE_KEYWORD, SC_SEARCH_MODE_DENSE, SC_SEARCH_MODE_HYBRID};
    static const char *const names[3] = {"keyword", "dense", "hybrid"};
    if (json) {
        printf("{\"files\":%llu,\"entities\":%llu,\"docs_stripped\":%llu,\"files_broken\":%llu,"
               "\"queries_dropped\":%llu,\"seconds_index\":%.3f,\"seconds_search\":%.3f,\"limit\":%u,"
               "\"template\":%u,\"whole_doc\":%s,\"rows\":[",
               (unsigned long long)r.files, (unsigned long long)r.entities, (unsigned long long)r.docs_stripped,
               (unsigned long long)r.files_broken, (unsigned long long)r.queries_dropped, r.seconds_index,
               r.seconds_search, o.limit ? o.limit : 100, o.template_variant, o.whole_doc ? "true" : "false");
        for (uint32_t i = 0; i < r.n_rows; i++) {
            const sc_repo_eval_row *w = &r.rows[i];
            printf("%s{\"language\":\"%s\",\"files\":%llu,\"documented\":%llu,\"queries\":%llu", i ? "," : "",
                   w->language, (unsigned long long)w->files, (unsigned long long)w->documented,
                   (unsigned long long)w->queries);
            for (int m = 0; m < 3; m++) {
                const sc_repo_eval_scores *s = &w->mode[order[m]];
                printf(",\"%s\":{\"mrr\":%.4f,\"r1\":%.4f,\"r10\":%.4f}", names[m], s->mrr, s->recall_1,
                       s->recall_10);
            }
            printf("}");
        }
        printf("]}\n");
        return 0;
    }
    printf("%-11s %6s %6s %7s  %-17s  %-17s  %-17s\n%-33s  %-17s  %-17s  %-17s\n", "language", "files", "docs",
           "queries", "keyword", "dense", "hybrid", "", "mrr   r@1   r@10", "mrr   r@1   r@10", "mrr   r@1   r@10");
    for (uint32_t i = 0; i < r.n_rows; i++) {
        const sc_repo_eval_row *w = &r.rows[i];
        printf("%-11s %6llu %6llu %7llu", w->language, (unsigned long long)w->files, (unsigned long long)w->documented,
               (unsigned long long)w->queries);
        for (int m = 0; m < 3; m++) {
            const sc_repo_eval_scores *s = &w->mode[order[m]];
            printf("  %.3f %.3f %.3f", s->mrr, s->recall_1, s->recall_10);
        }
        printf("\n");
    }
    printf("files %llu, indexed entities %llu (the distractor pool), doc comments cut %llu, files with new parse "
           "errors %llu, documented entities not asked %llu; index %.1f s, searches %.1f s\n",
           (unsigned long long)r.files, (unsigned long long)r.entities, (unsigned long long)r.docs_stripped,
           (unsigned long long)r.files_broken, (unsigned long long)r.queries_dropped, r.seconds_index,
           r.seconds_search);
    return 0;
}

static void cli__eval_print(const sc_eval_row *r, int json) {
    const sc_eval_scores *s[3] = {&r->bm25, &r->model, &r->hybrid};
    const char *names[3] = {"bm25", "model", "hybrid"};
    if (json) {
        printf("{\"language\":\"%s\",\"queries\":%u,\"pool\":%u", r->language, r->n_queries, r->pool);
        for (int m = 0; m < 3; m++)
            printf(",\"%s\":{\"mrr\":%.4f,\"r1\":%.4f,\"r10\":%.4f,\"ndcg10\":%.4f}", names[m], s[m]->mrr, s[m]->r1,
                   s[m]->r10, s[m]->ndcg10);
        printf("}\n");
        return;
    }
    printf("%-11s %6u %5u", r->language, r->n_queries, r->pool);
    for (int m = 0; m < 3; m++) printf("  %.3f %.3f %.3f %.3f", s[m]->mrr, s[m]->r1, s[m]->r10, s[m]->ndcg10);
    printf("\n");
}

/* The options of the three forms of `semcode eval`: --queries (Q), --repo
** or pairs / CoSQA (P), or both (the form decides what --model means). */
enum {
    CLI_EO_JSON = 1000, CLI_EO_MODEL, CLI_EO_WORK, CLI_EO_THREADS,                              /* both */
    CLI_EO_QUERIES, CLI_EO_REPOS_TSV, CLI_EO_CHECK, CLI_EO_REPOS, CLI_EO_SPLIT, CLI_EO_MODE,    /* Q */
    CLI_EO_PER_QUERY, CLI_EO_DUMP,                                                              /* Q */
    CLI_EO_WHOLE_DOC, CLI_EO_REPO, CLI_EO_LIMIT, CLI_EO_TEMPLATE, CLI_EO_PAIRS, CLI_EO_POOL,    /* P */
    CLI_EO_MAX_QUERIES, CLI_EO_RRF_K, CLI_EO_W_BM25, CLI_EO_W_MODEL, CLI_EO_HALF, CLI_EO_COSQA, /* P */
    CLI_EO_COSQA_CORPUS,                                                                        /* P */
};

/* --mode's value, hybrid,dense,keyword in any subset, as a bit set into *modes: 0 or 2 after saying why. */
static int cli__eval_modes(const char *v, uint32_t *modes) {
    char buf[128];
    snprintf(buf, sizeof buf, "%s", v);
    *modes = 0;
    for (char *save = NULL, *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
        if (!strcmp(t, "hybrid")) *modes |= 1u << SC_SEARCH_MODE_HYBRID;
        else if (!strcmp(t, "dense")) *modes |= 1u << SC_SEARCH_MODE_DENSE;
        else if (!strcmp(t, "keyword")) *modes |= 1u << SC_SEARCH_MODE_KEYWORD;
        else return cli_usage_error("eval", "--mode takes hybrid, dense and keyword separated by commas, not '%s'", v);
    }
    return 0;
}

int cli_cmd_eval(int argc, char **argv) {
    static const struct option opts[] = {
        {"json", no_argument, NULL, CLI_EO_JSON},
        {"model", required_argument, NULL, CLI_EO_MODEL},
        {"work", required_argument, NULL, CLI_EO_WORK},
        {"threads", required_argument, NULL, CLI_EO_THREADS},
        {"queries", required_argument, NULL, CLI_EO_QUERIES},
        {"repos-tsv", required_argument, NULL, CLI_EO_REPOS_TSV},
        {"check", no_argument, NULL, CLI_EO_CHECK},
        {"repos", required_argument, NULL, CLI_EO_REPOS},
        {"split", required_argument, NULL, CLI_EO_SPLIT},
        {"mode", required_argument, NULL, CLI_EO_MODE},
        {"per-query", required_argument, NULL, CLI_EO_PER_QUERY},
        {"dump-features", required_argument, NULL, CLI_EO_DUMP},
        {"whole-doc", no_argument, NULL, CLI_EO_WHOLE_DOC},
        {"repo", required_argument, NULL, CLI_EO_REPO},
        {"limit", required_argument, NULL, CLI_EO_LIMIT},
        {"template", required_argument, NULL, CLI_EO_TEMPLATE},
        {"pairs", required_argument, NULL, CLI_EO_PAIRS},
        {"pool", required_argument, NULL, CLI_EO_POOL},
        {"max-queries", required_argument, NULL, CLI_EO_MAX_QUERIES},
        {"rrf-k", required_argument, NULL, CLI_EO_RRF_K},
        {"w-bm25", required_argument, NULL, CLI_EO_W_BM25},
        {"w-model", required_argument, NULL, CLI_EO_W_MODEL},
        {"half", required_argument, NULL, CLI_EO_HALF},
        {"cosqa", required_argument, NULL, CLI_EO_COSQA},
        {"cosqa-corpus", required_argument, NULL, CLI_EO_COSQA_CORPUS},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    static const char *const splits[] = {"dev", "test", "all"}, *const halves[] = {"all", "dev", "test"};
    const char *model_path = CLI__DEFAULT_MODEL, *model_arg = NULL, *pairs = NULL, *cq = NULL, *cc = NULL,
               *repo = NULL;
    sc_eval_options eo = sc_eval_options_default();
    sc_repo_eval_options ro = {.limit = 100};
    sc_query_eval_options qo = {.log = cli__evalq_log};
    const char *files[CLI_EVALQ_MAX_FILES], *tsv[CLI_EVALQ_MAX_FILES];
    size_t n_files = 0, n_tsv = 0;
    const char **list = NULL; /* --queries / --repos-tsv: where the files that follow go */
    size_t *n_list = NULL;
    const char *q_only = NULL, *p_only = NULL; /* the first option given of each form */
    bool json = false, queries = false;
    uint32_t threads = 0, k = 0;
    cli_opts p;
    /* '-': the arguments in order, so the files after --queries F and
    ** --repos-tsv T are theirs. */
    cli_opts_begin(&p, "eval", argc, argv, "-h", opts);
    int ch;
    while ((ch = cli_opts_next(&p)) != -1) {
        const char *v = optarg;
        const char *name = p.index >= 0 ? opts[p.index].name : NULL;
        char flag[32];
        snprintf(flag, sizeof flag, "--%s", name ? name : "");
        if (ch >= CLI_EO_QUERIES && ch <= CLI_EO_DUMP && !q_only) q_only = name;
        if (ch >= CLI_EO_WHOLE_DOC && ch <= CLI_EO_COSQA_CORPUS && !p_only) p_only = name;
        if (ch != 1) list = NULL;
        int rc = 0;
        switch (ch) {
        case 'h': cli__eval_usage(stdout); return 0;
        case 1: /* a file after --queries or --repos-tsv */
            if (!list) return cli_usage_error("eval", "unexpected argument '%s'", v);
            if (*n_list == CLI_EVALQ_MAX_FILES)
                return cli_usage_error("eval", "too many files after %s (at most 256)",
                                       list == files ? "--queries" : "--repos-tsv");
            list[(*n_list)++] = v;
            break;
        case CLI_EO_QUERIES:
        case CLI_EO_REPOS_TSV:
            queries |= ch == CLI_EO_QUERIES;
            list = ch == CLI_EO_QUERIES ? files : tsv;
            n_list = ch == CLI_EO_QUERIES ? &n_files : &n_tsv;
            if (*n_list == CLI_EVALQ_MAX_FILES)
                return cli_usage_error("eval", "too many files after %s (at most 256)", flag);
            list[(*n_list)++] = v;
            break;
        case CLI_EO_JSON: json = true; break;
        case CLI_EO_MODEL: model_arg = v; break;
        case CLI_EO_WORK: qo.work_dir = ro.work_dir = v; break;
        case CLI_EO_THREADS: rc = cli_opt_u32("eval", flag, v, 0, 1024, &threads); break;
        case CLI_EO_CHECK: qo.check_only = true; break;
        case CLI_EO_REPOS: qo.repos_dir = v; break;
        case CLI_EO_SPLIT:
            rc = cli_opt_enum("eval", flag, v, splits, 3, &k);
            qo.split = splits[k];
            break;
        case CLI_EO_MODE: rc = cli__eval_modes(v, &qo.modes); break;
        case CLI_EO_PER_QUERY: qo.per_query_path = v; break;
        case CLI_EO_DUMP: qo.features_path = v; break;
        case CLI_EO_WHOLE_DOC: ro.whole_doc = true; break;
        case CLI_EO_REPO: repo = v; break;
        case CLI_EO_LIMIT: rc = cli_opt_u32("eval", flag, v, 1, 10000, &ro.limit); break;
        case CLI_EO_TEMPLATE: rc = cli_opt_u32("eval", flag, v, 0, 4, &ro.template_variant); break;
        case CLI_EO_PAIRS: pairs = v; break;
        case CLI_EO_POOL: rc = cli_opt_u32("eval", flag, v, 2, 10000000, &eo.pool); break;
        case CLI_EO_MAX_QUERIES:
            rc = cli_opt_u32("eval", flag, v, 0, UINT32_MAX, &eo.max_queries);
            ro.max_queries = eo.max_queries;
            break;
        case CLI_EO_RRF_K: rc = cli_opt_f("eval", flag, v, 0.0f, 1e6f, &eo.rrf_k); break;
        case CLI_EO_W_BM25: rc = cli_opt_f("eval", flag, v, 0.0f, 1000.0f, &eo.w_bm25); break;
        case CLI_EO_W_MODEL: rc = cli_opt_f("eval", flag, v, 0.0f, 1000.0f, &eo.w_model); break;
        case CLI_EO_HALF: rc = cli_opt_enum("eval", flag, v, halves, 3, &eo.half); break;
        case CLI_EO_COSQA: cq = v; break;
        case CLI_EO_COSQA_CORPUS: cc = v; break;
        default: return 2; /* CLI_OPT_BAD: said why */
        }
        if (rc) return rc;
    }
    if (queries) {
        if (p_only) return cli_usage_error("eval", "--%s does not apply to eval --queries", p_only);
        qo.model_path = model_arg && strcmp(model_arg, "builtin") ? model_arg : NULL;
        qo.n_threads = threads;
        return cli__eval_queries(qo, files, n_files, tsv, n_tsv, json);
    }
    if (q_only) return cli_usage_error("eval", "--%s applies to eval --queries only", q_only);
    if (model_arg) model_path = model_arg;
    ro.n_threads = threads;
    if (repo) {
        if (pairs || cq) goto usage;
        return cli__eval_repo(repo, model_arg, &ro, json);
    }
    if (!pairs && !cq) goto usage;
    if (cq && !cc) goto usage;
    sc_model *m = NULL;
    char *msg = NULL;
    if (strcmp(model_path, "none")) {
        sc_status rc = sc_model_load(model_path, &m, &msg);
        if (rc != SC_OK) {
            fprintf(stderr, "semcode eval: %s\n", msg ? msg : sc_status_str(rc));
            sc_free(msg);
            return 1;
        }
    }
    if (!json)
        printf("%-11s %6s %5s  %-23s  %-23s  %-23s\n%-24s  %-23s  %-23s  %-23s\n", "language", "n", "pool",
               "bm25", "model", "hybrid (rrf)", "", "mrr   r@1   r@10  ndcg", "mrr   r@1   r@10  ndcg",
               "mrr   r@1   r@10  ndcg");
    int status = 0;
    if (pairs) {
        sc_eval_row rows[40];
        uint32_t n = 0;
        sc_status rc = sc_eval_pairs(m, pairs, &eo, rows, 40, &n, &msg);
        if (rc != SC_OK) {
            fprintf(stderr, "semcode eval: %s\n", msg ? msg : sc_status_str(rc));
            sc_free(msg);
            msg = NULL;
            status = 1;
        }
        for (uint32_t i = 0; i < n; i++) cli__eval_print(&rows[i], json);
    }
    if (cq) {
        sc_eval_row row;
        sc_status rc = sc_eval_cosqa(m, cq, cc, &eo, &row, &msg);
        if (rc != SC_OK) {
            fprintf(stderr, "semcode eval: %s\n", msg ? msg : sc_status_str(rc));
            sc_free(msg);
            status = 1;
        } else {
            cli__eval_print(&row, json);
        }
    }
    sc_model_free(m);
    return status;
usage:
    cli__eval_usage(stderr);
    return 2;
}

/* ==== embed ==== */

static void cli__embed_usage(FILE *f) {
    fprintf(f,
            "usage: semcode embed [--model MODEL|builtin] [--code] [--bench] < texts\n"
            "       semcode embed --provider openai --base-url URL --remote-model NAME --dimensions N\n"
            "                     [--api-key-env VAR] [options] < texts\n"
            "       semcode embed --model DIR [options] [TEXT...]   (see semcode embed --model DIR --help)\n\n"
            "Embeds each line of standard input (\\n inside a text written as \\\\n) and prints\n"
            "one vector per line, its components separated by spaces; or with --bench the\n"
            "rate of the built-in model in texts per second on one thread.\n\n"
            "options:\n"
            "  --model MODEL      built-in model file (default: the shipped one, also 'builtin');\n"
            "                     with a remote provider, the model of --fallback builtin. A Hugging\n"
            "                     Face model directory runs the transformer front end instead\n"
            "  --code             embed the texts as code (the code side of the built-in model; a\n"
            "                     remote endpoint embeds every text alike)\n"
            "  --bench            print the rate instead of the vectors (built-in model only)\n"
            "\nremote embedding provider (as for semcode index; nothing is recorded):\n" CLI_PROVIDER_OPTIONS_HELP
            "\nWith a remote provider, a text that gets no vector (empty, too long, or its request\n"
            "failed after the retries) fails the command: no vector is printed, each failed\n"
            "text (line number) and the reason go to standard error, exit status 1.\n"
            "\nexample: echo 'read a file' | OPENAI_API_KEY=... semcode embed --provider openai \\\n"
            "           --base-url https://api.openai.com/v1 --remote-model text-embedding-3-small \\\n"
            "           --dimensions 1536 --api-key-env OPENAI_API_KEY\n");
}

/* The remote embedder of the options, with the built-in model m (NULL =
** none) as its fallback; NULL after printing why not. *local receives the
** fallback's embedder (freed by the caller after the remote one). */
static sc_embedder *cli__embed_remote_new(const cli_provider_args *prov, sc_model *m, sc_embedder **local) {
    sc_remote_options ro = prov->remote;
    if (!prov->retries_given) ro.max_retries = sc_remote_options_default().max_retries;
    sc_embedder *e = NULL;
    char *msg = NULL;
    if (sc_embedder_new_remote(&ro, &e, &msg) != SC_OK) {
        fprintf(stderr, "semcode embed: cannot use the remote embedding provider at %s: %s\n", ro.base_url,
                msg ? msg : "out of memory");
        sc_free(msg);
        return NULL;
    }
    *local = NULL;
    if (m && (sc_embedder_new_model(m, local, &msg) != SC_OK || sc_embedder_set_fallback(e, *local) != SC_OK)) {
        fprintf(stderr, "semcode embed: --fallback: %s (declare the remote family with --remote-family)\n",
                msg ? msg : sc_embedder_errmsg(e));
        sc_free(msg);
        sc_embedder_free(e);
        sc_embedder_free(*local);
        *local = NULL;
        return NULL;
    }
    return e;
}

/* Embed texts remotely into out; 0, or 1 after reporting each failed text. */
static int cli__embed_remote(sc_embedder *e, sc_embed_role role, char **texts, size_t n, float *out) {
    if (!n) return 0;
    sc_embed_item *items = calloc(n, sizeof *items);
    if (!items) {
        fprintf(stderr, "semcode embed: out of memory\n");
        return 1;
    }
    sc_embed_summary sum;
    sc_status rc = sc_embedder_embed(e, role == SC_EMBED_ROLE_CODE ? SC_EMBED_ROLE_CODE : SC_EMBED_ROLE_QUERY,
                                     (const char *const *)texts, n, out, items, &sum);
    int status = 0;
    if (rc != SC_OK) {
        fprintf(stderr, "semcode embed: %s\n", sc_status_str(rc));
        status = 1;
    } else if (sum.failed) {
        size_t shown = 0;
        for (size_t i = 0; i < n; i++)
            if (items[i].status != SC_OK && shown++ < 10)
                fprintf(stderr, "semcode embed: text %zu: %s\n", i + 1, items[i].error);
        if (shown > 10) fprintf(stderr, "semcode embed: ... and %zu more texts failed\n", shown - 10);
        fprintf(stderr, "semcode embed: %zu of %zu texts got no vector; nothing printed\n", sum.failed, n);
        status = 1;
    }
    free(items);
    return status;
}

int cli_cmd_embed(int argc, char **argv) {
    enum { O_MODEL = 1000, O_CODE, O_BENCH, O_HF };
    static const struct option opts[] = {
        {"model", required_argument, NULL, O_MODEL}, {"code", no_argument, NULL, O_CODE},
        {"bench", no_argument, NULL, O_BENCH},       CLI_PROVIDER_LONG_OPTIONS,
        /* the options of a Hugging Face model directory (cmd_embed.c) */
        {"threads", required_argument, NULL, O_HF},  {"batch", required_argument, NULL, O_HF},
        {"max-len", required_argument, NULL, O_HF},  {"tokens", no_argument, NULL, O_HF},
        {"info", no_argument, NULL, O_HF},
        {"help", no_argument, NULL, 'h'},            {NULL, 0, NULL, 0},
    };
    const char *model_path = CLI__DEFAULT_MODEL, *hf_option = NULL;
    bool model_given = false, model_dir = false, help = false;
    sc_embed_role role = SC_EMBED_ROLE_QUERY;
    int bench = 0, prc;
    cli_provider_args prov;
    memset(&prov, 0, sizeof prov);
    cli_provider_env(&prov); /* environment defaults (the command line wins) */
    /* '+': a Hugging Face model directory takes TEXT arguments, which end
    ** the options (cmd_embed.c parses again from the start). */
    cli_opts p;
    cli_opts_begin(&p, "embed", argc, argv, "+h", opts);
    int ch;
    while ((ch = cli_opts_next(&p)) != -1) {
        switch (ch) {
        case O_MODEL: {
            struct stat st;
            model_path = strcmp(optarg, "builtin") ? optarg : CLI__DEFAULT_MODEL;
            model_given = true;
            model_dir = stat(optarg, &st) == 0 && S_ISDIR(st.st_mode);
            break;
        }
        case O_CODE: role = SC_EMBED_ROLE_CODE; break;
        case O_BENCH: bench = 1; break;
        case O_HF: hf_option = opts[p.index].name; break;
        case 'h': help = true; break; /* which help depends on --model */
        case CLI_OPT_BAD: return 2;
        default:
            if ((prc = cli_provider_option("embed", ch, optarg, &prov)) >= 0) {
                if (prc) return prc;
                break;
            }
            return cli_usage_error("embed", "option '--%s' is not handled here", opts[p.index].name);
        }
    }
    /* A Hugging Face model directory goes to the transformer front end (cmd_embed.c). */
    if (model_dir) return cli_embed_transformer(argc, argv);
    if (help) {
        cli__embed_usage(stdout);
        return 0;
    }
    if (hf_option)
        return cli_usage_error("embed", "--%s applies to a Hugging Face model directory (--model DIR) only",
                               hf_option);
    if (optind < argc)
        return cli_usage_error("embed", "texts are read from standard input, one per line; got the argument '%s'",
                               argv[optind]);
    if ((prc = cli_provider_check("embed", &prov))) return prc;
    bool remote = cli_provider_choice(&prov, model_given) == SC_REPO_PROVIDER_REMOTE;
    if (remote) {
        const char *missing = !prov.remote.base_url ? "a base URL (--base-url URL or SEMCODE_BASE_URL)"
                              : !prov.remote.model  ? "a model name (--remote-model NAME or SEMCODE_REMOTE_MODEL)"
                              : !prov.remote.dim    ? "the vector dimension (--dimensions N)"
                              : NULL;
        if (missing) return cli_usage_error("embed", "the remote embedding provider needs %s, none was given", missing);
        if (bench) return cli_usage_error("embed", "--bench measures the built-in model, not a remote endpoint%s", "");
    } else if (prov.fallback) {
        return cli_usage_error("embed", "a fallback takes over from a remote provider; this run uses the %s model",
                               "built-in");
    }
    sc_model *m = NULL;
    char *msg = NULL;
    sc_status rc = !remote || prov.fallback ? sc_model_load(model_path, &m, &msg) : SC_OK;
    if (rc != SC_OK) {
        fprintf(stderr, "semcode embed: %s\n", msg ? msg : sc_status_str(rc));
        sc_free(msg);
        return 1;
    }
    sc_embedder *emb = NULL, *local = NULL;
    if (remote && !(emb = cli__embed_remote_new(&prov, m, &local))) {
        sc_model_free(m);
        return 1;
    }
    char **texts = NULL;
    size_t n = 0, cap = 0, lcap = 0;
    char *line = NULL;
    ssize_t len;
    while ((len = getline(&line, &lcap, stdin)) > 0) {
        if (line[len - 1] == '\n') line[--len] = 0;
        /* unescape \n and \\ */
        char *w = line;
        for (char *r = line; *r; r++) {
            if (r[0] == '\\' && r[1] == 'n') *w++ = '\n', r++;
            else if (r[0] == '\\' && r[1] == '\\') *w++ = '\\', r++;
            else *w++ = *r;
        }
        *w = 0;
        if (n == cap) {
            cap = cap ? cap * 2 : 1024;
            char **t = realloc(texts, cap * sizeof *t);
            if (!t) break;
            texts = t;
        }
        texts[n++] = strdup(line);
    }
    free(line);
    uint32_t dim = remote ? sc_embedder_dim(emb) : sc_model_dim(m);
    float *out = malloc((n + 1) * dim * sizeof *out);
    int status = 0;
    if (!out) status = 1;
    else if (remote) {
        status = cli__embed_remote(emb, role, texts, n, out);
    } else {
        double t0 = cli__model_now(), c0 = cli__thread_cpu();
        rc = sc_model_embed(m, role, (const char *const *)texts, n, out);
        double dt = cli__model_now() - t0, ct = cli__thread_cpu() - c0;
        if (rc != SC_OK) status = 1;
        else if (bench) {
            size_t bytes = 0;
            for (size_t i = 0; i < n; i++) bytes += strlen(texts[i]);
            printf("embedded %zu texts (%.1f MB) in %.3f s wall, %.3f s CPU: %.0f texts/s wall, %.0f texts per "
                   "CPU-second, %.1f MB/s (dim %u, one thread)\n",
                   n, (double)bytes / 1e6, dt, ct, (double)n / dt, (double)n / ct, (double)bytes / 1e6 / dt, dim);
        }
    }
    if (!status && !bench) {
        for (size_t i = 0; i < n; i++) {
            for (uint32_t d = 0; d < dim; d++) printf(d ? " %.5f" : "%.5f", (double)out[i * dim + d]);
            printf("\n");
        }
    }
    for (size_t i = 0; i < n; i++) free(texts[i]);
    free(texts);
    free(out);
    sc_embedder_free(emb);
    sc_embedder_free(local);
    sc_model_free(m);
    return status;
}
