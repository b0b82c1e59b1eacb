/*
** text/hftok_encode: text_hftok_encode, which ties a loaded tokenizer
** together: split the raw text at added tokens, encode each segment with
** the model (wordpiece_tok.c or bpe_tok.c), truncate, wrap in the special
** tokens.
*/
#include <stdlib.h>
#include <string.h>

#include "text/hftok_int.h"

/* ==== Encoding ==== */

/* Length of the added token matching at s[0..len), longest first; 0 if none. */
static size_t hftok__match_added(const text_hftok *tok, const char *s, size_t len, int32_t *id) {
    size_t best = 0;
    for (uint32_t i = 0; i < tok->n_added; i++) {
        const char *c = tok->arena + tok->tok_off[tok->added[i]];
        if (c[0] != s[0]) continue;
        size_t cl = strlen(c);
        if (cl > best && cl <= len && !memcmp(c, s, cl)) {
            best = cl;
            *id = tok->added[i];
        }
    }
    return best;
}

sc_status text_hftok_encode(const text_hftok *tok, const char *text, size_t len, uint32_t max_len,
                            int32_t *ids, uint32_t cap, uint32_t *n) {
    hftok_ids l = {0};
    uint32_t n_special = tok->n_pre + tok->n_post;
    uint32_t room = max_len ? (max_len > n_special ? max_len - n_special : 0) : 0;
    l.limit = max_len ? room + 1 : 0;
    size_t seg = 0;
    for (size_t i = 0; i <= len;) {
        int32_t aid = -1;
        size_t ml = i < len && tok->n_added ? hftok__match_added(tok, text + i, len - i, &aid) : 0;
        if (i == len || ml) {
            if (i > seg) {
                if (tok->kind == HFTOK_KIND_BPE)
                    bpe_encode(tok, text + seg, i - seg, &l);
                else
                    wordpiece_encode(tok, text + seg, i - seg, &l);
            }
            if (i == len) break;
            hftok_ids_push(&l, aid);
            i += ml;
            seg = i;
            if (l.limit && l.n >= l.limit) break;
        } else {
            i++;
        }
    }
    if (l.oom) {
        free(l.v);
        return SC_NOMEM;
    }
    uint32_t body = l.n;
    if (max_len && body > room) body = room;
    uint32_t total = tok->n_pre + body + tok->n_post, k = 0;
    for (uint32_t i = 0; i < tok->n_pre; i++, k++)
        if (k < cap) ids[k] = tok->pre[i];
    for (uint32_t i = 0; i < body; i++, k++)
        if (k < cap) ids[k] = l.v[i];
    for (uint32_t i = 0; i < tok->n_post; i++, k++)
        if (k < cap) ids[k] = tok->post[i];
    *n = total;
    free(l.v);
    return SC_OK;
}
