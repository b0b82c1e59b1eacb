/*
** util: small helpers shared by every module (errors, hashing, strings,
** threads). Knows nothing of the other modules.
*/
#ifndef SC_UTIL_H
#define SC_UTIL_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>

#include "semcode/common.h"

/* ==== Errors ==== */

/* Caller-owned error for internal calls that have no handle. */
typedef struct sc_err {
    sc_status code; /* SC_OK until something fails */
    char msg[512];  /* human-readable reason, names the field and value */
} sc_err;

/* Record a failure in err (NULL is ignored) and return code. */
sc_status sc_err_set(sc_err *err, sc_status code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Reset err to SC_OK. */
void sc_err_clear(sc_err *err);
/* Fill the `char **errmsg` out-parameter of a public call (common.h,
** "Errors"): when errmsg is not NULL, *errmsg becomes an owned copy of msg
** (NULL if that copy runs out of memory). Returns code. */
sc_status util_errmsg_out(char **errmsg, sc_status code, const char *msg);

/* Debug-only assertion for bugs (never for bad input). */
#ifdef NDEBUG
#define sc_assert(x) ((void)0)
#else
#include <assert.h>
#define sc_assert(x) assert(x)
#endif

/* ==== Logging ==== */

/* Hand a message to lg (NULL, or one with a NULL log, means the global
** logger; see sc_log_set_global). The message is formatted into at most
** 1,024 bytes. */
void util_log(const sc_logger *lg, sc_log_level level, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* ==== Hashing ====
** xxHash (libxxhash): XXH3-64 for in-memory tables, XXH3-128 wherever a
** collision would cost something across runs (content hashes and cache keys
** that are stored). util_hash64_v1 is semcode's own hash from before
** (index format 1): kept where changing it would change a model's output or
** bytes already on disk (docs/FILE_FORMATS.md lists them). All are
** deterministic across runs and machines. */

/* A 128-bit hash value; hi:lo is the XXH128 value (hi = high64). */
typedef struct util_h128 {
    uint64_t hi; /* high 64 bits */
    uint64_t lo; /* low 64 bits */
} util_h128;

/* XXH3-64 of n bytes with seed: hash tables, in-memory keys. */
uint64_t util_hash64(const void *data, size_t n, uint64_t seed);
/* XXH3-128 of n bytes with seed (seed 0 gives `xxh128sum`'s value). */
util_h128 util_hash128(const void *data, size_t n, uint64_t seed);
/* The 16 bytes of h in xxHash's canonical (big-endian) order. */
void util_h128_bytes(util_h128 h, uint8_t out[16]);
/* h as 32 lower-case hex digits (canonical order, as `xxh128sum` prints it) and a NUL. */
void util_h128_hex(util_h128 h, char out[33]);
/* The pre-xxHash hash of index format 1 (not for new uses). */
uint64_t util_hash64_v1(const void *data, size_t n, uint64_t seed);
/* Mix a 64-bit integer (finaliser of splitmix64). */
uint64_t util_mix64(uint64_t x);

/* SHA-256 (sha256.c): the checksum peers name (Qdrant snapshots). */
typedef struct util_sha256 {
    uint32_t h[8];    /* chaining state */
    uint64_t n;       /* bytes hashed */
    uint8_t buf[64];  /* partial block */
    size_t fill;      /* bytes in buf */
} util_sha256;
void util_sha256_init(util_sha256 *s);
void util_sha256_update(util_sha256 *s, const void *data, size_t n);
/* Finish and write the digest as 64 lower-case hex digits + NUL; s is spent. */
void util_sha256_hex(util_sha256 *s, char out[65]);

/* ==== Strings ==== */

/* Growable byte buffer, always NUL-terminated when len > 0. */
typedef struct util_buf {
    char *data;   /* owned bytes */
    size_t len;   /* bytes used (excluding the NUL) */
    size_t cap;   /* bytes allocated */
    bool oom;     /* an append failed: contents are truncated */
} util_buf;

void util_buf_append(util_buf *b, const void *p, size_t n);
void util_buf_puts(util_buf *b, const char *s);
void util_buf_printf(util_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void util_buf_free(util_buf *b);

/* ==== Growable arrays ==== */

/* Make the array *pp (pp is the address of the array pointer, e.g. &v for
** T *v) hold at least need elements of elem bytes. When need > *cap, the
** capacity doubles (starting from min_cap when *cap is 0) until it is at
** least need and the array is realloc'ed; otherwise nothing happens. False,
** with *pp and *cap untouched, when realloc fails or the new capacity (or its
** size in bytes) would overflow. elem and min_cap must be > 0.
** The check is inline (callers push in hot loops); the growth is not. */
bool util_grow_slow(void *pp, size_t *cap, size_t need, size_t elem, size_t min_cap);
static inline bool util_grow(void *pp, size_t *cap, size_t need, size_t elem, size_t min_cap) {
    return need <= *cap || util_grow_slow(pp, cap, need, elem, min_cap);
}
/* The same for a uint32_t capacity (refused beyond UINT32_MAX elements). */
bool util_grow_u32_slow(void *pp, uint32_t *cap, size_t need, size_t elem, uint32_t min_cap);
static inline bool util_grow_u32(void *pp, uint32_t *cap, size_t need, size_t elem, uint32_t min_cap) {
    return need <= *cap || util_grow_u32_slow(pp, cap, need, elem, min_cap);
}

/* strdup that returns NULL on NULL input or allocation failure. */
char *util_strdup(const char *s);

/* mkdir -p: create path and every missing folder above it (mode 0755).
** 0 on success or when it already is a folder; -1 with errno set. */
int util_mkdir_p(const char *path);

/* The whole file at path (owned, NUL-terminated, length in *len), or NULL
** when it cannot be read or memory runs out. */
char *util_read_file(const char *path, size_t *len);

/* ==== UTF-8 (utf8.c, on utf8proc) ==== */

/* Decode the character at s[0..n): its length in bytes (1 to 4) with its
** code point in *cp (cp may be NULL), or 0 when no well-formed UTF-8
** character starts there (a stray continuation or invalid lead byte, a
** truncated sequence, an overlong form, a surrogate, a value past
** U+10FFFF; n == 0), *cp untouched. Reads at most min(n, 4) bytes. */
size_t util_utf8_decode(const char *s, size_t n, int32_t *cp);
/* Length of the longest prefix of s[0..n) made of well-formed non-ASCII
** characters (0 when s starts with ASCII or a byte that starts no character):
** one call for a run of letters such as "日本語". */
size_t util_utf8_span(const char *s, size_t n);
/* Whether s[0..n) is all well-formed UTF-8; if not, *bad_at (may be NULL)
** receives the offset of the first byte that starts no character. */
bool util_utf8_valid(const char *s, size_t n, size_t *bad_at);

/* ==== Dates ==== */

/* Parse "YYYY-MM-DD", optionally followed by [T|t| ]HH:MM[:SS[.frac]] and a
** zone (Z, +HH:MM, +HHMM, +HH; none = UTC), into microseconds since the
** epoch: the RFC 3339 date-times of filters (store) and of records. False
** when s[0..len) is not such a date-time. */
bool util_parse_datetime(const char *s, size_t len, int64_t *us);

/* ==== Threads and time ==== */

/* Number of online cores (at least 1). */
uint32_t util_n_cores(void);
/* Monotonic time in seconds. */
double util_now(void);

/* Run fn(arg, ith, nth) on nth threads (the calling thread is one of them)
** and wait for all. fn slices its own work by (ith, nth). */
typedef void (*util_parallel_fn)(void *arg, uint32_t ith, uint32_t nth);
void util_parallel_run(util_parallel_fn fn, void *arg, uint32_t nth);

#endif /* SC_UTIL_H */
