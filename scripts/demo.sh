#!/usr/bin/env bash
# The main job against the simulator: a simulated portal with 500
# organizations, a local SQLite state file, a sync, a dry run, the
# activation with direct JWKS, and a re-run that changes nothing.
set -euo pipefail
bin=${1:-bin}; dir=${2:-.demo}; addr=${3:-127.0.0.1:0}
mkdir -p "$dir"
rm -f "$dir"/state.db* "$dir/session.txt"

"$bin/portalsim" --addr "$addr" --orgs 500 --seed 1 --session-file "$dir/session.txt" >"$dir/portalsim.log" 2>&1 &
sim=$!
trap 'kill $sim 2>/dev/null; wait $sim 2>/dev/null || true' EXIT
for _ in $(seq 100); do
  grep -q 'listening on' "$dir/portalsim.log" 2>/dev/null && break
  sleep 0.05
done
url=$(grep -o 'http://[^ ]*' "$dir/portalsim.log" | head -1 || true)
if [ -z "$url" ]; then
  { echo "demo: the simulator did not start:"; cat "$dir/portalsim.log"
    if grep -q 'already in use' "$dir/portalsim.log"; then
      echo "demo: something (a simulator started by hand?) holds $addr: stop it, or run make demo DEMO_ADDR=127.0.0.1:0"
    fi; } >&2
  exit 1
fi

export ACTIVATOR_PORTAL=$url ACTIVATOR_APP=50741 ACTIVATOR_STATE=$dir/state.db ACTIVATOR_COOKIE_FILE=$dir/session.txt
run() { echo; echo "\$ activator $*"; "$bin/activator" "$@"; }

echo "Simulated portal at $url (500 organizations); state in $dir/state.db"
run orgs sync
run orgs list --status nonprod-only
run activate --jwks testdata/keys/mixed.jwks.json --dry-run
run activate --jwks testdata/keys/mixed.jwks.json --rate 20 --yes --quiet || true
echo; echo "# Re-running with the same keys makes no ApproveDownload call but the stragglers':"
run activate --jwks testdata/keys/mixed.jwks.json --rate 20 --yes --quiet --output json || true
run status
run report --out "$dir/report.html"
echo; echo "Open $dir/report.html in a browser for the chart of statuses over time."
