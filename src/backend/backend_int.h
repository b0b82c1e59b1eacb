/*
** backend: the private side of the interface. A backend is a table of
** operations (backend_ops) and its state; backend.c dispatches to it, so
** adding a backend is one more table. Only the files of src/backend/ include this.
*/
#ifndef SC_BACKEND_INT_H
#define SC_BACKEND_INT_H

#include "backend/backend.h"

/* The operations of one kind of backend; every one records its failure with backend_fail. */
typedef struct backend_ops {
    void (*destroy)(backend *b);
    sc_status (*clone)(const backend *b, backend **out, sc_err *err); /* a new handle on the same store */
    sc_status (*health)(backend *b, char **info);
    sc_status (*coll_create)(backend *b, const char *name, const backend_collection_params *p);
    bool (*coll_exists)(backend *b, const char *name);
    sc_status (*coll_delete)(backend *b, const char *name);
    sc_status (*coll_list)(backend *b, char ***out, size_t *n_out);
    sc_status (*coll_info)(backend *b, const char *name, backend_collection_info *out);
    sc_status (*coll_optimize)(backend *b, const char *name);
    sc_status (*upsert)(backend *b, const char *coll, const sc_point_in *pts, size_t n);
    sc_status (*del)(backend *b, const char *coll, const sc_point_id *ids, size_t n);
    sc_status (*del_filter)(backend *b, const char *coll, const char *filter_json);
    sc_status (*get)(backend *b, const char *coll, const sc_point_id *ids, size_t n, const sc_with *with,
                     sc_record_list **out);
    sc_status (*scroll)(backend *b, const char *coll, const sc_scroll_request *req, sc_record_list **out,
                        sc_point_id *next, bool *has_next);
    sc_status (*count)(backend *b, const char *coll, const char *filter_json, uint64_t *out);
    sc_status (*search)(backend *b, const char *coll, const sc_search_request *req, sc_record_list **out);
    /* NULL when the backend has no hybrid of its own: backend.c fuses the two legs */
    sc_status (*hybrid)(backend *b, const char *coll, const sc_search_request *dense, const char *text,
                        uint32_t prefetch, sc_record_list **out);
} backend_ops;

struct backend {
    const backend_ops *ops;   /* what this kind does */
    const backend_caps *caps; /* what it can do */
    char location[512];       /* folder or qdrant://host:port/collection */
    const char *collection;   /* the collection the location names (points into impl), NULL = none */
    backend_stats stats;      /* requests and bytes (qdrant) */
    char errmsg[1024];        /* last failure */
    void *impl;               /* the kind's own state */
};

/* Record a failure on b and return code. */
sc_status backend_fail(backend *b, sc_status code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* A record list of n zeroed records (sc_record_list_free frees it), NULL when out of memory. */
sc_record_list *backend_records_new(size_t n);

#endif /* SC_BACKEND_INT_H */
