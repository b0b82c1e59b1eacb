/*
** cli/cmd_parse.c: `semcode parse PATH` (entities as text or JSON Lines,
** then a summary) and `semcode pairs PATH` (doc/code training pairs as
** JSON Lines). Both are thin clients of sc_parse_tree; the JSON schema is
** documented in docs/PARSE.md.
*/
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "cli/cli.h"

/* ==== JSON output ==== */

/* Write s as a JSON string (null for NULL); invalid UTF-8 becomes U+FFFD.
** Runs of bytes that need no escaping are written with one fwrite. */
static void cli__json_str(FILE *f, const char *s) {
    if (!s) {
        fputs("null", f);
        return;
    }
    putc_unlocked('"', f);
    const unsigned char *p = (const unsigned char *)s, *run = p;
    for (;;) {
        unsigned c = *p;
        if (c >= 0x20 && c < 0x80 && c != '"' && c != '\\') { p++; continue; }
        if (c >= 0x80) { /* the library's UTF-8 rule; s ends at its NUL */
            size_t n = sc_utf8_char_len((const char *)p, strnlen((const char *)p, 4));
            if (n > 0) { p += n; continue; }
        }
        if (p > run) fwrite(run, 1, (size_t)(p - run), f);
        if (c == 0) break;
        if (c == '"' || c == '\\') { putc_unlocked('\\', f); putc_unlocked((int)c, f); }
        else if (c == '\n') fputs("\\n", f);
        else if (c == '\t') fputs("\\t", f);
        else if (c == '\r') fputs("\\r", f);
        else if (c < 0x20) fprintf(f, "\\u%04x", c);
        else fputs("\\ufffd", f); /* invalid UTF-8 byte */
        p++;
        run = p;
    }
    putc_unlocked('"', f);
}

/* Write `prefix` then v in decimal (fprintf costs ~3 % of a parse run). */
static void cli__json_uint(FILE *f, const char *prefix, uint64_t v) {
    char buf[24];
    char *p = buf + sizeof buf;
    do {
        *--p = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    fputs(prefix, f);
    fwrite(p, 1, (size_t)(buf + sizeof buf - p), f);
}

static void cli__json_key(FILE *f, const char *k, const char *v, bool comma) {
    if (comma) putc(',', f);
    cli__json_str(f, k);
    putc(':', f);
    cli__json_str(f, v);
}

/* ==== Summary ==== */

typedef struct cli__summary {
    uint64_t files;                           /* files reported (parsed or skipped) */
    uint64_t parsed;                          /* files parsed */
    uint64_t bytes;                           /* bytes of parsed files */
    uint64_t entities;                        /* entities, chunks excluded */
    uint64_t chunks;                          /* chunks */
    uint64_t by_kind[SC_ENTITY_KIND_COUNT];   /* entities by kind */
    uint64_t by_lang[SC_LANG_COUNT];          /* entities by language */
    uint64_t files_by_lang[SC_LANG_COUNT];    /* parsed files by language */
    uint64_t skipped[SC_SKIP_COUNT];          /* skipped files by reason */
    uint64_t parse_errors;                    /* ERROR/MISSING nodes */
    uint64_t files_with_errors;               /* files with at least one */
    uint64_t pairs;                           /* pairs written (pairs command) */
} cli__summary;

typedef struct cli__state {
    FILE *out;          /* where entities go */
    bool json;          /* JSON Lines instead of text */
    bool body;          /* include bodies */
    bool pairs;         /* pairs command */
    bool undocumented;  /* pairs command: entities without a doc too (doc "") */
    bool quiet;         /* summary only: nothing is formatted per file */
    cli__summary sum;   /* running totals */
} cli__state;

static void cli__count(cli__summary *s, const sc_parse_result *r) {
    s->files++;
    if (r->skipped != SC_SKIP_NONE) {
        s->skipped[r->skipped]++;
        return;
    }
    s->parsed++;
    s->bytes += r->size;
    s->files_by_lang[r->lang]++;
    s->parse_errors += r->n_errors;
    if (r->n_errors) s->files_with_errors++;
    for (uint32_t i = 0; i < r->n_entities; i++) {
        const sc_entity *e = &r->entities[i];
        if (e->kind == SC_ENTITY_KIND_CHUNK) { s->chunks++; continue; }
        s->entities++;
        s->by_kind[e->kind]++;
        s->by_lang[r->lang]++;
    }
}

static void cli__entity_json(FILE *f, const sc_parse_result *r, const sc_entity *e, bool body) {
    fputs("{\"type\":\"entity\"", f);
    cli__json_key(f, "path", r->path, true);
    cli__json_key(f, "language", sc_lang_name(r->lang), true);
    cli__json_key(f, "kind", sc_entity_kind_name(e->kind), true);
    cli__json_key(f, "name", e->name, true);
    cli__json_key(f, "qualified_name", e->qualified_name, true);
    cli__json_key(f, "signature", e->signature, true);
    fputs(",\"params\":[", f);
    for (uint32_t i = 0; i < e->n_params; i++) {
        if (i) putc(',', f);
        putc('{', f);
        cli__json_key(f, "name", e->params[i].name, false);
        cli__json_key(f, "type", e->params[i].type, true);
        putc('}', f);
    }
    putc(']', f);
    cli__json_key(f, "return_type", e->return_type, true);
    cli__json_key(f, "doc", e->doc, true);
    fputs(",\"decorators\":[", f);
    for (uint32_t i = 0; i < e->n_decorators; i++) {
        if (i) putc(',', f);
        cli__json_str(f, e->decorators[i]);
    }
    putc(']', f);
    cli__json_uint(f, ",\"start_line\":", e->start_line);
    cli__json_uint(f, ",\"end_line\":", e->end_line);
    cli__json_uint(f, ",\"start_byte\":", e->start_byte);
    cli__json_uint(f, ",\"end_byte\":", e->end_byte);
    cli__json_key(f, "parent", e->parent >= 0 ? r->entities[e->parent].qualified_name : NULL, true);
    cli__json_uint(f, ",\"complexity\":", e->complexity);
    if (body) cli__json_key(f, "body", e->body, true);
    fputs("}\n", f);
}

static void cli__file_json(FILE *f, const sc_parse_result *r) {
    fputs("{\"type\":\"file\"", f);
    cli__json_key(f, "path", r->path, true);
    cli__json_key(f, "language", sc_lang_name(r->lang), true);
    if (r->skipped != SC_SKIP_NONE) cli__json_key(f, "skipped", sc_skip_reason_name(r->skipped), true);
    cli__json_uint(f, ",\"size\":", r->size);
    cli__json_uint(f, ",\"lines\":", r->n_lines);
    cli__json_uint(f, ",\"entities\":", r->n_entities);
    cli__json_uint(f, ",\"parse_errors\":", r->n_errors);
    fputs("}\n", f);
}

static int cli__on_file(void *payload, const sc_parse_result *r) {
    cli__state *st = payload;
    cli__count(&st->sum, r);
    if (st->quiet && !st->pairs) return 0; /* the summary needs the counts only */
    FILE *f = st->out;
    if (st->pairs) {
        for (uint32_t i = 0; i < r->n_entities; i++) {
            const sc_entity *e = &r->entities[i];
            if (e->kind == SC_ENTITY_KIND_CHUNK || (!e->doc && !st->undocumented)) continue;
            char *code = sc_entity_code_without_doc(e);
            if (!code) continue;
            fputs("{", f);
            cli__json_key(f, "doc", e->doc ? e->doc : "", false);
            cli__json_key(f, "code", code, true);
            cli__json_key(f, "language", sc_lang_name(r->lang), true);
            cli__json_key(f, "path", r->path, true);
            cli__json_key(f, "name", e->name, true);
            cli__json_key(f, "qualified_name", e->qualified_name, true);
            cli__json_key(f, "kind", sc_entity_kind_name(e->kind), true);
            if (e->signature) cli__json_key(f, "signature", e->signature, true);
            fputs("}\n", f);
            sc_free(code);
            st->sum.pairs++;
        }
        return 0;
    }
    if (st->json) {
        cli__file_json(f, r);
        for (uint32_t i = 0; i < r->n_entities; i++) cli__entity_json(f, r, &r->entities[i], st->body);
        return 0;
    }
    if (r->skipped != SC_SKIP_NONE) {
        fprintf(f, "%s: skipped (%s)\n", r->path, sc_skip_reason_name(r->skipped));
        return 0;
    }
    for (uint32_t i = 0; i < r->n_entities; i++) {
        const sc_entity *e = &r->entities[i];
        if (e->kind == SC_ENTITY_KIND_CHUNK) continue;
        fprintf(f, "%s:%u-%u %s %s", r->path, e->start_line, e->end_line, sc_entity_kind_name(e->kind),
                e->qualified_name ? e->qualified_name : "");
        if (e->signature) {
            const char *nl = strchr(e->signature, '\n');
            fprintf(f, "  %.*s%s", (int)(nl ? nl - e->signature : (long)strlen(e->signature)), e->signature,
                    nl ? " ..." : "");
        }
        putc('\n', f);
    }
    return 0;
}

static void cli__summary_print(FILE *f, const cli__summary *s, bool json, double secs) {
    if (json) {
        fprintf(f, "{\"type\":\"summary\",\"files\":%llu,\"parsed\":%llu,\"bytes\":%llu,\"entities\":%llu,"
                   "\"chunks\":%llu,\"parse_errors\":%llu,\"files_with_errors\":%llu,\"seconds\":%.3f",
                (unsigned long long)s->files, (unsigned long long)s->parsed, (unsigned long long)s->bytes,
                (unsigned long long)s->entities, (unsigned long long)s->chunks, (unsigned long long)s->parse_errors,
                (unsigned long long)s->files_with_errors, secs);
        fputs(",\"by_kind\":{", f);
        bool first = true;
        for (int k = 0; k < SC_ENTITY_KIND_COUNT; k++)
            if (s->by_kind[k]) {
                fprintf(f, "%s\"%s\":%llu", first ? "" : ",", sc_entity_kind_name((sc_entity_kind)k),
                        (unsigned long long)s->by_kind[k]);
                first = false;
            }
        fputs("},\"by_language\":{", f);
        first = true;
        for (int l = 0; l < SC_LANG_COUNT; l++)
            if (s->files_by_lang[l]) {
                fprintf(f, "%s\"%s\":{\"files\":%llu,\"entities\":%llu}", first ? "" : ",", sc_lang_name((sc_lang)l),
                        (unsigned long long)s->files_by_lang[l], (unsigned long long)s->by_lang[l]);
                first = false;
            }
        fputs("},\"skipped\":{", f);
        first = true;
        for (int r = 1; r < SC_SKIP_COUNT; r++)
            if (s->skipped[r]) {
                fprintf(f, "%s\"%s\":%llu", first ? "" : ",", sc_skip_reason_name((sc_skip_reason)r),
                        (unsigned long long)s->skipped[r]);
                first = false;
            }
        fputs("}}\n", f);
        return;
    }
    fprintf(f, "\nfiles: %llu (%llu parsed, %.1f MB) in %.2f s\n", (unsigned long long)s->files,
            (unsigned long long)s->parsed, (double)s->bytes / 1e6, secs);
    fprintf(f, "entities: %llu (+ %llu chunks)\n", (unsigned long long)s->entities, (unsigned long long)s->chunks);
    for (int k = 0; k < SC_ENTITY_KIND_COUNT; k++)
        if (s->by_kind[k]) fprintf(f, "  %-10s %llu\n", sc_entity_kind_name((sc_entity_kind)k), (unsigned long long)s->by_kind[k]);
    fprintf(f, "languages:\n");
    for (int l = 0; l < SC_LANG_COUNT; l++)
        if (s->files_by_lang[l])
            fprintf(f, "  %-10s %llu files, %llu entities\n", sc_lang_name((sc_lang)l),
                    (unsigned long long)s->files_by_lang[l], (unsigned long long)s->by_lang[l]);
    uint64_t nskip = 0;
    for (int r = 1; r < SC_SKIP_COUNT; r++) nskip += s->skipped[r];
    fprintf(f, "skipped: %llu\n", (unsigned long long)nskip);
    for (int r = 1; r < SC_SKIP_COUNT; r++)
        if (s->skipped[r]) fprintf(f, "  %-10s %llu\n", sc_skip_reason_name((sc_skip_reason)r), (unsigned long long)s->skipped[r]);
    fprintf(f, "parse errors: %llu in %llu files\n", (unsigned long long)s->parse_errors,
            (unsigned long long)s->files_with_errors);
}

/* ==== Commands ==== */

static int cli__parse_usage(const char *cmd, FILE *f) {
    if (!strcmp(cmd, "pairs"))
        fprintf(f, "usage: semcode pairs PATH [--lang L] [--threads N] [--max-size BYTES] [--no-ignore]\n"
                   "                    [--undocumented] [-o FILE]\n"
                   "Writes JSON Lines {doc, code, language, path, name, qualified_name, kind, signature}\n"
                   "for every documented entity (code without its doc comment).\n"
                   "  --undocumented  entities without a doc comment too, with \"doc\": \"\"\n");
    else
        fprintf(f, "usage: semcode parse PATH [--json] [--lang L] [--body] [--no-chunks] [--threads N]\n"
                   "                    [--max-size BYTES] [--no-ignore] [--quiet] [-o FILE]\n"
                   "Prints the entities of every file under PATH, then a summary.\n"
                   "  --json       JSON Lines (schema in docs/PARSE.md); the summary is the last line\n"
                   "  --lang L     only files of language L (for a single file: parse it as L)\n"
                   "  --body       include each entity's source text\n"
                   "  --no-chunks  no line-window chunks for code outside entities\n"
                   "  --threads N  parser threads (default: all cores)\n"
                   "  --max-size   skip files larger than BYTES (default 2 MiB)\n"
                   "  --no-ignore  keep what git ignores (.gitignore, .git/info/exclude,\n"
                   "               core.excludesFile) and what .semcodeignore leaves out\n"
                   "  --quiet      print the summary only\n"
                   "  -o FILE      write to FILE instead of standard output\n");
    return f == stdout ? 0 : 2;
}

static int cli__run(int argc, char **argv, bool pairs) {
    const char *path = NULL;
    cli__state st = {.out = stdout, .pairs = pairs};
    bool quiet = false;
    const char *out_path = NULL;
    sc_parse_options popt = sc_parse_options_default();
    sc_walk_options wopt = sc_walk_options_default();
    sc_lang lang = SC_LANG_UNKNOWN;
    const char *cmd = argv[0];
    enum { O_JSON = 1000, O_BODY, O_QUIET, O_NO_CHUNKS, O_NO_IGNORE, O_LANG, O_THREADS, O_MAX_SIZE, O_UNDOC };
    struct option opts[] = {
        {"json", no_argument, NULL, O_JSON},
        {"body", no_argument, NULL, O_BODY},
        {"quiet", no_argument, NULL, O_QUIET},
        {"no-chunks", no_argument, NULL, O_NO_CHUNKS},
        {"no-ignore", no_argument, NULL, O_NO_IGNORE},
        {"output", required_argument, NULL, 'o'},
        {"lang", required_argument, NULL, O_LANG},
        {"threads", required_argument, NULL, O_THREADS},
        {"max-size", required_argument, NULL, O_MAX_SIZE},
        {"help", no_argument, NULL, 'h'},
        {"undocumented", no_argument, NULL, O_UNDOC}, /* pairs only: the last entry before the end */
        {NULL, 0, NULL, 0},
    };
    if (!pairs) opts[sizeof opts / sizeof opts[0] - 2] = (struct option){NULL, 0, NULL, 0};
    cli_opts p;
    cli_opts_begin(&p, cmd, argc, argv, "ho:", opts);
    int ch;
    while ((ch = cli_opts_next(&p)) != -1) {
        switch (ch) {
        case 'h': return cli__parse_usage(cmd, stdout);
        case O_JSON: st.json = true; break;
        case O_BODY: st.body = true; break;
        case O_QUIET: quiet = st.quiet = true; break;
        case O_NO_CHUNKS: popt.with_chunks = false; break;
        case O_UNDOC: st.undocumented = true; break;
        case 'o': out_path = optarg; break;
        case O_NO_IGNORE: wopt.use_gitignore = false; break;
        case O_LANG:
            lang = sc_lang_from_name(optarg);
            if (lang == SC_LANG_UNKNOWN) return cli_usage_error(cmd, "unknown language '%s'", optarg);
            break;
        case O_THREADS:
            if (cli_opt_u32(cmd, "--threads", optarg, 0, 1024, &wopt.n_threads)) return 2;
            break;
        case O_MAX_SIZE:
            if (cli_opt_u64(cmd, "--max-size", optarg, 1, UINT64_MAX, &popt.max_file_size)) return 2;
            break;
        default: return 2; /* CLI_OPT_BAD: said why */
        }
    }
    if (argc - optind > 1) return cli_usage_error(cmd, "expected one PATH, got also '%s'", argv[optind + 1]);
    if (optind < argc) path = argv[optind];
    if (!path) return cli__parse_usage(argv[0], stderr);
    if (pairs) {
        popt.with_chunks = false;
        popt.with_body = true;
    }
    if (st.body) popt.with_body = true;
    /* a single file given with --lang is parsed as that language */
    struct stat sb;
    if (lang != SC_LANG_UNKNOWN && stat(path, &sb) == 0 && S_ISREG(sb.st_mode)) popt.lang = lang;
    else wopt.only_lang = lang;
    static char outbuf[1 << 16];
    setvbuf(stdout, outbuf, _IOFBF, sizeof outbuf);
    FILE *main_out = stdout;
    if (out_path) {
        main_out = fopen(out_path, "w");
        if (!main_out) {
            fprintf(stderr, "semcode %s: cannot write '%s'\n", argv[0], out_path);
            return 1;
        }
    }
    st.out = quiet ? fopen("/dev/null", "w") : main_out;
    if (!st.out) st.out = main_out;
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    char *err = NULL;
    sc_status rc = sc_parse_tree(path, &popt, &wopt, cli__on_file, &st, &err);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    if (st.out != main_out) fclose(st.out);
    if (rc != SC_OK) {
        if (main_out != stdout) fclose(main_out);
        fflush(stdout);
        fprintf(stderr, "semcode %s: %s (%s)\n", argv[0], err ? err : "error", sc_status_str(rc));
        sc_free(err);
        return 1;
    }
    if (pairs) {
        fflush(stdout);
        fprintf(stderr, "pairs: %llu from %llu files\n", (unsigned long long)st.sum.pairs,
                (unsigned long long)st.sum.parsed);
    } else {
        cli__summary_print(main_out, &st.sum, st.json, secs);
    }
    bool write_failed = ferror(main_out) != 0;
    if (main_out != stdout && fclose(main_out) != 0) write_failed = true;
    fflush(stdout);
    if (write_failed) {
        fprintf(stderr, "semcode %s: write error on the output\n", argv[0]);
        return 1;
    }
    return 0;
}

int cli_cmd_parse(int argc, char **argv) {
    return cli__run(argc, argv, false);
}

int cli_cmd_pairs(int argc, char **argv) {
    return cli__run(argc, argv, true);
}
