#!/bin/sh
# Fetch the sources of the realistic evaluation repositories.
#
# Reads every bench/queries/repos*.tsv (header: repo split language source subdir),
# installs each source (deb:PKG with apt-get, npm:PKG@VERSION with `npm pack`)
# and copies its subdir to build/queries/repos/<repo>/ so that indexing never
# writes under /usr or into an npm cache.  A subdir that is a single file
# (e.g. bottle.py) is copied into the repo folder under its own name.
#
# Idempotent: a repo whose copy was made from the same source and subdir is
# skipped (stamp in build/queries/stamps/).  Usage, from the repository root:
#     sh bench/queries/fetch.sh [REPO ...]     # no argument: all repos
set -eu

root=$(cd "$(dirname "$0")/../.." && pwd)
out="$root/build/queries"
repos="$out/repos"
stamps="$out/stamps"
npmdir="$out/npm"
mkdir -p "$repos" "$stamps" "$npmdir"

apt_updated=0
need_deb() {
	pkg=$1
	if dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed'; then
		return 0
	fi
	if ! apt-get install -y --no-install-recommends "$pkg" >/dev/null; then
		if [ "$apt_updated" = 0 ]; then
			apt-get update >/dev/null
			apt_updated=1
		fi
		apt-get install -y --no-install-recommends "$pkg" >/dev/null
	fi
}

# npm:NAME@VERSION -> unpacked package folder (prints its path)
need_npm() {
	spec=$1
	name=${spec%@*}
	version=${spec##*@}
	case "$version" in
	[0-9]*.[0-9]*.[0-9]*) ;;
	*) echo "fetch.sh: npm version must be exact: $spec" >&2; exit 1 ;;
	esac
	safe=$(printf '%s' "$name" | tr '/@' '__')
	dest="$npmdir/$safe-$version"
	if [ ! -d "$dest/package" ]; then
		tmp="$npmdir/.tmp-$safe-$version"
		rm -rf "$tmp"
		mkdir -p "$tmp"
		(cd "$tmp" && npm pack --silent "$name@$version" >/dev/null)
		tar -xzf "$tmp"/*.tgz -C "$tmp"
		rm -rf "$dest"
		mkdir -p "$dest"
		mv "$tmp/package" "$dest/package"
		rm -rf "$tmp"
	fi
	printf '%s\n' "$dest/package"
}

wanted() {
	[ $# -eq 1 ] && return 0
	r=$1
	shift
	for w in "$@"; do
		[ "$w" = "$r" ] && return 0
	done
	return 1
}

n=0
for tsv in "$root"/bench/queries/repos*.tsv; do
	[ -f "$tsv" ] || continue
	# shellcheck disable=SC2034 # split and language are not needed here
	tail -n +2 "$tsv" | while IFS='	' read -r repo split language source subdir; do
		[ -n "$repo" ] || continue
		case "$repo" in \#*) continue ;; esac
		wanted "$repo" "$@" || continue
		stamp="$stamps/$repo"
		want="$source	$subdir"
		if [ -d "$repos/$repo" ] && [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
			continue
		fi
		case "$source" in
		deb:*)
			need_deb "${source#deb:}"
			src=$subdir
			;;
		npm:*)
			pkgdir=$(need_npm "${source#npm:}")
			src="$pkgdir/$subdir"
			;;
		*)
			echo "fetch.sh: $repo: unknown source $source" >&2
			exit 1
			;;
		esac
		if [ ! -e "$src" ]; then
			echo "fetch.sh: $repo: $src does not exist" >&2
			exit 1
		fi
		rm -rf "${repos:?}/$repo" "$stamp"
		mkdir -p "$repos/$repo"
		if [ -d "$src" ]; then
			cp -R "$src"/. "$repos/$repo"/
		else
			cp "$src" "$repos/$repo"/
		fi
		# compiled caches are not source
		find "$repos/$repo" -name __pycache__ -type d -prune -exec rm -rf {} +
		find "$repos/$repo" \( -name "*.so" -o -name "*.pyc" \) -type f -exec rm -f {} +
		printf '%s\n' "$want" > "$stamp"
		echo "fetched $repo ($source)"
	done
	n=$((n + 1))
done
[ "$n" -gt 0 ] || { echo "fetch.sh: no bench/queries/repos*.tsv" >&2; exit 1; }
