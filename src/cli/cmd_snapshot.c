/*
** cli/cmd_snapshot.c: `semcode snapshot create|list|restore`, snapshots of
** the collections of a store that is not being served (a served store is
** locked by its server: use its /collections/{name}/snapshots endpoints).
** The files are the ones the server keeps (STORE/snapshots/<collection>/),
** so either side lists what the other made.
*/
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/cli.h"

static void cli__snapshot_usage(FILE *f) {
    fprintf(f,
            "usage: semcode snapshot create COLLECTION [--store DIR] [--out FILE]\n"
            "       semcode snapshot list COLLECTION [--store DIR] [--json]\n"
            "       semcode snapshot restore FILE [--store DIR] [--collection NAME] [--from NAME]\n\n"
            "Consistent snapshots of the collections of a store (the one `semcode serve\n"
            "--store DIR` serves; default ./semcode-store). The store must not be open in\n"
            "another process: a running server takes snapshots through its HTTP API\n"
            "(POST /collections/NAME/snapshots).\n\n"
            "  create    write a snapshot of COLLECTION into DIR/snapshots/COLLECTION/\n"
            "            (or FILE with --out) and print its name, size and SHA-256\n"
            "  list      the snapshots of COLLECTION kept in the store\n"
            "  restore   restore a snapshot file (a name from `list`, or a path) as\n"
            "            collection NAME (default: the name it was taken from), replacing\n"
            "            a collection of that name; all or nothing\n\n"
            "  --store DIR         the store (default semcode-store)\n"
            "  --out FILE          create: write the snapshot to FILE instead\n"
            "  --collection NAME   restore: the collection to restore into\n"
            "  --from NAME         restore: which collection of a multi-collection file\n"
            "  --json              list: JSON output\n");
}

static int cli__snapshot_fail(const char *what) {
    fprintf(stderr, "semcode snapshot: %s: %s\n", what, sc_db_errmsg(NULL));
    return 1;
}

int cli_cmd_snapshot(int argc, char **argv) {
    enum { O_STORE = 1000, O_OUT, O_COLL, O_FROM, O_JSON, O_HELP };
    static const struct option opts[] = {
        {"store", required_argument, NULL, O_STORE}, {"out", required_argument, NULL, O_OUT},
        {"collection", required_argument, NULL, O_COLL}, {"from", required_argument, NULL, O_FROM},
        {"json", no_argument, NULL, O_JSON},          {"help", no_argument, NULL, O_HELP},
        {NULL, 0, NULL, 0},
    };
    const char *store = "semcode-store", *out = NULL, *coll = NULL, *from = NULL;
    bool json = false;
    cli_opts p;
    cli_opts_begin(&p, "snapshot", argc, argv, "h", opts);
    int ch;
    while ((ch = cli_opts_next(&p)) != -1) {
        switch (ch) {
        case O_STORE: store = optarg; break;
        case O_OUT: out = optarg; break;
        case O_COLL: coll = optarg; break;
        case O_FROM: from = optarg; break;
        case O_JSON: json = true; break;
        case 'h':
        case O_HELP: cli__snapshot_usage(stdout); return 0;
        default: return 2;
        }
    }
    if (optind >= argc) return cli_usage_error("snapshot", "%s", "missing action: create, list or restore");
    const char *action = argv[optind++];
    bool is_create = !strcmp(action, "create"), is_list = !strcmp(action, "list"), is_restore = !strcmp(action, "restore");
    if (!is_create && !is_list && !is_restore)
        return cli_usage_error("snapshot", "unknown action '%s' (expected create, list or restore)", action);
    if (optind >= argc)
        return cli_usage_error("snapshot", "%s", is_restore ? "restore needs a snapshot FILE" : "missing COLLECTION");
    const char *arg = argv[optind++];
    if (optind < argc) return cli_usage_error("snapshot", "unexpected argument '%s'", argv[optind]);
    if (out && !is_create) return cli_usage_error("snapshot", "%s", "--out goes with create");
    if ((coll || from) && !is_restore) return cli_usage_error("snapshot", "%s", "--collection and --from go with restore");
    sc_db *db = NULL;
    char *err = NULL;
    if (sc_db_open(store, NULL, &db, &err) != SC_OK) {
        fprintf(stderr, "semcode snapshot: %s\n", err ? err : "out of memory");
        sc_free(err);
        return 1;
    }
    int rc = 0;
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    if (is_create && out) {
        sc_snapshot_info info = {0};
        const char *names[1] = {arg};
        if (sc_snapshot_create(db, names, 1, NULL, out, &info) != SC_OK) rc = cli__snapshot_fail(arg);
        else {
            clock_gettime(CLOCK_MONOTONIC, &t1);
            printf("%s\t%llu bytes\t%llu points\tsha256 %s\t%.2f s\n", out, (unsigned long long)info.size,
                   (unsigned long long)info.n_points, info.sha256,
                   (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) * 1e-9);
        }
        sc_snapshot_info_free(&info);
    } else if (is_create) {
        sc_snapshot_entry e = {0};
        if (sc_snapshot_take(db, arg, &e) != SC_OK) rc = cli__snapshot_fail(arg);
        else {
            char *dir = sc_snapshot_dir(db, arg);
            clock_gettime(CLOCK_MONOTONIC, &t1);
            printf("%s/%s\t%llu bytes\tsha256 %s\t%.2f s\n", dir ? dir : "", e.name, (unsigned long long)e.size,
                   e.sha256, (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) * 1e-9);
            sc_free(dir);
        }
        sc_free(e.name);
    } else if (is_list) {
        sc_snapshot_entry *v = NULL;
        size_t n = 0;
        if (sc_snapshot_list(db, arg, &v, &n) != SC_OK) rc = cli__snapshot_fail(arg);
        json_t *a = json ? json_array() : NULL;
        for (size_t i = 0; i < n; i++) {
            char when[32];
            time_t t = (time_t)v[i].mtime;
            struct tm tmv;
            strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", gmtime_r(&t, &tmv));
            if (a)
                json_array_append_new(a, json_pack("{s:s, s:I, s:s, s:s}", "name", v[i].name, "size",
                                                   (json_int_t)v[i].size, "creation_time", when, "checksum",
                                                   v[i].sha256));
            else printf("%s\t%llu bytes\t%s\t%s\n", v[i].name, (unsigned long long)v[i].size, when, v[i].sha256);
        }
        if (a && rc == 0) {
            char *s = json_dumps(a, JSON_INDENT(2));
            if (s) puts(s);
            free(s);
        }
        json_decref(a);
        sc_snapshot_entries_free(v, n);
    } else {
        /* a bare name from `list` is looked up in the folder of --collection / --from */
        char *path = NULL;
        if (!strchr(arg, '/') && (coll || from)) sc_snapshot_path(db, from ? from : coll, arg, &path);
        uint64_t n = 0;
        if (sc_snapshot_restore(db, path ? path : arg, from, coll, &n) != SC_OK) rc = cli__snapshot_fail(path ? path : arg);
        else {
            clock_gettime(CLOCK_MONOTONIC, &t1);
            printf("restored %llu points from %s\t%.2f s\n", (unsigned long long)n, path ? path : arg,
                   (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) * 1e-9);
        }
        sc_free(path);
    }
    sc_db_close(db);
    return rc;
}

/* ==== semcode export / import ==== */

static void cli__export_usage(FILE *f) {
    fprintf(f,
            "usage: semcode export FILE [--store DIR] [PATH]\n\n"
            "Write the index of PATH (default: the indexed tree containing the working\n"
            "folder, or the one recorded in --store) to FILE: one portable, checksummed\n"
            "file with the vectors, payloads, BM25 terms, graphs and state of the index,\n"
            "the model id and the source commit (git HEAD). `semcode import FILE --store\n"
            "DIR` on another machine makes an index that `semcode search --store DIR`\n"
            "searches without the source tree.\n\n"
            "  --store DIR   the index folder (default $SEMCODE_STORE, else PATH/.semcode)\n");
}

int cli_cmd_export(int argc, char **argv) {
    enum { O_STORE = 1000, O_HELP };
    static const struct option opts[] = {
        {"store", required_argument, NULL, O_STORE}, {"help", no_argument, NULL, O_HELP}, {NULL, 0, NULL, 0}};
    const char *store = NULL;
    cli_opts p;
    cli_opts_begin(&p, "export", argc, argv, "h", opts);
    int ch;
    while ((ch = cli_opts_next(&p)) != -1) {
        if (ch == O_STORE) store = optarg;
        else if (ch == 'h' || ch == O_HELP) {
            cli__export_usage(stdout);
            return 0;
        } else return 2;
    }
    if (optind >= argc) return cli_usage_error("export", "%s", "missing FILE");
    const char *file = argv[optind++], *path = optind < argc ? argv[optind++] : NULL;
    if (optind < argc) return cli_usage_error("export", "unexpected argument '%s'", argv[optind]);
    sc_repo *r = cli_repo_open("export", store, NULL, false, 0, NULL, path, false);
    if (!r) return 1;
    sc_snapshot_info info = {0};
    char *err = NULL;
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    int rc = 0;
    if (sc_repo_export(r, file, &info, &err) != SC_OK) {
        fprintf(stderr, "semcode export: %s\n", err ? err : "out of memory");
        rc = 1;
    } else {
        clock_gettime(CLOCK_MONOTONIC, &t1);
        printf("exported %llu points to %s (%llu bytes, sha256 %s) in %.2f s\n", (unsigned long long)info.n_points,
               file, (unsigned long long)info.size, info.sha256,
               (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) * 1e-9);
    }
    sc_free(err);
    sc_snapshot_info_free(&info);
    sc_repo_close(r);
    return rc;
}

static void cli__import_usage(FILE *f) {
    fprintf(f,
            "usage: semcode import FILE --store DIR [--root PATH]\n\n"
            "Make the index folder DIR (absent or empty) from FILE, a file written by\n"
            "`semcode export`. The file is checked first (every record's checksum, its\n"
            "length): a damaged or truncated file is refused with the byte offset and\n"
            "DIR is left as it was. Then `semcode search --store DIR QUERY` searches it.\n\n"
            "  --store DIR   the new index folder (required)\n"
            "  --root PATH   the source tree its results point into, when it exists here\n"
            "                (default: DIR itself; results then have no snippets)\n");
}

int cli_cmd_import(int argc, char **argv) {
    enum { O_STORE = 1000, O_ROOT, O_HELP };
    static const struct option opts[] = {{"store", required_argument, NULL, O_STORE},
                                         {"root", required_argument, NULL, O_ROOT},
                                         {"help", no_argument, NULL, O_HELP},
                                         {NULL, 0, NULL, 0}};
    const char *store = NULL, *root = NULL;
    cli_opts p;
    cli_opts_begin(&p, "import", argc, argv, "h", opts);
    int ch;
    while ((ch = cli_opts_next(&p)) != -1) {
        if (ch == O_STORE) store = optarg;
        else if (ch == O_ROOT) root = optarg;
        else if (ch == 'h' || ch == O_HELP) {
            cli__import_usage(stdout);
            return 0;
        } else return 2;
    }
    if (optind >= argc) return cli_usage_error("import", "%s", "missing FILE");
    const char *file = argv[optind++];
    if (optind < argc) return cli_usage_error("import", "unexpected argument '%s'", argv[optind]);
    if (!store) return cli_usage_error("import", "%s", "--store DIR is required (the new index folder)");
    uint64_t n = 0;
    char *err = NULL;
    if (sc_repo_import(file, store, root, &n, &err) != SC_OK) {
        fprintf(stderr, "semcode import: %s\n", err ? err : "out of memory");
        sc_free(err);
        return 1;
    }
    printf("imported %llu points into %s\n", (unsigned long long)n, store);
    return 0;
}
