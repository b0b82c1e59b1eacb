/*
** index/quant: training, encoding and scoring of int8 and binary codes
** (see quant.h for the modes), their serialization, and the scalar
** reference kernels with run-time dispatch to quant_avx512.c.
**
** DESIGN (serialized parameters, little-endian)
**   offset 0  char[8]  "SCQUANT1"
**          8  u32      version (1)
**         12  u32      mode, range, metric, dim  (16 bytes)
**         28  f32      quantile
**         32  f32[dim] INT8: lo; BINARY: mean
**             f32[dim] INT8: scale; BINARY: mean absolute deviation
**        end  u64      util_hash64_v1 of every byte before it
**   INT8 code: u8[dim] codes, zero padding to a multiple of 4, f32 |x^|^2.
**   BINARY code: ceil(dim/64) u64 words, bit d%64 of word d/64 = x[d] > mean[d],
**            then u32 popcount of the bits and f32 |x|^2.
**   BINARY scoring is asymmetric: x[d] ~ mean[d] + mad[d] * (+1 | -1), the
**   query side w[d] = q[d] * mad[d] is quantized to 4 bits u[d] and stored
**   as 4 bit planes, so sum over set bits of w = lo * popcount(b) +
**   step * sum_j 2^j popcount(b & plane_j): five popcounts per 64 dims
**   (VPOPCNTDQ), far better ranking than plain Hamming. L1 uses Hamming.
*/
#include "index/quant.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define QUANT_MAGIC "SCQUANT1"
#define QUANT_VERSION 1u

struct quant {
    quant_mode mode;            /* INT8 or BINARY */
    quant_range range;          /* INT8 range kind */
    float quantile;             /* INT8 clipping quantile */
    index_metric metric;        /* metric the distances estimate */
    uint32_t dim;               /* dimensions */
    float *lo;                  /* INT8: dim lower bounds; BINARY: dim means */
    float *scale;               /* INT8: dim steps (hi - lo) / 255; BINARY: mean |x - mean| */
    size_t code_size;           /* bytes of a code */
    size_t n_words;             /* BINARY: 64-bit words per code */
    size_t qq_off;              /* INT8 query buffer: offset of the int8 query */
    size_t qf_off;              /* INT8 query buffer: offset of the f32 query (L1) */
    const quant_kernels *k;     /* kernels in use */
};

/* Header of a prepared INT8 query. */
typedef struct quant__qhead {
    float c0;  /* sum q[d] * lo[d] */
    float t;   /* int8 query step: q[d]*scale[d] ~ t * qq[d] */
    float qn2; /* |q|^2 */
} quant__qhead;

/* Header of a prepared BINARY query (4 bit planes follow at offset 64). */
typedef struct quant__bhead {
    float c0;    /* sum q[d] * mean[d] */
    float wsum;  /* sum w[d], w[d] = q[d] * mad[d] */
    float wlo;   /* w[d] ~ wlo + wstep * u[d], u in 0..15 */
    float wstep; /* 4-bit step of w */
    float qn2;   /* |q|^2 */
} quant__bhead;

/* ==== Kernels ==== */

int32_t quant_kern_dot_u8s8_avx512(const uint8_t *a, const int8_t *b, size_t n);
uint32_t quant_kern_hamming_avx512(const uint64_t *a, const uint64_t *b, size_t n_words);
uint32_t quant_kern_planes_dot_avx512(const uint64_t *code, const uint64_t *planes, size_t n_words);

static int32_t quant__dot_u8s8(const uint8_t *a, const int8_t *b, size_t n) {
    int32_t s = 0;
    for (size_t i = 0; i < n; i++) s += (int32_t)a[i] * (int32_t)b[i];
    return s;
}

static uint32_t quant__hamming(const uint64_t *a, const uint64_t *b, size_t n_words) {
    uint32_t s = 0;
    for (size_t i = 0; i < n_words; i++) s += (uint32_t)__builtin_popcountll(a[i] ^ b[i]);
    return s;
}

static uint32_t quant__planes_dot(const uint64_t *code, const uint64_t *planes, size_t n_words) {
    uint32_t s = 0;
    for (uint32_t j = 0; j < QUANT_QUERY_BITS; j++)
        for (size_t i = 0; i < n_words; i++)
            s += (uint32_t)__builtin_popcountll(code[i] & planes[j * n_words + i]) << j;
    return s;
}

static const quant_kernels quant__k_scalar = {"scalar", quant__dot_u8s8, quant__hamming,
                                              quant__planes_dot};
static const quant_kernels quant__k_avx512 = {"avx512", quant_kern_dot_u8s8_avx512,
                                              quant_kern_hamming_avx512,
                                              quant_kern_planes_dot_avx512};

const quant_kernels *quant_kernels_scalar(void) {
    return &quant__k_scalar;
}

const quant_kernels *quant_kernels_avx512(void) {
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
        __builtin_cpu_supports("avx512vnni") && __builtin_cpu_supports("avx512vpopcntdq"))
        return &quant__k_avx512;
    return NULL;
}

const quant_kernels *quant_kernels_best(void) {
    const char *e = getenv("SEMCODE_ISA");
    if (e && (strcmp(e, "scalar") == 0 || strcmp(e, "avx2") == 0)) return &quant__k_scalar;
    const quant_kernels *k = quant_kernels_avx512();
    return k ? k : &quant__k_scalar;
}

/* ==== Sizes ==== */

static size_t quant__code_size(quant_mode mode, uint32_t dim) {
    switch (mode) {
    case QUANT_MODE_INT8: return (((size_t)dim + 3) & ~(size_t)3) + 4;
    case QUANT_MODE_BINARY: return (((size_t)dim + 63) / 64) * 8 + 8;
    case QUANT_MODE_NONE: return 0;
    }
    return 0;
}

size_t quant_bytes_per_vector(quant_mode mode, uint32_t dim) {
    return mode == QUANT_MODE_NONE ? (size_t)dim * 4 : quant__code_size(mode, dim);
}

quant_params quant_params_default(quant_mode mode) {
    quant_params p = {mode, QUANT_RANGE_PER_DIM, 0.999f, 20000};
    return p;
}

quant_mode quant_get_mode(const quant *q) {
    return q->mode;
}

size_t quant_code_size(const quant *q) {
    return q->code_size;
}

size_t quant_query_size(const quant *q) {
    if (q->mode == QUANT_MODE_BINARY) return 64 + (QUANT_QUERY_BITS + 1) * q->n_words * 8;
    return q->qf_off + (size_t)q->dim * sizeof(float);
}

/* ==== Training ==== */

static int quant__fcmp(const void *a, const void *b) {
    float x = *(const float *)a, y = *(const float *)b;
    return (x > y) - (x < y);
}

/* [lo, hi] holding the central `quantile` of v (sorted in place). */
static void quant__range(float *v, size_t n, float quantile, float *lo, float *hi) {
    qsort(v, n, sizeof *v, quant__fcmp);
    double tail = (1.0 - (double)quantile) / 2.0;
    size_t il = (size_t)floor(tail * (double)(n - 1));
    size_t ih = (size_t)ceil((1.0 - tail) * (double)(n - 1));
    if (ih >= n) ih = n - 1;
    *lo = v[il];
    *hi = v[ih];
    if (!(*hi > *lo)) *hi = *lo + 1e-6f;
}

static sc_status quant__alloc(quant *q, sc_err *err) {
    q->code_size = quant__code_size(q->mode, q->dim);
    q->n_words = ((size_t)q->dim + 63) / 64;
    q->qq_off = 64;
    q->qf_off = q->qq_off + (((size_t)q->dim + 63) & ~(size_t)63);
    q->k = quant_kernels_best();
    q->lo = calloc(q->dim, sizeof(float));
    q->scale = calloc(q->dim, sizeof(float));
    if (!q->lo || !q->scale)
        return sc_err_set(err, SC_NOMEM, "quant: out of memory");
    return SC_OK;
}

sc_status quant_train(const quant_params *qp, index_metric metric, uint32_t dim,
                      const float *const *vecs, size_t n, quant **out, sc_err *err) {
    if (!qp || !vecs || !out) return sc_err_set(err, SC_MISUSE, "quant_train: NULL argument");
    if (qp->mode != QUANT_MODE_INT8 && qp->mode != QUANT_MODE_BINARY)
        return sc_err_set(err, SC_INVALID, "quant: mode %d is not INT8 or BINARY", (int)qp->mode);
    if (qp->mode == QUANT_MODE_INT8 && !(qp->quantile > 0.5f && qp->quantile <= 1.0f))
        return sc_err_set(err, SC_INVALID, "quant: quantile %g is outside (0.5, 1]", (double)qp->quantile);
    if (n == 0 || dim == 0) return sc_err_set(err, SC_INVALID, "quant: no training data (n=%zu, dim=%u)", n, dim);
    quant *q = calloc(1, sizeof *q);
    if (!q) return sc_err_set(err, SC_NOMEM, "quant: out of memory");
    q->mode = qp->mode;
    q->range = qp->range;
    q->quantile = qp->quantile;
    q->metric = metric;
    q->dim = dim;
    sc_status rc = quant__alloc(q, err);
    if (rc != SC_OK) {
        quant_free(q);
        return rc;
    }
    if (q->mode == QUANT_MODE_BINARY) {
        for (size_t i = 0; i < n; i++)
            for (uint32_t d = 0; d < dim; d++) q->lo[d] += vecs[i][d];
        for (uint32_t d = 0; d < dim; d++) q->lo[d] /= (float)n;
        for (size_t i = 0; i < n; i++)
            for (uint32_t d = 0; d < dim; d++) q->scale[d] += fabsf(vecs[i][d] - q->lo[d]);
        for (uint32_t d = 0; d < dim; d++) q->scale[d] /= (float)n;
    } else if (q->range == QUANT_RANGE_GLOBAL) {
        float *v = malloc(n * dim * sizeof *v);
        if (!v) {
            quant_free(q);
            return sc_err_set(err, SC_NOMEM, "quant: out of memory");
        }
        for (size_t i = 0; i < n; i++) memcpy(v + i * dim, vecs[i], dim * sizeof *v);
        float lo, hi;
        quant__range(v, n * dim, q->quantile, &lo, &hi);
        free(v);
        for (uint32_t d = 0; d < dim; d++) {
            q->lo[d] = lo;
            q->scale[d] = (hi - lo) / 255.0f;
        }
    } else {
        float *v = malloc(n * sizeof *v);
        if (!v) {
            quant_free(q);
            return sc_err_set(err, SC_NOMEM, "quant: out of memory");
        }
        for (uint32_t d = 0; d < dim; d++) {
            for (size_t i = 0; i < n; i++) v[i] = vecs[i][d];
            float lo, hi;
            quant__range(v, n, q->quantile, &lo, &hi);
            q->lo[d] = lo;
            q->scale[d] = (hi - lo) / 255.0f;
        }
        free(v);
    }
    *out = q;
    return SC_OK;
}

void quant_free(quant *q) {
    if (!q) return;
    free(q->lo);
    free(q->scale);
    free(q);
}

/* ==== Encoding and scoring ==== */

void quant_encode(const quant *q, const float *vec, uint8_t *code) {
    memset(code, 0, q->code_size);
    if (q->mode == QUANT_MODE_BINARY) {
        uint64_t *w = (uint64_t *)(void *)code;
        uint32_t pc = 0;
        float n2 = 0.0f;
        for (uint32_t d = 0; d < q->dim; d++) {
            n2 += vec[d] * vec[d];
            if (vec[d] > q->lo[d]) {
                w[d / 64] |= (uint64_t)1 << (d % 64);
                pc++;
            }
        }
        memcpy(code + q->n_words * 8, &pc, 4);
        memcpy(code + q->n_words * 8 + 4, &n2, 4);
        return;
    }
    float n2 = 0.0f;
    for (uint32_t d = 0; d < q->dim; d++) {
        float c = roundf((vec[d] - q->lo[d]) / q->scale[d]);
        c = c < 0.0f ? 0.0f : c > 255.0f ? 255.0f : c;
        code[d] = (uint8_t)c;
        float x = q->lo[d] + q->scale[d] * c;
        n2 += x * x;
    }
    memcpy(code + q->code_size - 4, &n2, sizeof n2);
}

void quant_query_prepare(const quant *q, const float *query, void *buf) {
    uint8_t *b = buf;
    if (q->mode == QUANT_MODE_BINARY) {
        size_t nw = q->n_words;
        memset(b, 0, quant_query_size(q));
        quant__bhead bh = {0};
        float wlo = INFINITY, whi = -INFINITY;
        for (uint32_t d = 0; d < q->dim; d++) {
            float w = query[d] * q->scale[d];
            bh.c0 += query[d] * q->lo[d];
            bh.wsum += w;
            bh.qn2 += query[d] * query[d];
            wlo = w < wlo ? w : wlo;
            whi = w > whi ? w : whi;
        }
        bh.wlo = wlo;
        bh.wstep = whi > wlo ? (whi - wlo) / 15.0f : 1.0f;
        uint64_t *planes = (uint64_t *)(void *)(b + 64), *sign = planes + QUANT_QUERY_BITS * nw;
        for (uint32_t d = 0; d < q->dim; d++) {
            uint32_t u = (uint32_t)lrintf((query[d] * q->scale[d] - wlo) / bh.wstep);
            u = u > 15 ? 15 : u;
            for (uint32_t j = 0; j < QUANT_QUERY_BITS; j++)
                if (u >> j & 1u) planes[j * nw + d / 64] |= (uint64_t)1 << (d % 64);
            if (query[d] > q->lo[d]) sign[d / 64] |= (uint64_t)1 << (d % 64);
        }
        memcpy(b, &bh, sizeof bh);
        return;
    }
    quant__qhead h = {0};
    float amax = 0.0f;
    for (uint32_t d = 0; d < q->dim; d++) {
        float qs = query[d] * q->scale[d];
        amax = fabsf(qs) > amax ? fabsf(qs) : amax;
        h.c0 += query[d] * q->lo[d];
        h.qn2 += query[d] * query[d];
    }
    h.t = amax > 0.0f ? amax / 127.0f : 1.0f;
    int8_t *qq = (int8_t *)(b + q->qq_off);
    memset(qq, 0, q->qf_off - q->qq_off);
    for (uint32_t d = 0; d < q->dim; d++) qq[d] = (int8_t)lrintf(query[d] * q->scale[d] / h.t);
    memcpy(b, &h, sizeof h);
    memcpy(b + q->qf_off, query, (size_t)q->dim * sizeof(float));
}

float quant_distance(const quant *q, const void *qbuf, const uint8_t *code) {
    const uint8_t *b = qbuf;
    if (q->mode == QUANT_MODE_BINARY) {
        const uint64_t *planes = (const uint64_t *)(const void *)(b + 64);
        const uint64_t *bits = (const uint64_t *)(const void *)code;
        if (q->metric == INDEX_METRIC_L1)
            return (float)q->k->hamming(planes + QUANT_QUERY_BITS * q->n_words, bits, q->n_words);
        quant__bhead bh;
        memcpy(&bh, b, sizeof bh);
        uint32_t pc;
        memcpy(&pc, code + q->n_words * 8, 4);
        float sb = bh.wlo * (float)pc + bh.wstep * (float)q->k->planes_dot(bits, planes, q->n_words);
        float dot = bh.c0 + 2.0f * sb - bh.wsum;
        if (q->metric == INDEX_METRIC_DOT) return -dot;
        float xn2;
        memcpy(&xn2, code + q->n_words * 8 + 4, 4);
        return bh.qn2 - 2.0f * dot + xn2;
    }
    quant__qhead h;
    memcpy(&h, b, sizeof h);
    if (q->metric == INDEX_METRIC_L1) {
        const float *qf = (const float *)(const void *)(b + q->qf_off);
        float s = 0.0f;
        for (uint32_t d = 0; d < q->dim; d++) s += fabsf(qf[d] - (q->lo[d] + q->scale[d] * (float)code[d]));
        return s;
    }
    int32_t ip = q->k->dot_u8s8(code, (const int8_t *)(b + q->qq_off), q->dim);
    float dot = h.c0 + h.t * (float)ip;
    if (q->metric == INDEX_METRIC_DOT) return -dot;
    float xn2;
    memcpy(&xn2, code + q->code_size - 4, sizeof xn2);
    return h.qn2 - 2.0f * dot + xn2;
}

/* ==== Serialization ==== */

static size_t quant__n_arrays(quant_mode mode) {
    (void)mode;
    return 2;
}

size_t quant_serial_size(const quant *q) {
    return 32 + quant__n_arrays(q->mode) * q->dim * sizeof(float) + 8;
}

void quant_serialize(const quant *q, uint8_t *buf) {
    uint32_t h[5] = {QUANT_VERSION, (uint32_t)q->mode, (uint32_t)q->range, (uint32_t)q->metric, q->dim};
    memcpy(buf, QUANT_MAGIC, 8);
    memcpy(buf + 8, h, sizeof h);
    memcpy(buf + 28, &q->quantile, 4);
    size_t off = 32;
    memcpy(buf + off, q->lo, q->dim * sizeof(float));
    off += q->dim * sizeof(float);
    memcpy(buf + off, q->scale, q->dim * sizeof(float));
    off += q->dim * sizeof(float);
    uint64_t sum = util_hash64_v1(buf, off, 0);
    memcpy(buf + off, &sum, 8);
}

sc_status quant_deserialize(const uint8_t *buf, size_t size, uint64_t base_offset, quant **out,
                            sc_err *err) {
    if (size < 40 || memcmp(buf, QUANT_MAGIC, 8) != 0)
        return sc_err_set(err, SC_CORRUPT, "quant: bad magic or size %zu at offset %llu", size,
                          (unsigned long long)base_offset);
    uint32_t h[5];
    memcpy(h, buf + 8, sizeof h);
    if (h[0] != QUANT_VERSION)
        return sc_err_set(err, SC_UNSUPPORTED, "quant: version %u at offset %llu is not %u", h[0],
                          (unsigned long long)(base_offset + 8), QUANT_VERSION);
    if ((h[1] != QUANT_MODE_INT8 && h[1] != QUANT_MODE_BINARY) || h[2] > 1 || h[3] > 2 ||
        h[4] == 0 || h[4] > 65535)
        return sc_err_set(err, SC_CORRUPT, "quant: bad parameters at offset %llu",
                          (unsigned long long)(base_offset + 12));
    size_t want = 32 + quant__n_arrays((quant_mode)h[1]) * h[4] * sizeof(float) + 8;
    if (size != want)
        return sc_err_set(err, SC_CORRUPT, "quant: size %zu at offset %llu, expected %zu", size,
                          (unsigned long long)base_offset, want);
    uint64_t sum;
    memcpy(&sum, buf + want - 8, 8);
    if (sum != util_hash64_v1(buf, want - 8, 0))
        return sc_err_set(err, SC_CORRUPT, "quant: checksum mismatch at offset %llu",
                          (unsigned long long)(base_offset + want - 8));
    quant *q = calloc(1, sizeof *q);
    if (!q) return sc_err_set(err, SC_NOMEM, "quant: out of memory");
    q->mode = (quant_mode)h[1];
    q->range = (quant_range)h[2];
    q->metric = (index_metric)h[3];
    q->dim = h[4];
    memcpy(&q->quantile, buf + 28, 4);
    sc_status rc = quant__alloc(q, err);
    if (rc != SC_OK) {
        quant_free(q);
        return rc;
    }
    memcpy(q->lo, buf + 32, q->dim * sizeof(float));
    memcpy(q->scale, buf + 32 + q->dim * sizeof(float), q->dim * sizeof(float));
    *out = q;
    return SC_OK;
}
