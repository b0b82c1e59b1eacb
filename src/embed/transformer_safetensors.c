/*
** embed/transformer_safetensors: parser of the safetensors format and
** conversion of its f32 / f16 / bf16 tensors to f32.
**
** DESIGN (the format, as read here)
**   u64 little-endian N | N bytes of JSON header | data section
** The header is an object: "__metadata__" (object of strings, ignored) and
** one entry per tensor {"dtype": "F32", "shape": [d0, d1, …],
** "data_offsets": [begin, end]} with offsets relative to the data section.
** Everything in the file is untrusted: N must fit in the file and be at
** most 100 MB, the JSON must parse (duplicate keys rejected), each tensor's
** offsets must satisfy begin <= end <= size of the data section, and
** end - begin must equal the product of the shape times the element size
** (computed with overflow checks). Tensors may overlap or leave gaps; that
** is harmless for a reader. A dtype other than F32/F16/BF16 is listed but
** cannot be converted.
*/
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "embed/transformer_int.h"

#define TRANSFORMER_ST_MAX_HEADER (100u * 1024u * 1024u)

/* ==== Parsing ==== */

static int transformer__dtype_size(const char *s, transformer_dtype *dt) {
    static const struct {
        const char *name;      /* dtype string of the format */
        int size;              /* bytes per element */
        transformer_dtype dt;  /* decoded */
    } tab[] = {
        {"F32", 4, TRANSFORMER_DTYPE_F32},   {"F16", 2, TRANSFORMER_DTYPE_F16},
        {"BF16", 2, TRANSFORMER_DTYPE_BF16}, {"F64", 8, TRANSFORMER_DTYPE_OTHER},
        {"I64", 8, TRANSFORMER_DTYPE_OTHER}, {"U64", 8, TRANSFORMER_DTYPE_OTHER},
        {"I32", 4, TRANSFORMER_DTYPE_OTHER}, {"U32", 4, TRANSFORMER_DTYPE_OTHER},
        {"I16", 2, TRANSFORMER_DTYPE_OTHER}, {"U16", 2, TRANSFORMER_DTYPE_OTHER},
        {"I8", 1, TRANSFORMER_DTYPE_OTHER},  {"U8", 1, TRANSFORMER_DTYPE_OTHER},
        {"BOOL", 1, TRANSFORMER_DTYPE_OTHER}, {"F8_E4M3", 1, TRANSFORMER_DTYPE_OTHER},
        {"F8_E5M2", 1, TRANSFORMER_DTYPE_OTHER},
    };
    for (size_t i = 0; i < sizeof tab / sizeof tab[0]; i++)
        if (!strcmp(s, tab[i].name)) {
            *dt = tab[i].dt;
            return tab[i].size;
        }
    return 0;
}

static sc_status transformer__st_entry(const char *key, json_t *v, uint64_t data_size, const char *path,
                                       transformer_st_tensor *t, sc_err *err) {
    if (!json_is_object(v))
        return sc_err_set(err, SC_CORRUPT, "%s: header entry '%s' is not an object", path, key);
    json_t *dt = json_object_get(v, "dtype"), *shape = json_object_get(v, "shape"),
           *offs = json_object_get(v, "data_offsets");
    if (!json_is_string(dt))
        return sc_err_set(err, SC_CORRUPT, "%s: tensor '%s' has no dtype string", path, key);
    int esize = transformer__dtype_size(json_string_value(dt), &t->dtype);
    if (!esize)
        return sc_err_set(err, SC_CORRUPT, "%s: tensor '%s' has unknown dtype '%.16s'", path, key,
                          json_string_value(dt));
    snprintf(t->dtype_name, sizeof t->dtype_name, "%s", json_string_value(dt));
    if (!json_is_array(shape) || json_array_size(shape) > TRANSFORMER_ST_MAX_DIMS)
        return sc_err_set(err, SC_CORRUPT, "%s: tensor '%s' has no shape array of at most %d dims", path,
                          key, TRANSFORMER_ST_MAX_DIMS);
    t->n_dims = (uint32_t)json_array_size(shape);
    uint64_t n = 1;
    for (uint32_t i = 0; i < t->n_dims; i++) {
        json_t *d = json_array_get(shape, i);
        if (!json_is_integer(d) || json_integer_value(d) < 0)
            return sc_err_set(err, SC_CORRUPT, "%s: tensor '%s' shape[%u] is not a non-negative integer",
                              path, key, i);
        uint64_t di = (uint64_t)json_integer_value(d);
        t->shape[i] = di;
        if (di && n > UINT64_MAX / di)
            return sc_err_set(err, SC_CORRUPT, "%s: tensor '%s' shape overflows", path, key);
        n *= di;
    }
    t->n_elems = n;
    if (!json_is_array(offs) || json_array_size(offs) != 2 || !json_is_integer(json_array_get(offs, 0)) ||
        !json_is_integer(json_array_get(offs, 1)))
        return sc_err_set(err, SC_CORRUPT, "%s: tensor '%s' has no data_offsets [begin, end]", path, key);
    json_int_t b = json_integer_value(json_array_get(offs, 0)), e = json_integer_value(json_array_get(offs, 1));
    if (b < 0 || e < b)
        return sc_err_set(err, SC_CORRUPT, "%s: tensor '%s' has bad data_offsets [%lld, %lld]", path, key,
                          (long long)b, (long long)e);
    if ((uint64_t)e > data_size)
        return sc_err_set(err, SC_CORRUPT,
                          "%s: tensor '%s' ends at data byte %lld but the data section has %llu bytes "
                          "(truncated file?)",
                          path, key, (long long)e, (unsigned long long)data_size);
    if (n > UINT64_MAX / (uint64_t)esize || n * (uint64_t)esize != (uint64_t)(e - b))
        return sc_err_set(err, SC_CORRUPT, "%s: tensor '%s' has %llu bytes for %llu elements of %s", path, key,
                          (unsigned long long)(e - b), (unsigned long long)n, t->dtype_name);
    t->begin = (uint64_t)b;
    t->end = (uint64_t)e;
    return SC_OK;
}

sc_status transformer_st_parse(const uint8_t *buf, size_t size, const char *path, transformer_st *out,
                               sc_err *err) {
    memset(out, 0, sizeof *out);
    if (size < 8)
        return sc_err_set(err, SC_CORRUPT, "%s: %zu bytes, too short for a safetensors header", path, size);
    uint64_t hsize = 0;
    for (int i = 7; i >= 0; i--) hsize = (hsize << 8) | buf[i];
    if (hsize > TRANSFORMER_ST_MAX_HEADER || hsize > size - 8)
        return sc_err_set(err, SC_CORRUPT, "%s: header size %llu does not fit in the %zu-byte file (truncated?)",
                          path, (unsigned long long)hsize, size);
    json_error_t jerr;
    json_t *root = json_loadb((const char *)buf + 8, (size_t)hsize, JSON_REJECT_DUPLICATES, &jerr);
    if (!root) return sc_err_set(err, SC_CORRUPT, "%s: header JSON: %s at byte %d", path, jerr.text, jerr.position + 8);
    if (!json_is_object(root)) {
        json_decref(root);
        return sc_err_set(err, SC_CORRUPT, "%s: header is not a JSON object", path);
    }
    uint64_t data_size = size - 8 - hsize;
    size_t cap = json_object_size(root);
    out->tensors = calloc(cap ? cap : 1, sizeof *out->tensors);
    if (!out->tensors) {
        json_decref(root);
        return sc_err_set(err, SC_NOMEM, "%s: out of memory for %zu tensors", path, cap);
    }
    sc_status rc = SC_OK;
    const char *key;
    json_t *v;
    json_object_foreach(root, key, v) {
        if (!strcmp(key, "__metadata__")) {
            if (!json_is_object(v)) {
                rc = sc_err_set(err, SC_CORRUPT, "%s: __metadata__ is not an object", path);
                break;
            }
            continue;
        }
        transformer_st_tensor *t = &out->tensors[out->n_tensors];
        rc = transformer__st_entry(key, v, data_size, path, t, err);
        if (rc != SC_OK) break;
        t->name = util_strdup(key);
        if (!t->name) {
            rc = sc_err_set(err, SC_NOMEM, "%s: out of memory", path);
            break;
        }
        out->n_tensors++;
    }
    json_decref(root);
    if (rc != SC_OK) {
        transformer_st_free(out);
        return rc;
    }
    out->data = buf + 8 + hsize;
    out->data_size = data_size;
    return SC_OK;
}

void transformer_st_free(transformer_st *st) {
    if (!st) return;
    for (size_t i = 0; i < st->n_tensors; i++) free(st->tensors[i].name);
    free(st->tensors);
    memset(st, 0, sizeof *st);
}

const transformer_st_tensor *transformer_st_find(const transformer_st *st, const char *name) {
    for (size_t i = 0; i < st->n_tensors; i++)
        if (!strcmp(st->tensors[i].name, name)) return &st->tensors[i];
    return NULL;
}

/* ==== Conversion ==== */

static float transformer__f16_to_f32(uint16_t h) {
    uint32_t sign = (uint32_t)(h & 0x8000u) << 16, exp = (h >> 10) & 0x1fu, man = h & 0x3ffu, bits;
    if (exp == 0) {
        if (man == 0) {
            bits = sign;
        } else { /* subnormal: renormalise */
            int e = -1;
            do {
                e++;
                man <<= 1;
            } while (!(man & 0x400u));
            bits = sign | ((uint32_t)(127 - 15 - e) << 23) | ((man & 0x3ffu) << 13);
        }
    } else if (exp == 31) {
        bits = sign | 0x7f800000u | (man << 13);
    } else {
        bits = sign | ((exp + 127 - 15) << 23) | (man << 13);
    }
    float f;
    memcpy(&f, &bits, 4);
    return f;
}

sc_status transformer_st_to_f32(const transformer_st *st, const transformer_st_tensor *t, float *dst,
                                const char *path, sc_err *err) {
    const uint8_t *p = st->data + t->begin;
    switch (t->dtype) {
    case TRANSFORMER_DTYPE_F32:
        memcpy(dst, p, (size_t)t->n_elems * 4);
        return SC_OK;
    case TRANSFORMER_DTYPE_F16:
        for (uint64_t i = 0; i < t->n_elems; i++) {
            uint16_t h = (uint16_t)(p[2 * i] | (p[2 * i + 1] << 8));
            dst[i] = transformer__f16_to_f32(h);
        }
        return SC_OK;
    case TRANSFORMER_DTYPE_BF16:
        for (uint64_t i = 0; i < t->n_elems; i++) {
            uint32_t bits = (uint32_t)(p[2 * i] | (p[2 * i + 1] << 8)) << 16;
            memcpy(&dst[i], &bits, 4);
        }
        return SC_OK;
    case TRANSFORMER_DTYPE_OTHER: break;
    }
    return sc_err_set(err, SC_INVALID, "%s: tensor '%s' has dtype %s; only F32, F16 and BF16 are supported",
                      path, t->name, t->dtype_name);
}
