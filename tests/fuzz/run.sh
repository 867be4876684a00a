#!/bin/bash
# Run libFuzzer targets for a bounded time each: tests/fuzz/run.sh TARGET...
#
# Env: FUZZ_SECONDS (per target, default 20), FUZZ_BUILD (default build/fuzz).
# Seeds come from tests/fuzz/corpus/TARGET (read only, replayed first, so a
# committed crasher is a regression test); new inputs go to
# FUZZ_BUILD/corpus/TARGET. Prints "PASS: fuzz TARGET: N runs in S s" or
# "FAIL: fuzz TARGET: ... reproducer PATH"; exits 1 if any target failed.
set -u
cd "$(dirname "$0")/../.." || exit 2
seconds=${FUZZ_SECONDS:-20}
build=${FUZZ_BUILD:-build/fuzz}
status=0

for target in "$@"; do
	bin=$build/$target
	seeds=tests/fuzz/corpus/$target
	found=$build/corpus/$target
	crashes=$build/crashes
	log=$build/$target.log
	opts=(-max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1
		-artifact_prefix="$crashes/$target-")
	[ -f "tests/fuzz/$target.dict" ] && opts+=(-dict="tests/fuzz/$target.dict")
	case $target in
	fuzz_config) opts+=(-max_len=16384) ;;
	fuzz_tokens) opts+=(-max_len=512) ;;
	fuzz_cli) opts+=(-max_len=1024 -close_fd_mask=3) ;;
	esac
	if [ ! -x "$bin" ]; then
		echo "FAIL: fuzz $target: $bin is not built (make fuzz-build)"
		status=1
		continue
	fi
	mkdir -p "$found" "$crashes"
	# Leaks are crashes too; libFuzzer checks them itself between runs.
	ASAN_OPTIONS=detect_leaks=1 FUZZ_LIST_DIR=tests/fuzz/lists \
		"$bin" "${opts[@]}" "$found" "$seeds" >"$log" 2>&1
	rc=$?
	runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
	reproducer=$(sed -n 's/.*Test unit written to \(.*\)$/\1/p' "$log" | tail -n 1)
	if [ "$rc" -eq 0 ] && [ -n "$runs" ]; then
		echo "PASS: fuzz $target: ${runs} runs in ${seconds} s," \
			"corpus $(find "$found" "$seeds" -type f | wc -l) inputs"
	else
		echo "FAIL: fuzz $target: exit $rc, reproducer ${reproducer:-none}, log $log"
		grep -m 5 -E 'ERROR: |invariant|SUMMARY' "$log" | sed 's/^/    /'
		status=1
	fi
done
exit "$status"
