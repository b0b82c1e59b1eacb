/*
** pipeline/prepare.c: the prepare step of the indexing pipeline, the text
** embedded for an entity (the template, docs/ARCHITECTURE.md) and the text
** indexed for BM25.
*/
#include "pipeline/pipeline.h"

#include <stdint.h>
#include <string.h>

/* ==== Text templates ==== */

/* Append at most max bytes of s, cut at a UTF-8 boundary. */
static void prepare__append_cut(util_buf *b, const char *s, size_t n, size_t max) {
    if (n > max) {
        n = max;
        while (n > 0 && ((unsigned char)s[n] & 0xc0) == 0x80) n--;
    }
    util_buf_append(b, s, n);
}

/* Path as words: "src/net/http_client.c" -> "src net http_client c". */
static void prepare__path_words(util_buf *b, const char *path) {
    for (const char *p = path; *p; p++) {
        char ch = (*p == '/' || *p == '.' || *p == '-') ? ' ' : *p;
        util_buf_append(b, &ch, 1);
    }
}

/* The entity's source bytes. */
static void prepare__source(const sc_entity *e, const char *src, size_t src_size, const char **s, size_t *n) {
    uint64_t a = e->start_byte < src_size ? e->start_byte : src_size;
    uint64_t z = e->end_byte < src_size ? e->end_byte : src_size;
    *s = src + a;
    *n = z > a ? (size_t)(z - a) : 0;
}

/* Finish an entity text: the doc comment (at most doc_max bytes), the
** entity's source (at most src_max bytes) and, unless path_words is false,
** the path as words, one per line. Returns the owned text, NULL when memory
** ran out. */
static char *prepare__entity_text(util_buf *b, const sc_entity *e, const char *path, const char *src, size_t src_size,
                               size_t doc_max, size_t src_max, bool path_words) {
    if (e->doc && *e->doc) {
        prepare__append_cut(b, e->doc, strlen(e->doc), doc_max);
        util_buf_puts(b, "\n");
    }
    const char *s;
    size_t n;
    prepare__source(e, src, src_size, &s, &n);
    prepare__append_cut(b, s, n, src_max);
    if (path_words) {
        util_buf_puts(b, "\n");
        prepare__path_words(b, path);
    }
    if (b->oom) {
        util_buf_free(b);
        return NULL;
    }
    return b->data;
}

char *pipeline_prepare_text(uint32_t variant, const sc_entity *e, const char *path, const char *src, size_t src_size) {
    /* Template (version PIPELINE_TEMPLATE_VERSION, variant 0):
    **   <kind> <qualified name>
    **   <doc comment, at most 600 bytes>
    **   <source of the entity, at most 600 bytes>
    **   <path as words>
    ** The model reads the first 128 tokens only: a longer source head pushed
    ** the path words out of its window. Variants measured with
    ** `semcode eval --repo --template N` (docs/QUALITY.md):
    **   1 = source at most 1,500 bytes (template version 2)
    **   2 = path words on the first line, after the name (source 600)
    **   3 = no path words, source 1,500
    **   4 = path words on the first line, source 1,500 */
    util_buf b = {0};
    util_buf_printf(&b, "%s %s\n", sc_entity_kind_name(e->kind), e->qualified_name ? e->qualified_name : "");
    bool path_first = variant == 2 || variant == 4;
    if (path_first) {
        prepare__path_words(&b, path);
        util_buf_puts(&b, "\n");
    }
    size_t src_max = variant == 0 || variant == 2 ? 600 : 1500;
    return prepare__entity_text(&b, e, path, src, src_size, 600, src_max, variant == 0 || variant == 1);
}

char *pipeline_keyword_text(const sc_entity *e, const char *path, const char *src, size_t src_size) {
    util_buf b = {0};
    util_buf_printf(&b, "%s\n", e->qualified_name ? e->qualified_name : "");
    return prepare__entity_text(&b, e, path, src, src_size, SIZE_MAX, 16384, true);
}

