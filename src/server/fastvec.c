/*
** server/fastvec.c: the fast path for dense vectors in a points upsert body.
**
** An upsert of 256 points of 384 dimensions is ~1 MB of JSON, almost all of
** it numbers; jansson makes a heap node per number and reads each with
** strtod (after a localeconv), which was most of the write path's CPU
** (docs/BENCHMARKS.md, issue 18). Before jansson parses the body, this file
** walks it once, and every `points[i].vector` or `batch.vectors[i]` that is
** an array of plain numbers is read straight into one float buffer and
** replaced by `[]` in a copy of the body that jansson then parses.
**
** DESIGN: behaviour must stay exactly that of the jansson path.
**  - A number is taken only when jansson would read it and
**    server_json_floats would accept it; the float is the one that path
**    makes: (float)(double)strtoll for an integer token (so "-0" is +0),
**    (float)strtod for a real one. Anything else (a string, a nested array,
**    `+1`, `01`, an overflow, a value beyond float range, more than
**    SC_MAX_DIM numbers, an empty array) leaves that array untouched in the
**    text, and jansson and server_json_floats answer it as before.
**  - Only a valid array of numbers is replaced, by `[]`: the copy parses iff
**    the body does. When the copy fails to parse the caller parses the
**    original for jansson's own message and position (handle.c).
**  - Keys are compared raw: an escaped key ("vect\u006fr") is not matched
**    and takes the jansson path.
** The walk does not validate: on anything unexpected it stops and copies
** the rest verbatim.
**
** Speed: digits are read 8 at a time (one 64-bit load tells how many lead
** and what they are worth), and the usual component ("-0.12345": a digit,
** a point, up to 7 more digits) takes one load and no branch on its sign
** (server__number_short); every other shape takes server__number_long.
*/
#include "server/server_int.h"

#include <locale.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "util/util.h"

/* ==== Numbers ==== */

/* Exact powers of ten as doubles (10^0 .. 10^22). */
static const double server__pow10[23] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,  1e8,  1e9,  1e10, 1e11,
                                         1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};

/* 10^-k rounded to double (k = 0 .. 22). */
static const double server__pow10_inv[23] = {1e0,   1e-1,  1e-2,  1e-3,  1e-4,  1e-5,  1e-6,  1e-7,
                                             1e-8,  1e-9,  1e-10, 1e-11, 1e-12, 1e-13, 1e-14, 1e-15,
                                             1e-16, 1e-17, 1e-18, 1e-19, 1e-20, 1e-21, 1e-22};

static locale_t server__c_locale;
static pthread_once_t server__c_locale_once = PTHREAD_ONCE_INIT;

static void server__c_locale_init(void) { server__c_locale = newlocale(LC_ALL_MASK, "C", (locale_t)0); }

static bool server__digit(char c) { return c >= '0' && c <= '9'; }

/* strtod of the token s[0..n) in the C locale, whatever the process's
** locale; false when memory ran out or no C locale exists. */
static bool server__strtod(const char *s, size_t n, double *out) {
    char buf[128];
    pthread_once(&server__c_locale_once, server__c_locale_init);
    char *tok = n < sizeof buf ? buf : malloc(n + 1); /* a long token: rare */
    if (!tok || !server__c_locale) {
        if (tok != buf) free(tok);
        return false;
    }
    memcpy(tok, s, n);
    tok[n] = 0;
    *out = strtod_l(tok, NULL, server__c_locale);
    if (tok != buf) free(tok);
    return true;
}

/* ---- Digits, 8 at a time (SWAR) ---- */

/* Whether 8-byte loads read the first byte as the lowest (the SWAR digit
** code below assumes it; elsewhere the bytewise loops do all the work). */
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define SERVER_FASTVEC_SWAR 1
#else
#define SERVER_FASTVEC_SWAR 0
#endif

#define SERVER__ONES UINT64_C(0x0101010101010101)

/* The 8 bytes at p as one word, p[0] in its lowest byte. */
static uint64_t server__load8(const char *p) {
    uint64_t v;
    memcpy(&v, p, sizeof v);
    return v;
}

/* How many of the 8 bytes of v (lowest first) are ASCII digits before the
** first byte that is not: 0..8. A byte y = b ^ '0' is a digit iff y < 10,
** i.e. neither y nor y + 0x76 has its top bit; a carry out of a byte only
** comes from a byte that is no digit, and it only reaches later bytes. */
static unsigned server__digits8(uint64_t v) {
    uint64_t y = v ^ (SERVER__ONES * '0');
    uint64_t no = ((y + SERVER__ONES * 0x76) | y) & (SERVER__ONES * 0x80);
    return no ? (unsigned)__builtin_ctzll(no) >> 3 : 8;
}

/* The value of the k (1..8) digits in the lowest bytes of v: shifted to the
** top (leading zeros below), then pairs, quads and the octet combined. */
static uint64_t server__value8(uint64_t v, unsigned k) {
    uint64_t x = (v ^ (SERVER__ONES * '0')) << (8 * (8 - k));
    x = ((x & (SERVER__ONES * 0x0f)) * (10 * 256 + 1)) >> 8;                         /* 2-digit lanes */
    x = ((x & UINT64_C(0x00ff00ff00ff00ff)) * (100 * 65536 + 1)) >> 16;             /* 4-digit lanes */
    return ((x & UINT64_C(0x0000ffff0000ffff)) * (UINT64_C(10000) << 32 | 1)) >> 32; /* 8 digits */
}

/* Digits at s[i..n) from i: their count. */
static size_t server__digit_run(const char *s, size_t n, size_t i) {
    size_t i0 = i;
#if SERVER_FASTVEC_SWAR
    while (n - i >= 8) {
        unsigned k = server__digits8(server__load8(s + i));
        i += k;
        if (k < 8) return i - i0;
    }
#endif
    while (i < n && s[i] >= '0' && s[i] <= '9') i++;
    return i - i0;
}

/* Powers of ten as integers (10^0 .. 10^19). */
static const uint64_t server__pow10_u64[20] = {
    UINT64_C(1), UINT64_C(10), UINT64_C(100), UINT64_C(1000), UINT64_C(10000), UINT64_C(100000),
    UINT64_C(1000000), UINT64_C(10000000), UINT64_C(100000000), UINT64_C(1000000000), UINT64_C(10000000000),
    UINT64_C(100000000000), UINT64_C(1000000000000), UINT64_C(10000000000000), UINT64_C(100000000000000),
    UINT64_C(1000000000000000), UINT64_C(10000000000000000), UINT64_C(100000000000000000),
    UINT64_C(1000000000000000000), UINT64_C(10000000000000000000)};

/* m * 10^len + the value of the len (<= 19 - digits of m) digits at p, which
** lie in s[0..n). */
static uint64_t server__digits_value(uint64_t m, const char *p, size_t len, const char *s, size_t n) {
#if SERVER_FASTVEC_SWAR
    while (len >= 8) {
        m = m * 100000000u + server__value8(server__load8(p), 8);
        p += 8, len -= 8;
    }
    if (!len) return m;
    uint64_t v;
    if ((size_t)(s + n - p) >= 8) {
        v = server__load8(p);
    } else { /* the last bytes of the text: no load past its end */
        char tmp[8] = {0};
        memcpy(tmp, p, len);
        v = server__load8(tmp);
    }
    return m * server__pow10_u64[len] + server__value8(v, (unsigned)len);
#else
    (void)s, (void)n;
    for (size_t k = 0; k < len; k++) m = m * 10 + (uint64_t)(p[k] - '0');
    return m;
#endif
}

/* The usual shape of a vector component, an optional '-', one integer
** digit, '.' and 1..7 fraction digits ("-0.12345"), read with one 8-byte
** load for the fraction and no branch on the data (the sign of random data
** is unpredictable); anything else (an exponent, more digits, too few bytes
** left, a product next to a float rounding boundary) is false and left to
** server__number_long, whose result this equals whenever it is true. */
static inline __attribute__((always_inline)) bool server__number_short(const char *s, size_t n, float *out,
                                                                       size_t *used) {
#if SERVER_FASTVEC_SWAR
    if (n < 11) return false; /* '-', a digit, '.' and the 8 bytes read */
    size_t neg = s[0] == '-';
    const char *p = s + neg;
    if (!server__digit(p[0]) || p[1] != '.') return false;
    uint64_t v = server__load8(p + 2);
    unsigned k = server__digits8(v);
    if (k - 1u >= 7u || (p[2 + k] | 0x20) == 'e') return false;
    uint64_t m = (uint64_t)(p[0] - '0') * server__pow10_u64[k] + server__value8(v, k);
    /* m < 2^53 and 10^k exact: Clinger's case, as in server__number_long */
    double q = (double)m * server__pow10_inv[k];
    uint64_t bits;
    memcpy(&bits, &q, sizeof bits);
    uint64_t low = bits & ((UINT64_C(1) << 29) - 1), mid = UINT64_C(1) << 28;
    if (!(low + 16 < mid || low > mid + 16)) return false;
    float f = (float)q; /* q >= 0: the sign goes in as a bit */
    uint32_t fb;
    memcpy(&fb, &f, sizeof fb);
    fb |= (uint32_t)neg << 31;
    memcpy(out, &fb, sizeof fb);
    *used = neg + 2 + k;
    return true;
#else
    (void)s, (void)n, (void)out, (void)used;
    return false;
#endif
}

/* server_fastvec_number for every shape. */
static bool server__number_long(const char *s, size_t n, float *out, size_t *used) {
    size_t i = 0;
    bool neg = false, real = false;
    uint64_t m = 0; /* the first 19 significant digits */
    int n_sig = 0;  /* significant digits in m */
    long n_more = 0; /* significant digits past those */
    long drop = 0;  /* decimal exponent of m's last digit: integer digits past m, minus fraction digits in m */
    if (i < n && s[i] == '-') neg = true, i++;
    if (i >= n || !server__digit(s[i])) return false;
    size_t n_int = server__digit_run(s, n, i), n_frac = 0;
    if (s[i] == '0' && n_int > 1) return false; /* jansson: no leading zeros */
    bool dot = i + n_int < n && s[i + n_int] == '.';
    if (dot && !(n_frac = server__digit_run(s, n, i + n_int + 1))) return false;
    if (n_int + n_frac <= 19) {
        /* the common case: m holds every digit (leading zeros add nothing), as the loops below would make it */
        m = server__digits_value(0, s + i, n_int, s, n);
        if (dot) m = server__digits_value(m, s + i + n_int + 1, n_frac, s, n);
        drop = -(long)n_frac;
        real = dot;
        i += n_int + (dot ? 1 + n_frac : 0);
    } else {
        for (; i < n && server__digit(s[i]); i++) {
            if (!n_sig && s[i] == '0') continue; /* the single leading 0 of `0.x` */
            if (n_sig < 19) m = m * 10 + (uint64_t)(s[i] - '0'), n_sig++;
            else n_more++, drop++;
        }
        if (dot) {
            real = true;
            for (i++; i < n && server__digit(s[i]); i++) {
                if (!n_sig && s[i] == '0') drop--; /* a leading zero of the fraction */
                else if (n_sig < 19) m = m * 10 + (uint64_t)(s[i] - '0'), n_sig++, drop--;
                else n_more++;
            }
        }
    }
    long e10 = 0;
    if (i < n && (s[i] == 'e' || s[i] == 'E')) {
        real = true;
        bool eneg = false;
        if (++i < n && (s[i] == '+' || s[i] == '-')) eneg = s[i++] == '-';
        if (i >= n || !server__digit(s[i])) return false;
        for (; i < n && server__digit(s[i]); i++)
            if (e10 < 100000) e10 = e10 * 10 + (s[i] - '0'); /* saturates: strtod decides such numbers */
        if (eneg) e10 = -e10;
    }
    *used = i;
    if (!real) { /* jansson's integer: strtoll, then the double json_number_value gives */
        if (n_more || m > (uint64_t)INT64_MAX + (neg ? 1u : 0u)) return false; /* strtoll's ERANGE */
        int64_t v = neg ? (int64_t)(0 - m) : (int64_t)m;
        *out = (float)(double)v;
        return true;
    }
    double d;
    long e = e10 + drop;
    if (m == 0) {
        d = 0.0;
    } else if (!n_more && m <= (UINT64_C(1) << 53) && e >= -22 && e <= 22) {
        /* Clinger's fast path: m and 10^|e| are exact doubles, so one IEEE
        ** multiplication or division rounds correctly, as strtod does */
        if (e >= 0) {
            d = (double)m * server__pow10[e];
        } else {
            /* The division is slow. The product with 10^e rounded is within
            ** a few ulps of that quotient, so it rounds to the same float
            ** unless it lies next to a float rounding boundary: the pattern
            ** 1 then 28 zeros in the 29 bits a float drops (it is at least
            ** 1e-22, a normal float, and below 2^53). */
            double q = (double)m * server__pow10_inv[-e];
            uint64_t bits;
            memcpy(&bits, &q, sizeof bits);
            uint64_t low = bits & ((UINT64_C(1) << 29) - 1), mid = UINT64_C(1) << 28;
            if (low + 16 < mid || low > mid + 16) {
                *out = neg ? -(float)q : (float)q;
                return true;
            }
            d = (double)m / server__pow10[-e];
        }
    } else if (server__strtod(s, i, &d)) {
        d = fabs(d);
    } else {
        return false;
    }
    if (neg) d = -d;
    if (!isfinite(d) || fabs(d) > 3.4e38) return false; /* jansson's overflow, or server_json_floats' range */
    *out = (float)d;
    return true;
}

/* Read one JSON number at s[0..n) into *out as the jansson path would
** store it (see DESIGN); *used is its length. False when s does not start
** with a JSON number, or with one that path would refuse. */
bool server_fastvec_number(const char *s, size_t n, float *out, size_t *used) {
    return server__number_short(s, n, out, used) || server__number_long(s, n, out, used);
}

static size_t server__ws(const char *s, size_t n, size_t i) {
    while (i < n && (s[i] == ' ' || s[i] == '\n' || s[i] == '\r' || s[i] == '\t')) i++;
    return i;
}

/* Read the JSON array at s[0..n) (s[0] == '[') of 1..max numbers into out;
** the count, with *end just past its `]`, or 0 when it is anything else
** (empty, longer than max, a value that is not a number the jansson path
** takes): the caller leaves that text to jansson. */
size_t server_fastvec_array(const char *s, size_t n, float *out, size_t max, size_t *end) {
    size_t i = 1, cnt = 0;
    if (!n || s[0] != '[') return 0;
    for (;;) {
        size_t used;
        i = server__ws(s, n, i);
        if (cnt == max || i >= n || !server_fastvec_number(s + i, n - i, &out[cnt], &used)) return 0;
        cnt++;
        i += used;
        if (i < n && s[i] == ',') { /* the usual separator, no space */
            i++;
            continue;
        }
        i = server__ws(s, n, i);
        if (i >= n) return 0;
        if (s[i] == ']') break;
        if (s[i] != ',') return 0;
        i++;
    }
    *end = i + 1;
    return cnt;
}

/* ==== The body walk ==== */

/* Where each replaced vector went (one table per form). */
typedef struct server_fastvec_table {
    size_t *off;   /* per array index: offset in data, or SIZE_MAX when that entry was not replaced */
    uint32_t *dim; /* per array index: its numbers */
    size_t n;      /* entries */
    size_t cap;    /* allocated entries */
} server_fastvec_table;

struct server_fastvec {
    float *data;                  /* every replaced vector's floats, back to back */
    size_t n_data;                /* floats in data */
    size_t cap_data;              /* floats allocated */
    server_fastvec_table tab[2];  /* SERVER_FASTVEC_POINTS, SERVER_FASTVEC_BATCH */
    bool oom;                     /* an allocation failed: the walk stopped */
};

/* State of one walk. */
typedef struct server__walk {
    const char *s;        /* the body */
    size_t n;             /* its bytes */
    server_fastvec *fv;   /* where vectors go */
    util_buf out;         /* the copy with the vectors replaced */
    size_t run;           /* first byte of s not yet copied to out */
    size_t n_replaced;    /* arrays replaced */
} server__walk;

void server_fastvec_free(server_fastvec *fv) {
    if (!fv) return;
    free(fv->data);
    for (int t = 0; t < 2; t++) {
        free(fv->tab[t].off);
        free(fv->tab[t].dim);
    }
    free(fv);
}

/* The vector the walk read for entry idx of form, as a borrowed pointer
** (valid until server_fastvec_free) and its size; false when it has none. */
bool server_fastvec_get(const server_fastvec *fv, server_fastvec_form form, size_t idx, const float **data,
                        uint32_t *dim) {
    if (!fv) return false;
    const server_fastvec_table *t = &fv->tab[form];
    if (idx >= t->n || t->off[idx] == SIZE_MAX) return false;
    *data = fv->data + t->off[idx];
    *dim = t->dim[idx];
    return true;
}

/* Index after the string at s[i] == '"' (n when unterminated). */
static size_t server__skip_string(const char *s, size_t n, size_t i) {
    for (i++; i < n; i++) {
        if (s[i] == '\\') i++;
        else if (s[i] == '"') return i + 1;
    }
    return n;
}

/* Index after the value at s[i] (no validation: strings, balanced brackets, or a scalar token). */
static size_t server__skip_value(const char *s, size_t n, size_t i) {
    if (i >= n) return n;
    if (s[i] == '"') return server__skip_string(s, n, i);
    if (s[i] == '[' || s[i] == '{') {
        size_t depth = 0;
        for (; i < n; i++) {
            if (s[i] == '"') i = server__skip_string(s, n, i) - 1;
            else if (s[i] == '[' || s[i] == '{') depth++;
            else if ((s[i] == ']' || s[i] == '}') && --depth == 0) return i + 1;
        }
        return n;
    }
    while (i < n && !strchr(",]} \t\r\n", s[i])) i++;
    return i;
}

/* Try the array at w->s[i] as entry idx of form; the index after the value. */
static size_t server__walk_vector(server__walk *w, size_t i, server_fastvec_form form, size_t idx) {
    server_fastvec *fv = w->fv;
    size_t room = (w->n - i) / 2 + 1; /* a number and its separator take two bytes at least */
    if (room > SC_MAX_DIM) room = SC_MAX_DIM;
    if (fv->cap_data - fv->n_data < room) {
        size_t cap = fv->cap_data ? fv->cap_data * 2 : 4096;
        while (cap - fv->n_data < room) cap *= 2;
        float *d = realloc(fv->data, cap * sizeof *d);
        if (!d) return fv->oom = true, w->n;
        fv->data = d;
        fv->cap_data = cap;
    }
    server_fastvec_table *t = &fv->tab[form];
    if (idx >= t->cap) {
        size_t cap = t->cap ? t->cap * 2 : 64;
        while (cap <= idx) cap *= 2;
        size_t *off = realloc(t->off, cap * sizeof *off);
        if (off) t->off = off;
        uint32_t *dim = realloc(t->dim, cap * sizeof *dim);
        if (dim) t->dim = dim;
        if (!off || !dim) return fv->oom = true, w->n;
        t->cap = cap;
    }
    size_t end = 0, cnt = server_fastvec_array(w->s + i, w->n - i, fv->data + fv->n_data, room, &end);
    if (!cnt) return server__skip_value(w->s, w->n, i);
    while (t->n <= idx) t->off[t->n++] = SIZE_MAX;
    t->off[idx] = fv->n_data;
    t->dim[idx] = (uint32_t)cnt;
    fv->n_data += cnt;
    util_buf_append(&w->out, w->s + w->run, i - w->run);
    util_buf_puts(&w->out, "[]");
    w->run = i + end;
    w->n_replaced++;
    return i + end;
}

static size_t server__walk_list(server__walk *w, size_t i, server_fastvec_form form);

/* Walk the members of the object at w->s[i] == '{'; the value of member
** `key`, when it is an array, is a list of vectors of form (list) or entry
** idx of form (!list). The index after the object, or n when the walk stopped. */
static size_t server__walk_object(server__walk *w, size_t i, const char *key, server_fastvec_form form, size_t idx,
                                  bool list) {
    const char *s = w->s;
    size_t n = w->n, klen = strlen(key);
    i = server__ws(s, n, i + 1);
    if (i < n && s[i] == '}') return i + 1;
    while (i < n && !w->fv->oom) {
        if (s[i] != '"') return n;
        size_t k0 = i + 1, k1 = server__skip_string(s, n, i);
        bool match = k1 - 1 - k0 == klen && !memcmp(s + k0, key, klen);
        i = server__ws(s, n, k1);
        if (i >= n || s[i] != ':') return n;
        i = server__ws(s, n, i + 1);
        if (!match || i >= n || s[i] != '[') i = server__skip_value(s, n, i);
        else i = list ? server__walk_list(w, i, form) : server__walk_vector(w, i, form, idx);
        i = server__ws(s, n, i);
        if (i >= n) return n;
        if (s[i] == '}') return i + 1;
        if (s[i] != ',') return n;
        i = server__ws(s, n, i + 1);
    }
    return n;
}

/* The array at w->s[i] == '[' of `points` (objects with a `vector`) or of
** `batch.vectors` (vectors). The index after it, or n when the walk stopped. */
static size_t server__walk_list(server__walk *w, size_t i, server_fastvec_form form) {
    const char *s = w->s;
    size_t n = w->n, idx = 0;
    i = server__ws(s, n, i + 1);
    if (i < n && s[i] == ']') return i + 1;
    while (i < n && !w->fv->oom) {
        if (form == SERVER_FASTVEC_POINTS && s[i] == '{') i = server__walk_object(w, i, "vector", form, idx, false);
        else if (form == SERVER_FASTVEC_BATCH && s[i] == '[') i = server__walk_vector(w, i, form, idx);
        else i = server__skip_value(s, n, i);
        idx++;
        i = server__ws(s, n, i);
        if (i >= n) return n;
        if (s[i] == ']') return i + 1;
        if (s[i] != ',') return n;
        i = server__ws(s, n, i + 1);
    }
    return n;
}

/* The members of the root object at w->s[i] == '{': `points` (a list) and
** `batch` (an object whose `vectors` is a list) are walked, others skipped. */
static void server__walk_root(server__walk *w, size_t i) {
    const char *s = w->s;
    size_t n = w->n;
    i = server__ws(s, n, i + 1);
    while (i < n && s[i] == '"' && !w->fv->oom) {
        size_t k0 = i + 1, k1 = server__skip_string(s, n, i);
        bool points = k1 - 1 - k0 == 6 && !memcmp(s + k0, "points", 6);
        bool batch = k1 - 1 - k0 == 5 && !memcmp(s + k0, "batch", 5);
        i = server__ws(s, n, k1);
        if (i >= n || s[i] != ':') return;
        i = server__ws(s, n, i + 1);
        if (i >= n) return;
        if (points && s[i] == '[') i = server__walk_list(w, i, SERVER_FASTVEC_POINTS);
        else if (batch && s[i] == '{') i = server__walk_object(w, i, "vectors", SERVER_FASTVEC_BATCH, 0, true);
        else i = server__skip_value(s, n, i);
        i = server__ws(s, n, i);
        if (i >= n || s[i] != ',') return;
        i = server__ws(s, n, i + 1);
    }
}

/* Walk the upsert body s[0..n): returns the owned copy with each replaced
** vector array read into *out_fv (owned, server_fastvec_free) and its text
** replaced by `[]`, size in *out_n; NULL (and *out_fv NULL) when nothing was
** replaced or memory ran out: then parse s itself. */
char *server_fastvec_scan(const char *s, size_t n, server_fastvec **out_fv, size_t *out_n) {
    *out_fv = NULL;
    server_fastvec *fv = calloc(1, sizeof *fv);
    if (!fv) return NULL;
    server__walk w = {.s = s, .n = n, .fv = fv};
    size_t i = server__ws(s, n, 0);
    if (i < n && s[i] == '{') server__walk_root(&w, i);
    if (w.n_replaced && !fv->oom) util_buf_append(&w.out, s + w.run, n - w.run);
    if (!w.n_replaced || fv->oom || w.out.oom) {
        util_buf_free(&w.out);
        server_fastvec_free(fv);
        return NULL;
    }
    *out_fv = fv;
    *out_n = w.out.len;
    return w.out.data;
}
