#!/usr/bin/env bash
# End-to-end test of `make install` / `make uninstall`: installs into a
# temporary DESTDIR (PREFIX=/usr/local), checks every installed file, then
# hides the source tree (a private mount namespace with an empty tmpfs over
# it) and, from the installed files only: runs `semcode index` and `search`
# on a copy of the fixture repository (so the built-in model is found next
# to the installed executable, with no path of the build compiled in),
# renders the man page, and builds two programs against the installed
# headers with pkg-config, one on libsemcode.so (which also finds the model
# beside the library) and one on libsemcode.a.
# Last, `make uninstall` must leave no file behind.
# Closing line: "install: N passed, N failed"; exit status non-zero on failure.
set -u
cd "$(dirname "$0")/../.." || exit 1
top=$(pwd -P)
passed=0; failed=0
ok() { passed=$((passed + 1)); echo "ok - $1"; }
no() { failed=$((failed + 1)); echo "not ok - $1"; }
check() { local what=$1; shift; if "$@" >/dev/null 2>&1; then ok "$what"; else no "$what"; fi; }

D=$(mktemp -d /tmp/semcode-install.XXXXXX)
trap 'rm -rf "$D"' EXIT
P=/usr/local
if ! make -s install DESTDIR="$D" PREFIX=$P >"$D/make.log" 2>&1; then
  cat "$D/make.log"; no "make install"; echo "install: $passed passed, $failed failed"; exit 1
fi
ok "make install"
abi=$(sed -n 's/^#define SC_ABI_VERSION \([0-9]*\).*/\1/p' include/semcode/common.h)
for f in bin/semcode share/semcode/builtin.scm include/semcode/semcode.h include/semcode/repo.h lib/libsemcode.a \
         "lib/libsemcode.so.$abi" lib/libsemcode.so lib/pkgconfig/semcode.pc share/man/man1/semcode.1; do
  check "installed $P/$f" test -e "$D$P/$f"
done
check "the executable is executable" test -x "$D$P/bin/semcode"
# (debug information names the build folder; the program's own data must not)
check "no build path in the executable's data" bash -c "strip -o '$D/stripped' '$D$P/bin/semcode' && ! strings -a '$D/stripped' | grep -qF '$top'"
mkdir -p "$D/work"
cp -r tests/fixtures/repo "$D/work/repo"

# The checks run with the source tree out of reach. Each prints "ok - ..." or "not ok - ...".
cat >"$D/work/client.c" <<'EOF'
/* A client of the installed library: keyword and hybrid search of an indexed tree. */
#include <stdio.h>
#include <string.h>
#include <semcode/semcode.h>

int main(int argc, char **argv) {
    sc_repo_options o = sc_repo_options_default();
    sc_repo *r = NULL;
    char *err = NULL;
    if (argc != 2 || sc_repo_open(argv[1], &o, &r, &err) != SC_OK) {
        fprintf(stderr, "open: %s\n", err ? err : "usage: client ROOT");
        return 1;
    }
    sc_search_mode modes[] = {SC_SEARCH_MODE_KEYWORD, SC_SEARCH_MODE_HYBRID};
    for (int m = 0; m < 2; m++) {
        sc_code_query q = {.text = "greatest common divisor", .mode = modes[m], .limit = 3};
        sc_code_hits *h = NULL;
        if (sc_repo_search(r, &q, &h) != SC_OK || h->n == 0) {
            fprintf(stderr, "search: %s\n", sc_repo_errmsg(r));
            return 1;
        }
        printf("%s\n", h->items[0].name);
        sc_code_hits_free(h);
    }
    sc_repo_close(r);
    printf("abi %d\n", SC_ABI_VERSION);
    char *model = sc_model_default_path(); /* found beside libsemcode.so, or NULL (static) */
    printf("model %s\n", model ? model : "none");
    sc_free(model);
    return 0;
}
EOF
cat >"$D/work/checks.sh" <<EOF
set -u
D=$D; P=$P; top=$top
EOF
cat >>"$D/work/checks.sh" <<'EOF'
ok() { echo "ok - $1"; }
no() { echo "not ok - $1"; }
if [ -n "$(ls -A "$top" 2>/dev/null)" ]; then no "source tree hidden"; else ok "source tree hidden"; fi
unset SEMCODE_MODEL SEMCODE_STORE
export PATH="$D$P/bin:$PATH"
cd "$D/work"
if semcode index repo --json >index.json 2>index.err && grep -q '"ok": true' index.json; then ok "index with the installed semcode"
else no "index with the installed semcode: $(cat index.err)"; fi
if (cd repo && semcode search 'greatest common divisor' --json >../search.json 2>../search.err) &&
   grep -q '"name": *"gcd"' search.json; then ok "search with the installed semcode"
else no "search with the installed semcode: $(cat search.err)"; fi
if (cd repo && semcode search 'greatest common divisor' --mode dense -n 1) | grep -q 'gcd'; then ok "dense search (the installed model)"
else no "dense search (the installed model)"; fi
if preconv "$D$P/share/man/man1/semcode.1" | nroff -man 2>/dev/null | grep -q 'semcode index \[PATH\]'; then ok "man page renders the index usage"
else no "man page renders the index usage"; fi
export PKG_CONFIG_SYSROOT_DIR="$D" PKG_CONFIG_LIBDIR="$D$P/lib/pkgconfig"
if cc -std=c17 client.c $(pkg-config --cflags --libs semcode) -o client_shared 2>cc.err &&
   LD_LIBRARY_PATH="$D$P/lib" ldd ./client_shared | grep -q "$D$P/lib/libsemcode.so" &&
   [ "$(LD_LIBRARY_PATH="$D$P/lib" ./client_shared repo | tr '\n' ' ')" = "gcd gcd abi $(sed -n 's/^#define SC_ABI_VERSION \([0-9]*\).*/\1/p' "$D$P/include/semcode/common.h") model $D$P/share/semcode/builtin.scm " ]
then ok "a program on libsemcode.so (pkg-config)"; else no "a program on libsemcode.so (pkg-config): $(cat cc.err)"; fi
static_libs=$(pkg-config --static --libs semcode | sed 's/-lsemcode//')
if cc -std=c17 client.c $(pkg-config --cflags semcode) "$D$P/lib/libsemcode.a" $static_libs -o client_static 2>cc.err &&
   ! ldd ./client_static | grep -q libsemcode && [ "$(./client_static repo | head -1)" = gcd ]
then ok "a program on libsemcode.a (pkg-config --static)"; else no "a program on libsemcode.a: $(cat cc.err)"; fi
EOF
if unshare -m true 2>/dev/null; then
  out=$(unshare -m bash -c "mount -t tmpfs none '$top' && bash '$D/work/checks.sh'" 2>&1)
else
  out="not ok - source tree hidden (unshare -m is not permitted here)"$'\n'$(bash "$D/work/checks.sh" 2>&1 | grep -v 'source tree hidden')
fi
printf '%s\n' "$out"
passed=$((passed + $(printf '%s\n' "$out" | grep -c '^ok - '))); failed=$((failed + $(printf '%s\n' "$out" | grep -c '^not ok - ')))

if make -s uninstall DESTDIR="$D" PREFIX=$P >"$D/make.log" 2>&1 && [ -z "$(find "$D$P" -type f -o -type l)" ]; then ok "make uninstall removes every file"
else no "make uninstall removes every file: $(find "$D$P" -type f -o -type l | head -5 | tr '\n' ' ')"; fi
echo "install: $passed passed, $failed failed"
[ $failed -eq 0 ]
