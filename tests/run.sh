#!/bin/bash
# Run every test and count the cases. Usage: tests/run.sh BUILD_DIR [FILTER]
#
# Unit tests are the binaries BUILD_DIR/tests/test_*; integration tests are
# tests/integration/*.sh. Each prints one line per case, "PASS: name",
# "FAIL: name: why" or "SKIP: name: why"; a runner that dies without saying
# FAIL is counted as a failure too. The last line is "N passed, N failed".
set -u
cd "$(dirname "$0")/.." || exit 2
build=${1:-build/asan}
filter=${2:-}
export PORTCULLIS="$PWD/$build/portcullis"
export TESTS_DIR="$PWD/tests"
# Leaks are real failures; the sanitizers' own noise is not.
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0:exitcode=99}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1:exitcode=99}

passed=0 failed=0 skipped=0
log=$(mktemp)
trap 'rm -f "$log"' EXIT

run_one() {
	local name=$1
	shift
	[ -n "$filter" ] && [[ $name != *"$filter"* ]] && return
	echo "== $name"
	"$@" >"$log" 2>&1
	local rc=$? p f s
	cat "$log"
	p=$(grep -c '^PASS: ' "$log")
	f=$(grep -c '^FAIL: ' "$log")
	s=$(grep -c '^SKIP: ' "$log")
	if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
		echo "FAIL: $name: exited with status $rc without naming a failed case"
		f=1
	fi
	passed=$((passed + p)) failed=$((failed + f)) skipped=$((skipped + s))
}

if [ "$(id -u)" -ne 0 ]; then
	echo "FAIL: tests need root (BPF, network namespaces): run sudo make test"
	echo "0 passed, 1 failed"
	exit 1
fi

for t in "$build"/tests/test_*; do
	[ -x "$t" ] && run_one "$(basename "$t")" "$t"
done
for t in tests/integration/*.sh; do
	[ -f "$t" ] && run_one "$(basename "$t" .sh)" bash "$t"
done

echo
if [ "$skipped" -gt 0 ]; then
	echo "$passed passed, $failed failed, $skipped skipped"
else
	echo "$passed passed, $failed failed"
fi
[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
