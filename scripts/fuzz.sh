#!/usr/bin/env bash
# fuzz.sh: runs every Fuzz target of the module, one after the other, each for
# $FUZZTIME (default 30s). `go test -fuzz` takes one target in one package at a
# time, so the targets are listed per package with `go test -list`.
set -euo pipefail
cd "$(dirname "$0")/.."

fuzztime="${FUZZTIME:-30s}"

# Only packages whose tests declare a Fuzz function need listing (it compiles them).
mapfile -t dirs < <(grep -rl --include='*_test.go' -e '^func Fuzz' . \
	| grep -v -e '/node_modules/' -e '/testdata/' | xargs -r -n1 dirname | sort -u)

count=0
for dir in "${dirs[@]}"; do
	list="$(go test -list '^Fuzz' "$dir")" # fails loudly if the package does not build
	for target in $(grep '^Fuzz' <<<"$list" || true); do
		echo "fuzz: $dir $target for $fuzztime"
		go test -run '^$' -fuzz "^${target}\$" -fuzztime "$fuzztime" "$dir"
		count=$((count + 1))
	done
done
echo "fuzz: ran $count targets"
