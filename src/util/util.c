/*
** util: errors, hashing, growable buffers, threads and time. Small helpers
** used by every other module; the only dependency is xxHash.
*/
#include "util/util.h"

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <xxhash.h>

/* ==== Errors ==== */

sc_status sc_err_set(sc_err *err, sc_status code, const char *fmt, ...) {
    if (err) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err->msg, sizeof err->msg, fmt, ap);
        va_end(ap);
        err->code = code;
    }
    return code;
}

sc_status util_errmsg_out(char **errmsg, sc_status code, const char *msg) {
    if (errmsg) *errmsg = util_strdup(msg);
    return code;
}

void sc_err_clear(sc_err *err) {
    if (err) {
        err->code = SC_OK;
        err->msg[0] = '\0';
    }
}

const char *sc_status_str(sc_status s) {
    switch (s) {
    case SC_OK: return "ok";
    case SC_ERROR: return "error";
    case SC_NOMEM: return "out of memory";
    case SC_IOERR: return "I/O error";
    case SC_CORRUPT: return "corrupt data";
    case SC_NOTFOUND: return "not found";
    case SC_INVALID: return "invalid input";
    case SC_MISUSE: return "API misuse";
    case SC_BUSY: return "busy";
    case SC_UNSUPPORTED: return "unsupported";
    case SC_INTERRUPTED: return "interrupted";
    case SC_EXISTS: return "already exists";
    }
    return "unknown status";
}

void sc_free(void *p) { free(p); }

/* ==== Point ids ==== */

sc_point_id sc_point_id_num(uint64_t n) {
    sc_point_id id;
    memset(&id, 0, sizeof id);
    id.kind = SC_ID_KIND_NUM;
    id.num = n;
    return id;
}

static int util__hexval(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

sc_status sc_point_id_parse_uuid(const char *s, sc_point_id *out) {
    if (!s || !out) return SC_MISUSE;
    size_t len = strlen(s);
    bool dashed = len == 36;
    if (!dashed && len != 32) return SC_INVALID;
    sc_point_id id;
    memset(&id, 0, sizeof id);
    id.kind = SC_ID_KIND_UUID;
    size_t k = 0;
    for (size_t i = 0; i < len;) {
        if (dashed && (i == 8 || i == 13 || i == 18 || i == 23)) {
            if (s[i] != '-') return SC_INVALID;
            i++;
            continue;
        }
        int hi = util__hexval(s[i]), lo = util__hexval(s[i + 1]);
        if (hi < 0 || lo < 0 || k >= 16) return SC_INVALID;
        id.uuid[k++] = (uint8_t)(hi << 4 | lo);
        i += 2;
    }
    if (k != 16) return SC_INVALID;
    *out = id;
    return SC_OK;
}

char *sc_point_id_format(const sc_point_id *id, char *buf, size_t buf_size) {
    if (!buf || buf_size == 0) return buf;
    if (id->kind == SC_ID_KIND_NUM) {
        snprintf(buf, buf_size, "%llu", (unsigned long long)id->num);
        return buf;
    }
    const uint8_t *u = id->uuid;
    snprintf(buf, buf_size,
             "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
             u[0], u[1], u[2], u[3], u[4], u[5], u[6], u[7], u[8], u[9], u[10], u[11], u[12],
             u[13], u[14], u[15]);
    return buf;
}

int sc_point_id_cmp(const sc_point_id *a, const sc_point_id *b) {
    if (a->kind != b->kind) return a->kind == SC_ID_KIND_NUM ? -1 : 1;
    if (a->kind == SC_ID_KIND_NUM) return a->num < b->num ? -1 : a->num > b->num;
    return memcmp(a->uuid, b->uuid, 16);
}

/* ==== Hashing ==== */

uint64_t util_mix64(uint64_t x) {
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9ULL;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebULL;
    x ^= x >> 31;
    return x;
}

uint64_t util_hash64(const void *data, size_t n, uint64_t seed) { return XXH3_64bits_withSeed(data, n, seed); }

util_h128 util_hash128(const void *data, size_t n, uint64_t seed) {
    XXH128_hash_t h = XXH3_128bits_withSeed(data, n, seed);
    return (util_h128){h.high64, h.low64};
}

void util_h128_bytes(util_h128 h, uint8_t out[16]) {
    for (int i = 0; i < 8; i++) {
        out[i] = (uint8_t)(h.hi >> (56 - 8 * i));
        out[8 + i] = (uint8_t)(h.lo >> (56 - 8 * i));
    }
}

void util_h128_hex(util_h128 h, char out[33]) {
    snprintf(out, 33, "%016llx%016llx", (unsigned long long)h.hi, (unsigned long long)h.lo);
}

uint64_t util_hash64_v1(const void *data, size_t n, uint64_t seed) {
    /* 8 bytes at a time, each word mixed in; good enough for hash tables and
    ** content keys (not cryptographic). */
    const uint8_t *p = data;
    uint64_t h = util_mix64(seed ^ (0x9e3779b97f4a7c15ULL * (n + 1)));
    while (n >= 8) {
        uint64_t w;
        memcpy(&w, p, 8);
        h = util_mix64(h ^ w) + 0x9e3779b97f4a7c15ULL;
        p += 8;
        n -= 8;
    }
    uint64_t t = 0;
    for (size_t i = 0; i < n; i++) t |= (uint64_t)p[i] << (8 * i);
    return util_mix64(h ^ t ^ (n << 56));
}

/* ==== Growable arrays ==== */

/* Realloc the array at pp from cap to the doubled capacity that holds need
** elements; the new capacity is at most max elements. */
static bool util__grow(void *pp, size_t cap, size_t need, size_t elem, size_t min_cap, size_t max,
                       size_t *new_cap) {
    sc_assert(elem > 0 && min_cap > 0);
    if (SIZE_MAX / elem < max) max = SIZE_MAX / elem;
    size_t c;
    if (!cap) c = min_cap;
    else if (cap > max / 2) return false;
    else c = cap * 2;
    while (c < need) {
        if (c > max / 2) return false;
        c *= 2;
    }
    if (c > max) return false;
    /* *pp is a T *, not a void *: read and write it as bytes. */
    void *p;
    memcpy(&p, pp, sizeof p);
    void *v = realloc(p, c * elem);
    if (!v) return false;
    memcpy(pp, &v, sizeof v);
    *new_cap = c;
    return true;
}

bool util_grow_slow(void *pp, size_t *cap, size_t need, size_t elem, size_t min_cap) {
    if (need <= *cap) return true;
    return util__grow(pp, *cap, need, elem, min_cap, SIZE_MAX, cap);
}

bool util_grow_u32_slow(void *pp, uint32_t *cap, size_t need, size_t elem, uint32_t min_cap) {
    if (need <= *cap) return true;
    size_t c;
    if (!util__grow(pp, *cap, need, elem, min_cap, UINT32_MAX, &c)) return false;
    *cap = (uint32_t)c;
    return true;
}

/* ==== Strings ==== */

void util_buf_append(util_buf *b, const void *p, size_t n) {
    if (b->oom) return;
    if (!util_grow(&b->data, &b->cap, b->len + n + 1, 1, 64)) {
        b->oom = true;
        return;
    }
    memcpy(b->data + b->len, p, n);
    b->len += n;
    b->data[b->len] = '\0';
}

void util_buf_puts(util_buf *b, const char *s) { util_buf_append(b, s, strlen(s)); }

void util_buf_printf(util_buf *b, const char *fmt, ...) {
    char tmp[256];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (n < 0) return;
    if ((size_t)n < sizeof tmp) {
        util_buf_append(b, tmp, (size_t)n);
        return;
    }
    char *big = malloc((size_t)n + 1);
    if (!big) {
        b->oom = true;
        return;
    }
    va_start(ap, fmt);
    vsnprintf(big, (size_t)n + 1, fmt, ap);
    va_end(ap);
    util_buf_append(b, big, (size_t)n);
    free(big);
}

void util_buf_free(util_buf *b) {
    free(b->data);
    memset(b, 0, sizeof *b);
}

char *util_strdup(const char *s) {
    if (!s) return NULL;
    size_t n = strlen(s) + 1;
    char *d = malloc(n);
    if (d) memcpy(d, s, n);
    return d;
}

int util_mkdir_p(const char *path) {
    char buf[PATH_MAX];
    size_t n = path ? strlen(path) : 0;
    if (n == 0 || n >= sizeof buf) {
        errno = n ? ENAMETOOLONG : ENOENT;
        return -1;
    }
    memcpy(buf, path, n + 1);
    for (char *s = buf + 1; *s; s++) {
        if (*s != '/' || s[-1] == '/') continue;
        *s = '\0';
        int rc = mkdir(buf, 0755);
        *s = '/';
        if (rc != 0 && errno != EEXIST) return -1;
    }
    struct stat sb;
    if (mkdir(buf, 0755) != 0 && errno != EEXIST) return -1;
    if (stat(buf, &sb) != 0) return -1;
    if (!S_ISDIR(sb.st_mode)) {
        errno = ENOTDIR;
        return -1;
    }
    return 0;
}

char *util_read_file(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    util_buf b = {0};
    char chunk[65536];
    size_t r;
    while ((r = fread(chunk, 1, sizeof chunk, f)) > 0) util_buf_append(&b, chunk, r);
    bool bad = ferror(f) || b.oom; /* a read error (EISDIR, EIO) is not the end of the file */
    fclose(f);
    if (bad) {
        util_buf_free(&b);
        return NULL;
    }
    if (!b.data) {
        b.data = calloc(1, 1);
        if (!b.data) return NULL;
    }
    *len = b.len;
    return b.data;
}

/* ==== RFC 3339 date-times ==== */

/* Read exactly n decimal digits at s[*i]. */
static bool util__digits(const char *s, size_t len, size_t *i, int n, int *out) {
    int v = 0;
    for (int k = 0; k < n; k++) {
        if (*i >= len || s[*i] < '0' || s[*i] > '9') return false;
        v = v * 10 + (s[*i] - '0');
        (*i)++;
    }
    *out = v;
    return true;
}

/* Days since 1970-01-01 of a proleptic Gregorian date. */
static int64_t util__days_from_civil(int64_t y, int m, int d) {
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

bool util_parse_datetime(const char *s, size_t len, int64_t *out) {
    size_t i = 0;
    int y, mo, d, h = 0, mi = 0, sec = 0;
    int64_t frac_us = 0;
    if (!util__digits(s, len, &i, 4, &y) || i >= len || s[i++] != '-') return false;
    if (!util__digits(s, len, &i, 2, &mo) || i >= len || s[i++] != '-') return false;
    if (!util__digits(s, len, &i, 2, &d)) return false;
    static const int mdays[12] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (mo < 1 || mo > 12 || d < 1 || d > mdays[mo - 1]) return false;
    bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    if (mo == 2 && d == 29 && !leap) return false;
    int64_t offset_s = 0;
    if (i < len) {
        if (s[i] != 'T' && s[i] != 't' && s[i] != ' ') return false;
        i++;
        if (!util__digits(s, len, &i, 2, &h) || i >= len || s[i++] != ':') return false;
        if (!util__digits(s, len, &i, 2, &mi)) return false;
        if (i < len && s[i] == ':') {
            i++;
            if (!util__digits(s, len, &i, 2, &sec)) return false;
            if (i < len && s[i] == '.') {
                i++;
                int n_frac = 0;
                int64_t scale = 100000;
                while (i < len && s[i] >= '0' && s[i] <= '9') {
                    if (scale > 0) frac_us += (s[i] - '0') * scale;
                    scale /= 10;
                    n_frac++;
                    i++;
                }
                if (n_frac == 0) return false;
            }
        }
        if (h > 23 || mi > 59 || sec > 60) return false;
        if (i < len) {
            if ((s[i] == 'Z' || s[i] == 'z') && i + 1 == len) {
                i++;
            } else if (s[i] == '+' || s[i] == '-') {
                int sign = s[i] == '-' ? -1 : 1, oh, om = 0;
                i++;
                if (!util__digits(s, len, &i, 2, &oh)) return false;
                bool colon = i < len && s[i] == ':';
                if (colon) i++;
                if ((colon || i < len) && !util__digits(s, len, &i, 2, &om)) return false;
                if (oh > 23 || om > 59) return false;
                offset_s = sign * (oh * 3600 + om * 60);
            } else {
                return false;
            }
        }
        if (i != len) return false;
    }
    int64_t days = util__days_from_civil(y, mo, d);
    int64_t secs = days * 86400 + h * 3600 + mi * 60 + sec - offset_s;
    *out = secs * 1000000 + frac_us;
    return true;
}

/* ==== Threads and time ==== */

uint32_t util_n_cores(void) {
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? (uint32_t)n : 1;
}

double util_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

typedef struct util__job {
    util_parallel_fn fn; /* work function */
    void *arg;           /* its argument */
    uint32_t ith, nth;   /* slice of this thread */
} util__job;

static void *util__thread_main(void *p) {
    util__job *j = p;
    j->fn(j->arg, j->ith, j->nth);
    return NULL;
}

void util_parallel_run(util_parallel_fn fn, void *arg, uint32_t nth) {
    if (nth <= 1) {
        fn(arg, 0, 1);
        return;
    }
    pthread_t tids[64];
    util__job jobs[64];
    if (nth > 64) nth = 64;
    uint32_t started = 1;
    for (uint32_t i = 1; i < nth; i++) {
        jobs[i] = (util__job){fn, arg, i, nth};
        if (pthread_create(&tids[i], NULL, util__thread_main, &jobs[i]) != 0) break;
        started++;
    }
    if (started < nth) {
        /* Could not start every thread: do the missing slices here. */
        for (uint32_t i = started; i < nth; i++) fn(arg, i, nth);
    }
    fn(arg, 0, nth);
    for (uint32_t i = 1; i < started; i++) pthread_join(tids[i], NULL);
}
