#!/bin/sh
# What "make" needs, checked before it builds anything. Installs nothing: it
# names what is missing and says how to get it, then fails.
# Usage: scripts/check-build-deps.sh "TOOLS" PKG_CONFIG "PKG_MODULES"
set -u
tools=$1 pkg_config=$2 modules=$3

missing=""
for tool in $tools; do
	command -v "$tool" >/dev/null 2>&1 || missing="$missing $tool"
done
if command -v "$pkg_config" >/dev/null 2>&1; then
	for module in $modules; do
		"$pkg_config" --exists "$module" 2>/dev/null || missing="$missing $module.pc"
	done
fi
[ -z "$missing" ] && exit 0

echo "portcullis: cannot build, missing:$missing" >&2
if ! command -v "$pkg_config" >/dev/null 2>&1; then
	echo "portcullis: without $pkg_config the libraries ($modules) cannot be found either" >&2
fi
echo "portcullis: a tool is looked up in PATH (or set CC=, CLANG=, BPFTOOL=, PKG_CONFIG=);" \
	"a NAME.pc module comes with the library's development package" >&2
echo "portcullis: on Debian, 'sudo make deps' installs them all (scripts/deps.sh build)" >&2
exit 1
