#!/bin/sh
# make deb: copy the tree (what git tracks plus untracked files it does not
# ignore; without git, everything but build/) to OUTDIR/portcullis-VERSION and
# build the binary package there with dpkg-buildpackage -us -uc -b, so the
# .deb, .buildinfo and .changes land in OUTDIR and the working tree is left
# as it was. PORTCULLIS_GIT_COMMIT (from the Makefile) carries the commit
# into the copy, which has no .git.
# Usage: scripts/make-deb.sh OUTDIR VERSION
set -eu
outdir=$1 version=$2

for tool in dpkg-buildpackage dh; do
	if ! command -v "$tool" >/dev/null 2>&1; then
		echo "portcullis: make deb needs $tool (Debian: dpkg-dev, debhelper;" \
			"'sudo scripts/deps.sh test' installs them)" >&2
		exit 1
	fi
done
changelog=$(dpkg-parsechangelog -S Version -l debian/changelog)
if [ "$changelog" != "$version" ]; then
	echo "portcullis: debian/changelog is at $changelog but VERSION says $version:" \
		"add a changelog entry (dch -v $version)" >&2
	exit 1
fi

src=$outdir/portcullis-$version
rm -rf "$outdir"
mkdir -p "$src"
if git rev-parse --is-inside-work-tree >/dev/null 2>&1 &&
	[ "$(git rev-parse --show-toplevel)" = "$(pwd)" ]; then
	git ls-files -z --cached --others --exclude-standard |
		tar --null --ignore-failed-read -T - -cf - | tar -xf - -C "$src"
else
	tar --exclude=./build -cf - . | tar -xf - -C "$src"
fi

echo "  DEB      $outdir/portcullis_${version}_$(dpkg --print-architecture).deb"
(cd "$src" && PORTCULLIS_GIT_COMMIT=${PORTCULLIS_GIT_COMMIT:-} dpkg-buildpackage -us -uc -b) \
	>"$outdir/build.log" 2>&1 || {
	tail -n 40 "$outdir/build.log" >&2
	echo "portcullis: dpkg-buildpackage failed; the whole log is $outdir/build.log" >&2
	exit 1
}
rm -rf "$src"
