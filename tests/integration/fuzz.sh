#!/bin/bash
# libFuzzer, bounded: builds the targets of tests/fuzz (clang,
# -fsanitize=fuzzer,address,undefined) and runs each for FUZZ_SECONDS
# (default 20) on its committed corpus, which is replayed first, so every
# crasher found so far is a regression case. A crash is a FAIL naming the
# reproducer under build/fuzz/crashes/.
set -u
cd "$(dirname "$0")/../.." || exit 2
targets=(fuzz_config fuzz_tokens fuzz_cli)

if ! command -v clang >/dev/null; then
	echo "SKIP: fuzz: clang is not installed"
	exit 0
fi
if ! echo 'int LLVMFuzzerTestOneInput(const char *d, long n) { return 0; }' |
	clang -x c -fsanitize=fuzzer - -o /dev/null 2>/dev/null; then
	echo "SKIP: fuzz: clang cannot link libFuzzer (apt-get install libclang-rt-14-dev)"
	exit 0
fi
if ! out=$(MAKEFLAGS= MFLAGS= make -s fuzz-build 2>&1); then
	echo "FAIL: fuzz: the targets do not build"
	echo "$out"
	exit 1
fi
echo "PASS: fuzz: targets build with -fsanitize=fuzzer,address,undefined -Werror"
FUZZ_SECONDS=${FUZZ_SECONDS:-20} tests/fuzz/run.sh "${targets[@]}"
