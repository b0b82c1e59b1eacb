/*
** parse/chunk.c: line-window chunks, so that code outside any entity
** (top-level statements, configuration) and files with no grammar
** (Markdown, YAML, text) are searchable too. Windows of chunk_lines lines
** overlap by chunk_overlap lines; a window longer than chunk_max_bytes is
** cut at a UTF-8 character boundary and continued in the next chunk, which
** is how a minified one-line file is chunked without building huge text.
*/
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "parse/parse_int.h"

/* Back up to the start of a UTF-8 sequence (never below lo). */
static uint32_t parse__utf8_floor(const char *s, uint32_t lo, uint32_t i) {
    uint32_t k = 0;
    while (i > lo && k < 3 && ((unsigned char)s[i] & 0xC0) == 0x80) { i--; k++; }
    return i;
}

static sc_status parse__chunk_emit(parse_ctx *ctx, const char *path, uint32_t a, uint32_t b) {
    uint32_t non_space = 0;
    for (uint32_t i = a; i < b && non_space < ctx->opt->min_chunk_chars; i++) {
        char c = ctx->src[i];
        if (c != ' ' && c != '\t' && c != '\n' && c != '\r') non_space++;
    }
    if (non_space < ctx->opt->min_chunk_chars) return SC_OK;
    sc_entity *e = parse_result_push(ctx->res);
    if (!e) return SC_NOMEM;
    e->kind = SC_ENTITY_KIND_CHUNK;
    e->parent = -1;
    e->start_byte = e->doc_start_byte = e->doc_end_byte = a;
    e->end_byte = b;
    /* line numbers by binary search on line starts */
    uint32_t lo = 0, hi = ctx->n_lines;
    while (hi - lo > 1) { uint32_t m = lo + (hi - lo) / 2; if (ctx->line_start[m] <= a) lo = m; else hi = m; }
    e->start_line = lo + 1;
    uint32_t last = b > a ? b - 1 : a;
    hi = ctx->n_lines;
    while (hi - lo > 1) { uint32_t m = lo + (hi - lo) / 2; if (ctx->line_start[m] <= last) lo = m; else hi = m; }
    e->end_line = lo + 1;
    char name[64];
    int nn = snprintf(name, sizeof name, "%u-%u", e->start_line, e->end_line);
    const char *base = strrchr(path ? path : "", '/');
    base = base ? base + 1 : (path ? path : "");
    size_t bl = strlen(base);
    char *full = parse_arena_alloc(&ctx->res->arena, bl + 1 + (size_t)nn + 1);
    if (full) {
        memcpy(full, base, bl);
        full[bl] = ':';
        memcpy(full + bl + 1, name, (size_t)nn + 1);
    }
    e->name = e->qualified_name = full;
    e->complexity = 0;
    if (ctx->opt->with_body) e->body = parse_arena_strndup(&ctx->res->arena, ctx->src + a, b - a);
    return ctx->res->arena.oom ? SC_NOMEM : SC_OK;
}

/* Chunk lines [l0, l1) (0-based) of the file. */
static sc_status parse__chunk_run(parse_ctx *ctx, const char *path, uint32_t l0, uint32_t l1) {
    uint32_t win = ctx->opt->chunk_lines ? ctx->opt->chunk_lines : 40;
    uint32_t ov = ctx->opt->chunk_overlap < win ? ctx->opt->chunk_overlap : 0;
    uint32_t maxb = ctx->opt->chunk_max_bytes ? ctx->opt->chunk_max_bytes : 8192;
    uint32_t run_end = l1 < ctx->n_lines ? ctx->line_start[l1] : (uint32_t)ctx->size;
    uint32_t a = ctx->line_start[l0];
    uint32_t line = l0;
    while (a < run_end) {
        uint32_t wl = line + win < l1 ? line + win : l1;
        uint32_t b = wl < ctx->n_lines ? ctx->line_start[wl] : (uint32_t)ctx->size;
        if (b > run_end) b = run_end;
        if (b - a > maxb) { /* cut long windows, continue right after the cut */
            uint32_t cut = parse__utf8_floor(ctx->src, a + 1, a + maxb);
            sc_status rc = parse__chunk_emit(ctx, path, a, cut);
            if (rc != SC_OK) return rc;
            a = cut;
            while (line + 1 < l1 && ctx->line_start[line + 1] <= a) line++;
            continue;
        }
        sc_status rc = parse__chunk_emit(ctx, path, a, b);
        if (rc != SC_OK) return rc;
        if (wl >= l1) break;
        uint32_t next = wl - ov > line ? wl - ov : wl;
        line = next;
        uint32_t na = ctx->line_start[line];
        a = na > a ? na : b;
    }
    return SC_OK;
}

sc_status parse_chunk_add(parse_ctx *ctx, const char *path) {
    if (ctx->n_lines == 0 || !ctx->opt->with_chunks) return SC_OK;
    uint8_t *covered = calloc(ctx->n_lines, 1);
    if (!covered) return SC_NOMEM;
    uint32_t n = ctx->res->pub.n_entities;
    for (uint32_t i = 0; i < n; i++) {
        const sc_entity *e = &ctx->res->ents[i];
        if (e->parent >= 0 || e->kind == SC_ENTITY_KIND_CHUNK) continue;
        uint32_t s = e->doc_start_byte < e->start_byte ? (uint32_t)e->doc_start_byte : (uint32_t)e->start_byte;
        uint32_t sl = s == e->start_byte ? e->start_line : 0;
        if (!sl) { /* doc above: find its line */
            uint32_t lo = 0, hi = ctx->n_lines;
            while (hi - lo > 1) { uint32_t m = lo + (hi - lo) / 2; if (ctx->line_start[m] <= s) lo = m; else hi = m; }
            sl = lo + 1;
        }
        for (uint32_t l = sl; l <= e->end_line && l <= ctx->n_lines; l++) covered[l - 1] = 1;
    }
    sc_status rc = SC_OK;
    uint32_t l = 0;
    while (l < ctx->n_lines && rc == SC_OK) {
        if (covered[l]) { l++; continue; }
        uint32_t e = l;
        while (e < ctx->n_lines && !covered[e]) e++;
        rc = parse__chunk_run(ctx, path, l, e);
        l = e;
    }
    free(covered);
    return rc;
}
