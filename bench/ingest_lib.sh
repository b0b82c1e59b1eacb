# Shared by the ingestion benchmarks (bench/git_ingest.sh,
# bench/records_ingest.sh); sourced after WORK is set. Each step is one
# process, timed by /usr/bin/time.

# one timed step: prints "<seconds> <peak KB>", the command's stdout in $WORK/out.json
timed() {
  /usr/bin/time -f '%e %M' -o "$WORK/time" "$@" > "$WORK/out.json"
  cat "$WORK/time"
}
# a field of that JSON
field() { python3 -c "import json;print(json.load(open('$WORK/out.json'))['$1'])"; }
# the machine, the time and the commit, on one line
machine() {
  echo "machine: $(lscpu | sed -n 's/^Model name: *//p'), $(nproc) cores, $(free -g | awk '/^Mem:/ {print $2}') GiB; $(date -u '+%F %H:%M UTC'); commit $(git rev-parse --short HEAD)"
}
# run the function named $1 under the shared benchmark lock (waits up to
# LOCK_WAIT seconds, then runs without it and says so), with the load before and after
with_bench_lock() {
  exec 9>/tmp/semcode-bench.lock
  if flock -w "$LOCK_WAIT" 9; then
    echo "load before: $(cut -d' ' -f1-3 /proc/loadavg) (bench lock held)"
  else
    echo "load before: $(cut -d' ' -f1-3 /proc/loadavg) (bench lock NOT held: busy for ${LOCK_WAIT}s)"
  fi
  "$1"
  echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
}
