/*
** embed_int.h: private structures of the embed module shared by the
** trainer (train.c), data reading (data.c) and evaluation (eval.c).
*/
#ifndef SC_EMBED_INT_H
#define SC_EMBED_INT_H

#include "embed/embed.h"

#define EMBED_MAX_LANGS 32

/* Doc/code pairs in memory. */
typedef struct embed_pairs {
    char **doc;                        /* owned doc texts */
    char **code;                       /* owned code texts */
    uint16_t *lang;                    /* language index per pair */
    uint64_t *unit;                    /* hash of the pair's directory ("path" without the file name; 0 = none) */
    size_t n;                          /* pairs */
    uint32_t n_langs;                  /* languages seen */
    char langs[EMBED_MAX_LANGS][24];   /* their names, in order of first appearance */
} embed_pairs;

/* Read a JSON Lines pairs file (at most max_pairs, 0 = all). */
sc_status embed_pairs_read(const char *path, size_t max_pairs, embed_pairs *out, sc_err *err);
/* Free the pairs' memory; safe on a zeroed struct. */
void embed_pairs_free(embed_pairs *p);
/* Sort a bag by row and merge duplicates; returns the new count. */
uint32_t embed_items_merge(embed_items *it);

/* Rank of the gold item (0-based) among n scores: items scoring strictly
** higher, plus ties with a lower index (deterministic pessimism-free rule). */
uint32_t embed_rank_of(const float *scores, uint32_t n, uint32_t gold);

#endif /* SC_EMBED_INT_H */
