/*
** Standalone driver for fuzz targets without libFuzzer: calls
** LLVMFuzzerTestOneInput once per file named on the command line (a
** directory stands for the files in it), so corpora replay under any
** compiler with sanitizers. Exit status 0 when every input ran.
*/
#include <dirent.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Run the target on one file; false when it cannot be read. */
static bool replay__file(const char *path) {
    FILE *fp = fopen(path, "rb");
    if (!fp) {
        fprintf(stderr, "replay: cannot open %s\n", path);
        return false;
    }
    size_t cap = 4096, n = 0;
    uint8_t *buf = malloc(cap);
    size_t got;
    while (buf && (got = fread(buf + n, 1, cap - n, fp)) > 0) {
        n += got;
        if (n == cap) {
            uint8_t *nb = realloc(buf, cap *= 2);
            if (!nb) free(buf);
            buf = nb;
        }
    }
    fclose(fp);
    if (!buf) {
        fprintf(stderr, "replay: out of memory reading %s\n", path);
        return false;
    }
    LLVMFuzzerTestOneInput(buf, n);
    free(buf);
    return true;
}

int main(int argc, char **argv) {
    int n_run = 0, n_bad = 0;
    for (int i = 1; i < argc; i++) {
        struct stat st;
        if (stat(argv[i], &st) == 0 && S_ISDIR(st.st_mode)) {
            DIR *d = opendir(argv[i]);
            struct dirent *e;
            while (d && (e = readdir(d))) {
                if (e->d_name[0] == '.') continue;
                char path[4096];
                snprintf(path, sizeof path, "%s/%s", argv[i], e->d_name);
                if (replay__file(path)) n_run++;
                else n_bad++;
            }
            if (d) closedir(d);
        } else if (replay__file(argv[i])) {
            n_run++;
        } else {
            n_bad++;
        }
    }
    printf("replay: %d inputs ran, %d unreadable\n", n_run, n_bad);
    return n_bad ? 1 : 0;
}
