#!/bin/bash
# What 'make install' ships and what contrib/ holds: the binary, a man page
# that man can read, the example config, a hardened Type=notify systemd
# unit, bash completion, Prometheus alert rules (checked and unit-tested
# with promtool) and a Grafana dashboard that parses. 'make uninstall'
# removes it all again.
. "$(dirname "$0")/../lib.sh"
cd "$TESTS_DIR/.." || exit 1

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
out=$(env -u MAKEFLAGS -u MAKELEVEL make -s install DESTDIR="$dest" PREFIX=/usr 2>&1)
check "make install DESTDIR=... PREFIX=/usr" test $? -eq 0
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
check "bash completion: commands" test "$(complete_words portcullis ex)" = exporter
check "bash completion: run options" \
	test "$(complete_words portcullis run lo --k)" = --keep
check "bash completion: interfaces" bash -c "grep -qw lo <<<'$(complete_words portcullis stats '')'"
check "bash completion: xdp modes" \
	test "$(complete_words portcullis attach lo --xdp-mode '')" = "auto native generic"

out=$(env -u MAKEFLAGS -u MAKELEVEL make -s uninstall DESTDIR="$dest" PREFIX=/usr 2>&1)
check "make uninstall" test $? -eq 0
check "make uninstall leaves no file behind" test -z "$(find "$dest" -type f)"
