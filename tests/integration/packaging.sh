#!/bin/bash
# What 'make install' ships and what contrib/ holds: the binary, a man page
# that man can read, the example config, a hardened Type=notify systemd
# unit, bash completion, Prometheus alert rules (checked and unit-tested
# with promtool) and a Grafana dashboard that parses. 'make uninstall'
# removes it all again.
# Then what a distribution needs: 'make' and 'make install' never run
# apt-get and name what is missing; two builds of the tree in two
# directories are bit-identical; the version string; 'make deb' builds a
# package that lintian finds no error in, twice bit-identically, and that
# installs, runs and purges without a trace in a throwaway root (an overlay
# of / in a private mount namespace, entered by dpkg --root); the docs and
# the man page cover what the binary has, and no README link leaves the
# repository.
. "$(dirname "$0")/../lib.sh"
cd "$TESTS_DIR/.." || exit 1
repo=$PWD

# A PATH where apt-get, apt and sudo fail loudly and leave a mark: a make run
# under it that tries to install anything is caught.
fakebin=$TEST_TMP/fakebin
mkdir -p "$fakebin"
for tool in apt-get apt sudo; do
	printf '#!/bin/sh\necho "FAKE %s $*" >>%s/called\necho "%s must not run" >&2\nexit 97\n' \
		"$tool" "$TEST_TMP" "$tool" >"$fakebin/$tool"
	chmod +x "$fakebin/$tool"
done
# For make and make install, dpkg-query also says nothing is installed, so a
# scripts/deps.sh run from them would reach apt-get. (Not for make deb:
# dpkg-shlibdeps needs the real dpkg-query.)
mkdir -p "$fakebin/query"
printf '#!/bin/sh\nexit 1\n' >"$fakebin/query/dpkg-query"
chmod +x "$fakebin/query/dpkg-query"
nonet() { env -u MAKEFLAGS -u MAKELEVEL PATH="$fakebin/query:$fakebin:$PATH" "$@"; }
nonet_deb() { env -u MAKEFLAGS -u MAKELEVEL PATH="$fakebin:$PATH" "$@"; }
no_install_tried() { test ! -e "$TEST_TMP/called"; }

# --- contrib: Prometheus rules and Grafana dashboard ------------------------------
if command -v promtool >/dev/null; then
	check "promtool check rules contrib/prometheus-rules.yml" \
		promtool check rules contrib/prometheus-rules.yml
	out=$(promtool test rules tests/prometheus/rules.test.yml 2>&1)
	check "alert rules fire as unit-tested (promtool test rules)" grep -q SUCCESS <<<"$out"
	for alert in PortcullisScanBansSpiking PortcullisDropsHigh PortcullisExporterDown \
		PortcullisConfigReloadFailed; do
		check "rule $alert is shipped" grep -q "alert: $alert\$" contrib/prometheus-rules.yml
	done
else
	skip "alert rules" "promtool is not installed"
fi
dashboard_ok() {
	python3 - contrib/grafana-dashboard.json <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
exprs = [t["expr"] for p in d["panels"] for t in p.get("targets", [])]
assert d["title"] and len(d["panels"]) >= 8, "too few panels"
assert all("portcullis_" in e for e in exprs), "a query that is not about portcullis"
for name in ("portcullis_drops_total", "portcullis_packets_total", "portcullis_bans_total",
             "portcullis_config_reloads_total", "portcullis_port_packets_total"):
    assert any(name in e for e in exprs), name + " not on the dashboard"
PY
}
check "the Grafana dashboard parses and charts the contract's metrics" dashboard_ok

# --- make install / uninstall --------------------------------------------------------
dest=$TEST_TMP/root
out=$(nonet make -s install DESTDIR="$dest" PREFIX=/usr 2>&1)
check "make install DESTDIR=... PREFIX=/usr" test $? -eq 0
check "make install never ran apt-get or sudo" no_install_tried
for f in usr/sbin/portcullis usr/share/man/man8/portcullis.8 \
	etc/portcullis/portcullis.conf.example usr/lib/systemd/system/portcullis@.service \
	usr/share/bash-completion/completions/portcullis; do
	check "installed $f" test -s "$dest/$f"
done
check "the binary is executable and runs" "$dest/usr/sbin/portcullis" --version
check "no config is installed over a real one" test ! -e "$dest/etc/portcullis/portcullis.conf"

man_page=$dest/usr/share/man/man8/portcullis.8
if command -v groff >/dev/null; then
	check "the man page has no groff warnings" bash -c "[ -z \"\$(groff -man -ww -z '$man_page' 2>&1)\" ]"
else
	skip "groff warnings in the man page" "groff is not installed"
fi
if command -v man >/dev/null; then
	readable() { MANPATH="$dest/usr/share/man" MANWIDTH=80 man portcullis 2>/dev/null | grep -q "$1"; }
	check "man portcullis reads the installed page" readable "portcullis - XDP port filter"
	for section in COMMANDS METRICS SYSTEMD "EXIT STATUS"; do
		check "the man page has $section" readable "^$section"
	done
	check "the man page documents --port-series" readable "port-series N"
	check "the man page gives the textfile write-and-rename recipe" readable "mv /var/lib/node_exporter"
else
	skip "man portcullis" "man is not installed"
fi

unit=$dest/usr/lib/systemd/system/portcullis@.service
for line in "Type=notify" "ExecReload=/bin/kill -HUP \$MAINPID" "RequiresMountsFor=/sys/fs/bpf" \
	"CapabilityBoundingSet=CAP_BPF" "NoNewPrivileges=yes" "ProtectSystem=strict" \
	"ExecStart=/usr/sbin/portcullis run %i"; do
	check "the unit has $line" grep -qF "$line" "$unit"
done
if command -v systemd-analyze >/dev/null; then
	# verify wants the binary where ExecStart says: point it into DESTDIR.
	sed "s|/usr/sbin/portcullis|$dest/usr/sbin/portcullis|g" "$unit" >"$TEST_TMP/portcullis@lo.service"
	out=$(cd "$TEST_TMP" && MANPATH="$dest/usr/share/man" timeout 30 \
		systemd-analyze verify "$TEST_TMP/portcullis@lo.service" 2>&1)
	check "systemd-analyze verify finds nothing to complain about" test -z "$out"
	[ -n "$out" ] && echo "$out"
	exposure=$(timeout 30 systemd-analyze security --offline=yes "$TEST_TMP/portcullis@lo.service" 2>/dev/null |
		sed -n 's/.*Overall exposure level for .*: \([0-9.]*\).*/\1/p')
	check "systemd-analyze security rates the unit's exposure low (${exposure:-?}/10)" \
		awk -v e="${exposure:-10}" 'BEGIN { exit !(e < 4) }'
else
	skip "systemd-analyze verify" "systemd-analyze is not installed"
fi

complete_words() {
	bash -c '. "$1"; shift; COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); _portcullis; echo "${COMPREPLY[*]}"' \
		_ "$dest/usr/share/bash-completion/completions/portcullis" "$@"
}
check "bash completion: commands" test "$(complete_words portcullis ex)" = "exporter explain"
check "bash completion: a command by its prefix" test "$(complete_words portcullis expo)" = exporter
check "bash completion: run options" \
	test "$(complete_words portcullis run lo --k)" = --keep
check "bash completion: interfaces" bash -c "grep -qw lo <<<'$(complete_words portcullis stats '')'"
check "bash completion: xdp modes" \
	test "$(complete_words portcullis attach lo --xdp-mode '')" = "auto native generic"

out=$(env -u MAKEFLAGS -u MAKELEVEL make -s uninstall DESTDIR="$dest" PREFIX=/usr 2>&1)
check "make uninstall" test $? -eq 0
check "make uninstall leaves no file behind" test -z "$(find "$dest" -type f)"

# --- make without network, make with a missing tool -----------------------------
# copy_tree DIR: the tree as a clone would have it (tracked files and untracked
# ones git does not ignore, as they are now), without build/.
copy_tree() {
	mkdir -p "$1"
	if git -C "$repo" rev-parse --git-dir >/dev/null 2>&1; then
		git -C "$repo" ls-files -z --cached --others --exclude-standard |
			tar -C "$repo" --null --ignore-failed-read -T - -cf - | tar -xf - -C "$1"
	else
		tar -C "$repo" --exclude=./build -cf - . | tar -xf - -C "$1"
	fi
}
# git_tree DIR: the same, as a git checkout of this commit with the same changes.
git_tree() {
	git clone -q --shared --no-checkout "$repo" "$1" && git -C "$1" checkout -q "$(git -C "$repo" rev-parse HEAD)" &&
		copy_tree "$1"
}

out=$(nonet make -s CLANG=clang-missing-here OUTPUT="$TEST_TMP/nobuild" 2>&1)
check_not "make with clang missing fails" test $? -eq 0
check "it names what is missing: $(head -1 <<<"$out")" grep -q "missing: clang-missing-here" <<<"$out"
check "it points at make deps" grep -q "make deps" <<<"$out"
check "it built nothing" test ! -e "$TEST_TMP/nobuild/portcullis.bpf.o"
out=$(nonet make -s PKG_MODULES="libbpf no-such-lib" OUTPUT="$TEST_TMP/nobuild" 2>&1)
check "a missing pkg-config module is named (no-such-lib.pc)" grep -q "missing: no-such-lib.pc" <<<"$out"
check "make with missing tools never ran apt-get or sudo" no_install_tried

# --- reproducible builds -------------------------------------------------------------
if command -v git >/dev/null && git -C "$repo" rev-parse --git-dir >/dev/null 2>&1; then
	a=$TEST_TMP/a/portcullis b=$TEST_TMP/bb/elsewhere/portcullis-copy
	git_tree "$a" && git_tree "$b"
	(cd "$a" && nonet make -s -j2 >"$TEST_TMP/a.log" 2>&1) &
	pid_a=$!
	(cd "$b" && nonet make -s -j2 >"$TEST_TMP/b.log" 2>&1)
	rc_b=$?
	wait "$pid_a"
	rc_a=$?
	check "make in a clean copy (no network: a fake apt-get first in PATH)" test "$rc_a$rc_b" = 00
	check "make never ran apt-get or sudo" no_install_tried
	for f in portcullis portcullis.bpf.o portcullis_explain.bpf.o portcullis.skel.h libportcullis.a; do
		check "two builds in two directories: build/$f is bit-identical" \
			cmp -s "$a/build/$f" "$b/build/$f"
	done
	no_path() { ! grep -qF -e "$a" -e "$TEST_TMP" "$a/build/$1"; }
	for f in portcullis portcullis.bpf.o portcullis.skel.h; do
		check "build/$f holds no build path" no_path "$f"
	done

	# --- the version ----------------------------------------------------------------
	release=$(cat VERSION)
	commit=$(git -C "$a" rev-parse --short=12 HEAD)$(git -C "$a" diff --quiet HEAD -- || echo -dirty)
	version=$("$a/build/portcullis" --version)
	check "VERSION is X.Y.Z ($release)" grep -qE '^[0-9]+\.[0-9]+\.[0-9]+$' VERSION
	check "--version from git: '$version'" test "$version" = "portcullis $release (git $commit)"
	c=$TEST_TMP/c/portcullis
	copy_tree "$c"
	check "a tree without git: make version says '$release'" \
		test "$(nonet make -s -C "$c" version)" = "$release"
	check "debian/changelog is at VERSION" test "$(dpkg-parsechangelog -S Version)" = "$release"
else
	skip "reproducible builds" "not a git checkout"
fi

# portcullis_info{version} is the release of --version.
if lab_up; then
	conf=$(write_config packaging.conf "allow tcp 22")
	if pc attach "$IF_SRV" -c "$conf" >/dev/null; then
		release=$("$PC" --version | awk '{ print $2 }')
		check "portcullis_info{version=\"$release\"} as --version says" \
			grep -qF "version=\"$release\"} 1" <<<"$(pc metrics "$IF_SRV")"
		pc detach "$IF_SRV" >/dev/null
	else
		not_ok "portcullis_info version" "attach failed"
	fi
else
	not_ok "portcullis_info version" "could not build the lab"
fi

# --- make deb, lintian, install and purge in a throwaway root ---------------------------
if command -v dpkg-buildpackage >/dev/null && command -v dh >/dev/null; then
	deb_out() { find "$1/deb" -maxdepth 1 -name 'portcullis_*.deb' 2>/dev/null | head -1; }
	nonet_deb make -s deb OUTPUT="$TEST_TMP/deb1" >"$TEST_TMP/deb1.log" 2>&1 &
	pid_deb=$!
	nonet_deb make -s -C "${a:-$repo}" deb OUTPUT="$TEST_TMP/deb2/x" >"$TEST_TMP/deb2.log" 2>&1
	rc2=$?
	wait "$pid_deb"
	rc1=$?
	deb=$(deb_out "$TEST_TMP/deb1")
	check "make deb builds ${deb##*/}" test "$rc1" -eq 0 -a -n "$deb"
	[ "$rc1" -ne 0 ] && tail -20 "$TEST_TMP/deb1.log"
	check "make deb in a git clone elsewhere" test "$rc2" -eq 0
	[ "$rc2" -ne 0 ] && tail -20 "$TEST_TMP/deb2.log"
	check "make deb never ran apt-get or sudo" no_install_tried
	check "make deb twice, in two directories: bit-identical .deb" \
		cmp -s "$deb" "$(deb_out "$TEST_TMP/deb2/x")"
	check "make deb leaves the working tree alone (no debian/portcullis, no ../*.deb)" \
		test ! -e debian/portcullis -a ! -e debian/files
	fortified() {
		dpkg-deb --fsys-tarfile "$deb" | tar -xOf - ./usr/sbin/portcullis >"$TEST_TMP/deb-bin" &&
			[ "$(nm -D "$TEST_TMP/deb-bin" | grep -c '_chk@')" -gt 0 ]
	}
	check "dpkg-buildflags reach the build: _FORTIFY_SOURCE *_chk symbols in the binary" fortified
	if command -v lintian >/dev/null; then
		lintian --fail-on error "$deb" >"$TEST_TMP/lintian.log" 2>&1
		rc=$?
		check "lintian: no error" test "$rc" -eq 0
		echo "lintian says: $(grep -v 'root privileges is not recommended' "$TEST_TMP/lintian.log" ||
			echo nothing)"
	else
		skip "lintian" "lintian is not installed"
	fi

	root_test=$TEST_TMP/root-test.sh
	cat >"$root_test" <<'ROOT'
# In a private mount namespace: / under an overlay whose upper layer is a
# tmpfs, so dpkg --root writes go nowhere real.
set -u
deb=$1 t=$2
ok() { echo "PASS: $1"; }
not_ok() { echo "FAIL: $1${2:+: $2}"; }
check() { local n=$1; shift; if "$@"; then ok "$n"; else not_ok "$n" "command failed: $*"; fi; }
mount -t tmpfs tmpfs "$t" && mkdir "$t/upper" "$t/work" "$t/root" &&
	mount -t overlay overlay -o "lowerdir=/,upperdir=$t/upper,workdir=$t/work" "$t/root" ||
	{ not_ok "throwaway root" "could not mount an overlay of /"; exit 1; }
r=$t/root
# The maintainer scripts write to /dev/null: the real one, not a file in the overlay.
mount --rbind /dev "$r/dev" && mount -t proc proc "$r/proc" ||
	{ not_ok "throwaway root" "could not mount /dev and /proc in it"; exit 1; }
if dpkg --root="$r" -i "$deb" >"$t/install.log" 2>&1; then
	ok "dpkg --root -i in a throwaway root"
else
	not_ok "dpkg --root -i in a throwaway root" "$(tail -5 "$t/install.log")"
fi
check "installed: portcullis --version" chroot "$r" /usr/sbin/portcullis --version
check "installed: the example config checks" \
	chroot "$r" /usr/sbin/portcullis check -c /usr/share/doc/portcullis/examples/portcullis.conf
for f in usr/share/man/man8/portcullis.8.gz lib/systemd/system/portcullis@.service \
	usr/share/bash-completion/completions/portcullis usr/share/doc/portcullis/copyright; do
	check "installed: /$f" test -s "$r/$f"
done
for f in config commands verdicts metrics; do
	check "installed: the user reference $f.md" \
		bash -c "ls '$r'/usr/share/doc/portcullis/$f.md* >/dev/null 2>&1"
done
check "no active config installed (/etc/portcullis/portcullis.conf is the admin's)" \
	test ! -e "$r/etc/portcullis/portcullis.conf"
check "the unit runs /usr/sbin/portcullis" grep -q "ExecStart=/usr/sbin/portcullis run %i" \
	"$r/lib/systemd/system/portcullis@.service"
# What run and detach write at run time: the saved bans.
mkdir -p "$r/var/lib/portcullis" && echo "portcullis-bans 1" >"$r/var/lib/portcullis/eth0.bans"
if dpkg --root="$r" --purge portcullis >"$t/purge.log" 2>&1; then
	ok "dpkg --root --purge"
else
	not_ok "dpkg --root --purge" "$(tail -5 "$t/purge.log")"
fi
# Files the package left in the upper layer (whiteouts, character devices,
# are things it deleted: /var/lib/portcullis if the host has one).
left=$(cd "$t/upper" && find . ! -type d ! -type c ! -path './var/lib/dpkg/*' ! -path './var/log/*' \
	! -path './var/cache/*' ! -path './tmp/*' ! -path './root/*' | head)
check "purge leaves nothing behind${left:+: $left}" test -z "$left"
check "purge removes the saved bans" test ! -e "$r/var/lib/portcullis"
check "dpkg knows nothing of it after purge" bash -c "! dpkg --root='$r' -s portcullis >/dev/null 2>&1"
ROOT
	if [ -n "$deb" ] && command -v unshare >/dev/null; then
		mkdir "$TEST_TMP/overlay"
		unshare -m --propagation private bash "$root_test" "$deb" "$TEST_TMP/overlay"
	else
		skip "install in a throwaway root" "no package built, or no unshare"
	fi
else
	skip "make deb" "dpkg-buildpackage or debhelper is not installed (scripts/deps.sh test)"
fi

# --- documentation -------------------------------------------------------------------
# Every link of README.md and docs/*.md points at a file of the repository.
links_inside() {
	local file target bad=""
	for file in README.md docs/*.md; do
		while read -r target; do
			target=${target%%#*}
			[ -z "$target" ] && continue
			case $target in
			*://* | mailto:*) bad="$bad $file:$target" ;;
			*) [ -e "$(dirname "$file")/$target" ] || bad="$bad $file:$target" ;;
			esac
			case $(realpath -m "$(dirname "$file")/$target") in
			"$repo"/*) ;;
			*) bad="$bad $file:$target" ;;
			esac
		done < <(grep -oE '\]\([^)]+\)' "$file" | sed -E 's/^\]\((.*)\)$/\1/')
	done
	[ -z "$bad" ] || { echo "links leaving the repository or dead:$bad"; return 1; }
}
check "README.md and docs/ link only to files inside the repository" links_inside
for f in config commands verdicts metrics; do
	check "docs/$f.md exists" test -s "docs/$f.md"
	check "README links docs/$f.md" grep -qF "(docs/$f.md)" README.md
done

# Every command of --help and every config directive is in the man page and docs/.
commands=$("$PC" --help | sed -n '/^commands:/,/^$/s/^  \([a-z-]*\) .*/\1/p')
check "--help lists commands ($(wc -w <<<"$commands"))" test "$(wc -w <<<"$commands")" -ge 15
directives=$(sed -n -e '/^static const struct choice/,/^};/s/^\t{ "\([a-z -]*\)".*/\1/p' \
	-e '/^} directives\[\] = {/,/^};/s/^\t{ "\([a-z-]*\)".*/\1/p' loader/config.c)
check "config.c has directives ($(wc -l <<<"$directives"))" test "$(wc -l <<<"$directives")" -ge 8
man_has() { grep -qE "^\.(B|BI|BR|IR|IP|TP) (.*[^a-z-])?${1//-/\\\\-}([^a-z]|\$)" man/portcullis.8; }
# docs/commands.md has a "## portcullis COMMAND" section per command,
# docs/config.md a "### DIRECTIVE" section per directive.
docs_has() { grep -qxF "$1" "docs/$2.md"; }
missing=""
for c in $commands; do
	man_has "$c" || missing="$missing man:$c"
	docs_has "## portcullis $c" commands || missing="$missing docs/commands.md:$c"
done
while read -r d; do
	[ -z "$d" ] && continue
	man_has "${d%% *}" || missing="$missing man:$d"
	docs_has "### ${d%% *}" config || missing="$missing docs/config.md:$d"
done <<<"$directives"
check "the man page and docs/ cover every command and directive${missing:+ (missing:$missing)}" \
	test -z "$missing"
