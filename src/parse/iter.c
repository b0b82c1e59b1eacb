/*
** parse/iter.c: pre-order iteration over the visible nodes of a syntax
** tree, reading tree-sitter's subtrees directly.
**
** DESIGN. The extraction walk visits every node of every file, and with
** TSTreeCursor that visit was ~13 % of all instructions of `semcode parse`
** (Python): the cursor re-derives each child's alias, visibility and
** position through a generic iterator, and climbs and re-descends the
** hidden nodes (repetitions, supertypes, inlined rules) that sit between
** visible ones. This iterator keeps one small frame per level instead and
** yields exactly what the cursor yields, in the same order: the same
** TSNode values (subtree, start position, alias), so the public node API
** works on them unchanged. It is the only file that includes the
** runtime's internal headers (subtree.h, tree.h, language.h), which are
** pinned with the runtime in package-lock.json; the parse unit tests and
** golden fixtures compare its walk with the cursor's on every language.
*/
#include <stdlib.h>

#include "parse/parse_int.h"

#include "language.h"
#include "length.h"
#include "subtree.h"
#include "tree.h"

typedef struct parse__level {
    const Subtree *kids;      /* children of the node this level walks */
    const TSSymbol *aliases;  /* its production's alias sequence, or NULL */
    Length pos;               /* start of the next child (after its padding) */
    uint32_t i;               /* next child */
    uint32_t n;               /* children */
    uint32_t structural;      /* index among the non-extra children */
    uint32_t depth;           /* depth of the visible nodes at this level */
} parse__level;

struct parse_iter {
    const TSTree *tree;   /* tree walked */
    parse__level *lv;     /* stack of levels */
    uint32_t n_lv;        /* used */
    uint32_t cap_lv;      /* allocated */
    TSNode root;          /* yielded first */
    bool root_done;       /* root yielded */
};

parse_iter *parse_iter_new(TSNode root) {
    parse_iter *it = calloc(1, sizeof *it);
    if (!it) return NULL;
    it->tree = root.tree;
    it->root = root;
    return it;
}

void parse_iter_free(parse_iter *it) {
    if (!it) return;
    free(it->lv);
    free(it);
}

/* Start walking the children of s, whose visible ones have depth `depth`. */
static bool parse__iter_push(parse_iter *it, const Subtree *s, Length pos, uint32_t depth) {
    if (!util_grow_u32(&it->lv, &it->cap_lv, (size_t)it->n_lv + 1, sizeof *it->lv, 32)) return false;
    it->lv[it->n_lv++] = (parse__level){
        .kids = ts_subtree_children(*s),
        .aliases = ts_language_alias_sequence(it->tree->language, s->ptr->production_id),
        .pos = pos,
        .n = s->ptr->child_count,
        .depth = depth,
    };
    return true;
}

int parse_iter_next(parse_iter *it, TSNode *node, uint32_t *depth) {
    if (!it->root_done) {
        it->root_done = true;
        const Subtree *s = (const Subtree *)it->root.id;
        if (ts_subtree_child_count(*s) > 0) {
            Length pos = {it->root.context[0], {it->root.context[1], it->root.context[2]}};
            if (!parse__iter_push(it, s, pos, 1)) return -1;
        }
        *node = it->root;
        *depth = 0;
        return 1;
    }
    while (it->n_lv) {
        parse__level *l = &it->lv[it->n_lv - 1];
        if (l->i == l->n) {
            it->n_lv--;
            continue;
        }
        const Subtree *c = &l->kids[l->i];
        Length pos = l->pos;
        TSSymbol alias = 0;
        bool visible = ts_subtree_visible(*c);
        if (!ts_subtree_extra(*c)) {
            if (l->aliases) alias = l->aliases[l->structural];
            l->structural++;
        }
        if (alias) visible = true;
        l->pos = length_add(l->pos, ts_subtree_size(*c));
        if (++l->i < l->n) l->pos = length_add(l->pos, ts_subtree_padding(l->kids[l->i]));
        uint32_t d = l->depth;
        /* descend: into a visible node's children, or through a hidden
        ** node that has visible nodes below it (as the cursor does) */
        if (ts_subtree_child_count(*c) > 0 && (visible || ts_subtree_visible_child_count(*c) > 0))
            if (!parse__iter_push(it, c, pos, visible ? d + 1 : d)) return -1;
        if (!visible) continue;
        *node = (TSNode){{pos.bytes, pos.extent.row, pos.extent.column, alias}, c, it->tree};
        *depth = d;
        return 1;
    }
    return 0;
}
