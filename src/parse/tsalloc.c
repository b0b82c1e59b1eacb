/*
** parse/tsalloc.c: tree-sitter's memory while one file is parsed.
**
** DESIGN. tree-sitter allocates every subtree, stack node and array with
** malloc and frees them one by one: on a parse those calls (and the walk
** of ts_tree_delete that frees the tree node by node) were ~12 % of the
** instructions. Everything tree-sitter allocates for one file dies with
** that file, so sc_parser_parse opens a window (parse_tsarena_begin) in
** which tree-sitter's allocator hands out memory from a per-parser bump
** arena: a large reservation of address space (MAP_NORESERVE, pages are
** only backed when touched), no bookkeeping per block, free() of arena
** memory does nothing. The window creates its own TSParser, parses,
** extracts, deletes the parser (the grammar's external scanner uses libc
** malloc and is freed normally) and drops the tree without walking it;
** parse_tsarena_end then rewinds the arena in O(1). Pages stay mapped for
** the next file; above PARSE_TSA_KEEP they are given back (madvise).
**
** The price: memory tree-sitter frees during a parse is reused only with
** the next file. On ordinary code the peak is what malloc reaches (a 2 MB
** Python file: 147 MB RSS, 156 MB with malloc); error recovery on garbage
** churns more (1.5 MB of random C++ punctuation: 408 MB, 120 MB with
** malloc). The reservation caps the arena at 1 GiB per parser.
**
** Outside a window, and in threads without one, the hooks are plain libc
** calls, so other uses of tree-sitter are unaffected. If the reservation
** is used up mid-file, further blocks come from libc and the window is
** marked spilled: the caller then deletes the tree properly (arena blocks
** are skipped by free, libc ones released). AddressSanitizer builds do not
** use the arena, so tree-sitter's memory stays checked block by block.
*/
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "parse/parse_int.h"

#ifndef PARSE_TSA_RESERVE /* a small one (-D) exercises the spill path */
#define PARSE_TSA_RESERVE ((size_t)1 << 30) /* address space per parser */
#endif
#define PARSE_TSA_KEEP ((size_t)32 << 20)   /* bytes kept backed between files */
#define PARSE_TSA_ALIGN 16                  /* like malloc on x86-64 */

/* The arena of this thread's open window, NULL outside one. */
static _Thread_local parse_tsarena *parse__tsa_cur;

static bool parse__tsa_owns(const parse_tsarena *a, const void *p) {
    return (const char *)p >= a->base && (const char *)p < a->base + a->cap;
}

static void *parse__tsa_oom(size_t n) {
    util_log(NULL, SC_LOG_LEVEL_ERROR, "tree-sitter failed to allocate %zu bytes", n);
    abort(); /* what tree-sitter's own default allocator does */
}

/* n bytes from the arena, or from libc when it is full (marks a spill). */
static void *parse__tsa_take(parse_tsarena *a, size_t n) {
    /* never 0 bytes: two blocks must not share an address (realloc in place) */
    size_t need = n ? (n + PARSE_TSA_ALIGN - 1) & ~(size_t)(PARSE_TSA_ALIGN - 1) : PARSE_TSA_ALIGN;
    if (need < n || need > a->cap - a->used) {
        a->spilled = true;
        void *p = malloc(n ? n : 1);
        if (!p) parse__tsa_oom(n);
        return p;
    }
    char *p = a->base + a->used;
    a->last = p;
    a->used += need;
    if (a->used > a->high) a->high = a->used;
    return p;
}

static void *parse__tsa_malloc(size_t n) {
    parse_tsarena *a = parse__tsa_cur;
    if (a) return parse__tsa_take(a, n);
    void *p = malloc(n);
    if (n && !p) parse__tsa_oom(n);
    return p;
}

static void *parse__tsa_calloc(size_t count, size_t size) {
    parse_tsarena *a = parse__tsa_cur;
    if (a) {
        if (size && count > SIZE_MAX / size) parse__tsa_oom(SIZE_MAX);
        void *p = parse__tsa_take(a, count * size);
        memset(p, 0, count * size); /* arena pages are reused: not zero */
        return p;
    }
    void *p = calloc(count, size);
    if (count && size && !p) parse__tsa_oom(count * size);
    return p;
}

static void *parse__tsa_realloc(void *old, size_t n) {
    parse_tsarena *a = parse__tsa_cur;
    if (a && old && parse__tsa_owns(a, old)) {
        char *o = old;
        size_t top = a->used;
        if (o == a->last) { /* the newest block grows (or shrinks) in place */
            size_t off = (size_t)(o - a->base);
            size_t need = n ? (n + PARSE_TSA_ALIGN - 1) & ~(size_t)(PARSE_TSA_ALIGN - 1) : PARSE_TSA_ALIGN;
            if (need >= n && need <= a->cap - off) {
                a->used = off + need;
                if (a->used > a->high) a->high = a->used;
                return o;
            }
        }
        /* the old block's size is not kept: copy what may belong to it,
        ** never more than n and never past the arena's current top */
        size_t avail = (size_t)(a->base + top - o);
        void *p = parse__tsa_take(a, n);
        memcpy(p, o, avail < n ? avail : n);
        return p;
    }
    if (a && !old) return parse__tsa_take(a, n);
    /* libc blocks stay libc blocks, in and out of a window */
    void *p = realloc(old, n);
    if (n && !p) parse__tsa_oom(n);
    return p;
}

static void parse__tsa_free(void *p) {
    parse_tsarena *a = parse__tsa_cur;
    if (a && p && parse__tsa_owns(a, p)) return; /* freed with the window */
    free(p);
}

static void parse__tsa_install(void) {
    ts_set_allocator(parse__tsa_malloc, parse__tsa_calloc, parse__tsa_realloc, parse__tsa_free);
}

#if defined(__SANITIZE_ADDRESS__)
#define PARSE__TSA_ENABLED 0
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define PARSE__TSA_ENABLED 0
#endif
#endif
#ifndef PARSE__TSA_ENABLED
#define PARSE__TSA_ENABLED 1
#endif

bool parse_tsarena_init(parse_tsarena *a) {
    memset(a, 0, sizeof *a);
    if (!PARSE__TSA_ENABLED) return false;
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, parse__tsa_install);
    void *m = mmap(NULL, PARSE_TSA_RESERVE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (m == MAP_FAILED) return false;
    a->base = m;
    a->cap = PARSE_TSA_RESERVE;
    return true;
}

void parse_tsarena_destroy(parse_tsarena *a) {
    if (a->base) munmap(a->base, a->cap);
    memset(a, 0, sizeof *a);
}

void parse_tsarena_begin(parse_tsarena *a) {
    a->used = 0;
    a->last = NULL;
    a->spilled = false;
    parse__tsa_cur = a;
}

void parse_tsarena_end(parse_tsarena *a) {
    parse__tsa_cur = NULL;
    if (a->high > PARSE_TSA_KEEP) { /* a big file: give the pages above the mark back */
        madvise(a->base + PARSE_TSA_KEEP, a->high - PARSE_TSA_KEEP, MADV_DONTNEED);
        a->high = PARSE_TSA_KEEP;
    }
    a->used = 0;
    a->last = NULL;
}
