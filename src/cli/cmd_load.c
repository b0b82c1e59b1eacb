/*
** cli/cmd_load.c: `semcode load`, the bulk path into a store (issue 18):
** points as JSON Lines (a file or standard input) upserted in batches,
** one batch in memory at a time, with background indexing, so the load
** runs at the pace of parsing and commits while the HNSW graph catches up
** on the other core; at the end it waits for the graph (unless --no-wait)
** and says how long each part took.
**
** A line is a Qdrant point: {"id": 7 | "uuid", "vector": [..] | {"name":
** [..], ..}, "payload": {..}}. Blank lines are skipped. A bad line stops
** the load with its line number; the batches before it are stored.
*/
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli.h"

/* ==== One batch ==== */

/* The points of one batch and the memory they borrow from. */
typedef struct cli__batch {
    sc_point_in *pts;   /* n points */
    sc_vector_in *vin;  /* their vectors, vpp per point */
    float *data;        /* the vector values */
    char **payloads;    /* n payload texts (owned) */
    char **names;       /* vector names (owned), vpp per point */
    size_t n;           /* points held */
    size_t cap;         /* points it has room for */
    size_t vpp;         /* vectors per point it has room for */
    size_t n_data;      /* floats used in data */
    size_t data_cap;    /* floats data has room for */
} cli__batch;

static void cli__batch_clear(cli__batch *b) {
    for (size_t i = 0; i < b->n; i++) free(b->payloads[i]);
    for (size_t i = 0; i < b->n * b->vpp; i++) {
        free(b->names[i]);
        b->names[i] = NULL;
    }
    b->n = 0;
    b->n_data = 0;
}

static void cli__batch_free(cli__batch *b) {
    cli__batch_clear(b);
    free(b->pts);
    free(b->vin);
    free(b->data);
    free(b->payloads);
    free(b->names);
}

/* Append one float array to the batch's data: its offset, or -1 when the
** value is not an array of numbers. */
static long cli__batch_floats(cli__batch *b, const json_t *arr) {
    if (!json_is_array(arr) || !json_array_size(arr)) return -1;
    size_t n = json_array_size(arr);
    if (b->n_data + n > b->data_cap) {
        size_t cap = (b->n_data + n) * 2;
        float *d = realloc(b->data, cap * sizeof *d);
        if (!d) return -1;
        b->data = d;
        b->data_cap = cap;
    }
    for (size_t i = 0; i < n; i++) {
        const json_t *x = json_array_get(arr, i);
        if (!json_is_number(x)) return -1;
        b->data[b->n_data + i] = (float)json_number_value(x);
    }
    long off = (long)b->n_data;
    b->n_data += n;
    return off;
}

/* Parse line (number lineno) into the next point of b: 0, or 1 after a
** message naming the line and the field. */
static int cli__batch_add(cli__batch *b, const char *line, size_t lineno) {
    json_error_t je;
    json_t *o = json_loads(line, 0, &je);
    if (!json_is_object(o)) {
        fprintf(stderr, "semcode load: line %zu: not a JSON object (%s)\n", lineno, o ? "other value" : je.text);
        json_decref(o);
        return 1;
    }
    sc_point_in *p = &b->pts[b->n];
    memset(p, 0, sizeof *p);
    const json_t *id = json_object_get(o, "id"), *vec = json_object_get(o, "vector");
    const json_t *pl = json_object_get(o, "payload");
    int bad = 0;
    if (json_is_integer(id) && json_integer_value(id) >= 0) {
        p->id = sc_point_id_num((uint64_t)json_integer_value(id));
    } else if (!json_is_string(id) || sc_point_id_parse_uuid(json_string_value(id), &p->id) != SC_OK) {
        fprintf(stderr, "semcode load: line %zu: \"id\" must be an unsigned integer or a UUID\n", lineno);
        bad = 1;
    }
    size_t nv = json_is_object(vec) ? json_object_size(vec) : 1;
    if (!bad && ((!json_is_object(vec) && !json_is_array(vec)) || nv == 0 || nv > b->vpp)) {
        fprintf(stderr, "semcode load: line %zu: \"vector\" must be an array of numbers or an object of 1 to %zu "
                "named arrays\n", lineno, b->vpp);
        bad = 1;
    }
    long offs[8];
    const char *names[8];
    size_t k = 0;
    if (!bad && json_is_object(vec)) {
        const char *name;
        json_t *v;
        json_object_foreach((json_t *)vec, name, v) {
            names[k] = name;
            offs[k++] = cli__batch_floats(b, v);
        }
    } else if (!bad) {
        names[0] = "";
        offs[k++] = cli__batch_floats(b, vec);
    }
    for (size_t i = 0; !bad && i < k; i++)
        if (offs[i] < 0) {
            fprintf(stderr, "semcode load: line %zu: vector '%s' is not a non-empty array of numbers\n", lineno,
                    names[i]);
            bad = 1;
        }
    if (!bad && pl && !json_is_object(pl)) {
        fprintf(stderr, "semcode load: line %zu: \"payload\" must be an object\n", lineno);
        bad = 1;
    }
    char *text = NULL;
    if (!bad && pl && !(text = json_dumps(pl, JSON_COMPACT))) bad = 1;
    if (bad) {
        json_decref(o);
        return 1;
    }
    /* Offsets into data, which may still move: pointers are set at flush. */
    sc_vector_in *vi = &b->vin[b->n * b->vpp];
    for (size_t i = 0; i < k; i++) {
        b->names[b->n * b->vpp + i] = strdup(names[i]);
        size_t dim = json_array_size(json_is_object(vec) ? json_object_get(vec, names[i]) : vec);
        vi[i] = (sc_vector_in){b->names[b->n * b->vpp + i], (const float *)(uintptr_t)offs[i], (uint32_t)dim};
    }
    p->vectors = vi;
    p->n_vectors = k;
    b->payloads[b->n] = text;
    p->payload_json = text;
    b->n++;
    json_decref(o);
    return 0;
}

/* Upsert the batch (turning data offsets into pointers): 0, or 1 after a message. */
static int cli__batch_flush(sc_db *db, const char *coll, cli__batch *b) {
    if (!b->n) return 0;
    for (size_t i = 0; i < b->n; i++)
        for (size_t k = 0; k < b->pts[i].n_vectors; k++)
            b->vin[i * b->vpp + k].data = b->data + (uintptr_t)b->vin[i * b->vpp + k].data;
    sc_status rc = sc_points_upsert(db, coll, b->pts, b->n);
    if (rc != SC_OK) fprintf(stderr, "semcode load: %s\n", sc_db_errmsg(db));
    cli__batch_clear(b);
    return rc == SC_OK ? 0 : 1;
}

/* ==== The command ==== */

static void cli__load_usage(FILE *f) {
    fprintf(f,
            "usage: semcode load [--store DIR] --collection NAME [--batch N] [--create DIM] [--distance D]\n"
            "                    [--no-wait] FILE.jsonl|-\n\n"
            "Upserts points given as JSON Lines, one Qdrant point per line:\n"
            "  {\"id\": 7, \"vector\": [0.1, ...], \"payload\": {\"k\": \"v\"}}\n"
            "(\"id\" an unsigned integer or a UUID; \"vector\" an array, or an object of named\n"
            "arrays), from FILE or standard input (-), in batches of N points (default 256),\n"
            "one batch in memory at a time. Every batch is durable when the next is read.\n"
            "The HNSW graph is built in the background while loading; at the end the command\n"
            "waits for it (--no-wait: the next open of the store resumes it).\n"
            "  --store DIR      the store (default ./semcode-store)\n"
            "  --create DIM     create the collection with one unnamed vector of DIM floats when\n"
            "                   it does not exist (distance --distance, default Cosine)\n");
}

static double cli__load_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* Vectors still waiting for the graph in coll (0 on error). */
static uint64_t cli__load_pending(sc_db *db, const char *coll) {
    sc_collection_info info;
    if (sc_collection_info_get(db, coll, &info) != SC_OK) return 0;
    uint64_t n = 0;
    for (size_t i = 0; i < info.n_vector_params; i++) n += info.vector_index[i].n_pending;
    sc_collection_info_free(&info);
    return n;
}

int cli_cmd_load(int argc, char **argv) {
    const char *dir = "semcode-store", *coll = NULL, *dist = "Cosine";
    uint32_t batch = 256, create_dim = 0;
    bool wait = true;
    static const struct option opts[] = {
        {"store", required_argument, NULL, 's'},  {"collection", required_argument, NULL, 'c'},
        {"batch", required_argument, NULL, 'b'},  {"create", required_argument, NULL, 'C'},
        {"distance", required_argument, NULL, 'd'}, {"no-wait", no_argument, NULL, 'W'},
        {"help", no_argument, NULL, 'h'},         {NULL, 0, NULL, 0},
    };
    cli_opts p;
    cli_opts_begin(&p, "load", argc, argv, "s:c:b:C:d:Wh", opts);
    int ch;
    while ((ch = cli_opts_next(&p)) != -1) {
        switch (ch) {
        case 's': dir = optarg; break;
        case 'c': coll = optarg; break;
        case 'b':
            if (cli_opt_u32("load", "--batch", optarg, 1, 100000, &batch)) return 2;
            break;
        case 'C':
            if (cli_opt_u32("load", "--create", optarg, 1, SC_MAX_DIM, &create_dim)) return 2;
            break;
        case 'd': dist = optarg; break;
        case 'W': wait = false; break;
        case 'h': cli__load_usage(stdout); return 0;
        default: return 2;
        }
    }
    if (!coll) return cli_usage_error("load", "--collection is required%s", "");
    if (optind + 1 != argc) return cli_usage_error("load", "give one FILE.jsonl or - %s", "(standard input)");
    sc_distance distance;
    if (sc_distance_parse(dist, &distance) != SC_OK) return cli_usage_error("load", "unknown --distance '%s'", dist);
    const char *file = argv[optind];
    FILE *in = strcmp(file, "-") ? fopen(file, "r") : stdin;
    if (!in) {
        fprintf(stderr, "semcode load: cannot open %s\n", file);
        return 1;
    }
    sc_db_options o = sc_db_options_default();
    o.background_index = true;
    sc_db *db = NULL;
    char *err = NULL;
    if (sc_db_open(dir, &o, &db, &err) != SC_OK) {
        fprintf(stderr, "semcode load: %s\n", err ? err : "out of memory");
        sc_free(err);
        if (in != stdin) fclose(in);
        return 1;
    }
    int rc = 0;
    if (!sc_collection_exists(db, coll)) {
        sc_vector_params vp = {.name = "", .dim = create_dim, .distance = distance};
        if (!create_dim || sc_collection_create(db, coll, &vp, 1) != SC_OK) {
            fprintf(stderr, "semcode load: collection '%s' %s\n", coll,
                    create_dim ? sc_db_errmsg(db) : "does not exist (--create DIM makes it)");
            rc = 1;
        }
    }
    cli__batch b = {.cap = batch, .vpp = 8};
    b.pts = calloc(batch, sizeof *b.pts);
    b.vin = calloc((size_t)batch * b.vpp, sizeof *b.vin);
    b.payloads = calloc(batch, sizeof *b.payloads);
    b.names = calloc((size_t)batch * b.vpp, sizeof *b.names);
    if (!b.pts || !b.vin || !b.payloads || !b.names) {
        fprintf(stderr, "semcode load: out of memory\n");
        rc = 1;
    }
    char *line = NULL;
    size_t line_cap = 0, lineno = 0, n_points = 0;
    double t0 = cli__load_now();
    ssize_t len;
    while (!rc && (len = getline(&line, &line_cap, in)) >= 0) {
        lineno++;
        if (strspn(line, " \t\r\n") == (size_t)len) continue;
        if ((rc = cli__batch_add(&b, line, lineno)) != 0) break;
        n_points++;
        if (b.n == b.cap) rc = cli__batch_flush(db, coll, &b);
    }
    if (!rc) rc = cli__batch_flush(db, coll, &b);
    double t1 = cli__load_now();
    if (n_points)
        fprintf(stderr, "semcode load: %zu points in %.2f s (%.0f points/s)%s\n", n_points, t1 - t0,
                (double)n_points / (t1 - t0 > 1e-9 ? t1 - t0 : 1e-9), rc ? "; stopped at the error" : "");
    if (!rc && wait && n_points) {
        while (cli__load_pending(db, coll) > 0) usleep(100000);
        fprintf(stderr, "semcode load: graph caught up %.2f s after the last batch\n", cli__load_now() - t1);
    }
    free(line);
    cli__batch_free(&b);
    if (in != stdin) fclose(in);
    sc_db_close(db);
    return rc;
}
