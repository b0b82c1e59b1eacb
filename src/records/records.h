/*
** records: what other modules of the library get of development records
** beyond the public API (include/semcode/records.h): the records of a
** store backend (src/backend/), so a repository whose code points are in
** Qdrant keeps its records there too (sc_repo_records_open).
*/
#ifndef SC_RECORDS_H
#define SC_RECORDS_H

#include "backend/backend.h"
#include "semcode/records.h"

/* The records of opt->tenant kept through be, which the handle owns from
** now on (sc_records_close frees it; on failure it is freed here): the
** companion collection "<be's collection>_records" holds every tenant's
** records, told apart by their tenant field (a tenant index; every read is
** filtered by it). Otherwise as sc_records_open. */
sc_status records_open_backend(backend *be, sc_embedder *emb, const sc_records_options *opt, sc_records **out,
                               char **errmsg);

#endif /* SC_RECORDS_H */
