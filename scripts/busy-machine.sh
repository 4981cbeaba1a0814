#!/usr/bin/env bash
# Runs a command on a machine kept busy for the whole run, the way a shared CI runner or a laptop
# doing other work is: CPU_LOOPS CPU-bound loops (default 2, one per core here) and one disk-heavy
# job (writes, fsyncs, reads back and deletes 256 MiB files in a loop, in a temp dir). The load stops, by the PIDs started here, when the command ends; the
# command's exit code is this script's.
#   usage: scripts/busy-machine.sh [--] COMMAND [ARG...]
#   e.g.   scripts/busy-machine.sh npm test
set -euo pipefail
[ "${1:-}" = "--" ] && shift
if [ $# -eq 0 ]; then
  echo "usage: scripts/busy-machine.sh [--] COMMAND [ARG...]  (CPU_LOOPS=2 by default)" >&2
  exit 2
fi
scratch=$(mktemp -d -t busy-machine.XXXXXX)
pids=()
stop_load() {
  for pid in "${pids[@]}"; do
    pkill -P "$pid" 2>/dev/null || true # the disk job's running dd
    kill "$pid" 2>/dev/null || true
  done
  wait "${pids[@]}" 2>/dev/null || true
  rm -rf "$scratch"
}
trap stop_load EXIT

for _ in $(seq 1 "${CPU_LOOPS:-2}"); do
  (while :; do :; done) &
  pids+=($!)
done
(
  while :; do
    dd if=/dev/urandom of="$scratch/disk" bs=1M count=256 conv=fsync status=none
    dd if="$scratch/disk" of=/dev/null bs=1M iflag=direct status=none 2>/dev/null || cat "$scratch/disk" >/dev/null
    rm -f "$scratch/disk"
  done
) &
pids+=($!)
echo "busy-machine: ${CPU_LOOPS:-2} CPU loops and 1 disk job running (PIDs ${pids[*]}) while: $*" >&2

started=$(date +%s)
rc=0
"$@" || rc=$?
echo "busy-machine: '$*' exited $rc after $(($(date +%s) - started)) s under load" >&2
exit "$rc"
