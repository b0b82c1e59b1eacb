/*
** embed: private interfaces of the provider layer (provider.c, remote.c,
** cache.c). Only files of src/embed (and their unit tests) include this
** header.
*/
#ifndef SC_EMBED_PROVIDER_INT_H
#define SC_EMBED_PROVIDER_INT_H

#include "semcode/provider.h"
#include "util/util.h"

#define EMBED_KEY_SIZE 16 /* bytes of a cache key (128-bit hash) */
#define SC_MAX_DIM_EMBED 65536u /* largest vector dimension a provider may produce */

/* ==== Cache (cache.c) ==== */

/* Cache key of one text for one model (cache format 2): the canonical bytes
** of XXH3-128(text) seeded with XXH3-64(model hash as u64 LE, side as u8),
** itself seeded with XXH3-64(model id). */
void cache_key(const char *model_id, uint64_t model_hash, sc_embed_role side, const char *text,
               uint8_t key[EMBED_KEY_SIZE]);
/* The key of the same text in a cache of format 1 (two util_hash64_v1). */
void cache_key_v1(const char *model_id, uint64_t model_hash, sc_embed_role side, const char *text,
                  uint8_t key[EMBED_KEY_SIZE]);
/* May the cache still hold entries of format 1? (Then lookups want their keys.) */
bool cache_has_v1(const sc_embed_cache *c);
/* Look up n keys; found[i] tells whether out[i*dim..] was filled. Hits are
** marked as recently used. keys_v1 (NULL, or the format 1 keys of the same
** texts) finds entries of format 1, which are then rekeyed to keys. Never
** fails: a damaged cache is recovered and answers misses. */
void cache_get_many(sc_embed_cache *c, const uint8_t (*keys)[EMBED_KEY_SIZE], const uint8_t (*keys_v1)[EMBED_KEY_SIZE],
                    size_t n, uint32_t dim, float *out, bool *found);
/* Store the vectors whose want[i] is true, then evict beyond the bound. */
void cache_put_many(sc_embed_cache *c, const uint8_t (*keys)[EMBED_KEY_SIZE], size_t n, uint32_t dim,
                    const float *vecs, const bool *want);

/* ==== Remote client (remote.c) ==== */

typedef struct embed_remote embed_remote; /* one OpenAI-compatible endpoint */

sc_status remote_new(const sc_remote_options *opt, embed_remote **out, sc_err *err);
void remote_free(embed_remote *r);
/* Embed the n texts (all already validated) into out[n*dim]; items[i]
** receives SC_OK or the reason its request finally failed. Counts requests
** and retries into sum. */
void remote_embed(embed_remote *r, const char *const *texts, size_t n, float *out, sc_embed_item *items,
                  sc_embed_summary *sum);

#endif /* SC_EMBED_PROVIDER_INT_H */
