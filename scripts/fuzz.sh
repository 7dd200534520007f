#!/usr/bin/env bash
# Runs every fuzz target in the module for a fixed budget each.
#
# The budget is a count of executions ("20000x"), not a duration: with a
# duration, Go 1.26's fuzz coordinator can report a bare "context deadline
# exceeded" failure at the end of the window without having found anything
# (go.dev/issue/75804, fixed in Go 1.27). A count never arms that deadline,
# so a red fuzz run always means a real finding. A duration ("30s") still
# works for longer local runs.
set -euo pipefail
budget=${1:-20000x}
for pkg in $(go list ./...); do
  dir=$(go list -f '{{.Dir}}' "$pkg")
  for fz in $(grep -ho '^func Fuzz[A-Za-z0-9_]*' "$dir"/*_test.go 2>/dev/null | sed 's/^func //' | sort -u); do
    echo "fuzz $pkg $fz ($budget)"
    go test -run='^$' -fuzz="^${fz}\$" -fuzztime="$budget" "$pkg"
  done
done
