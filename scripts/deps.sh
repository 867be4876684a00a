#!/bin/sh
# Install the Debian packages a build or test needs, and only the missing ones.
# Usage: scripts/deps.sh build|test|bench|all
# Run by "make deps", "make test", "make demo" and "make bench"; never by
# "make" or "make install" (they only check, scripts/check-build-deps.sh).
set -eu

# A library added to the Makefile's PKG_MODULES gets its -dev package here.
build="clang libbpf-dev libelf-dev zlib1g-dev bpftool make gcc pkg-config libmicrohttpd-dev libsystemd-dev libcurl4-openssl-dev libjson-c-dev"
# packaging.sh: make deb, lintian, the package installed in a throwaway root.
packaging="debhelper dpkg-dev devscripts lintian fakeroot"
test="$build $packaging llvm iproute2 nmap ncat socat curl libclang-rt-14-dev prometheus python3 valgrind xdp-tools man-db groff iptables crowdsec"
bench="$test gnuplot-nox nftables ethtool"

case "${1:-build}" in
build) want=$build ;;
test) want=$test ;;
bench | all) want=$bench ;;
*) echo "usage: $0 build|test|bench|all" >&2; exit 2 ;;
esac

missing=""
for pkg in $want; do
	status=$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null || true)
	case "$status" in
	*"install ok installed"*) ;;
	*) missing="$missing $pkg" ;;
	esac
done
[ -z "$missing" ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
	echo "portcullis: missing Debian packages:$missing" >&2
	echo "portcullis: run as root (sudo make ...) to install them, or: sudo apt-get install$missing" >&2
	exit 1
fi
echo "  DEPS   installing:$missing"
# crowdsec's postinst registers with the online Central API unless these
# credentials exist and are not empty; the tests use its Local API only.
case " $missing " in
*" crowdsec "*)
	mkdir -p /etc/crowdsec
	[ -s /etc/crowdsec/online_api_credentials.yaml ] ||
		echo 'url: http://127.0.0.1:1/' >/etc/crowdsec/online_api_credentials.yaml
	;;
esac
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >/dev/null
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $missing >/dev/null
# The tests start their own Local API; the packaged service is not wanted.
case " $missing " in
*" crowdsec "*)
	systemctl disable --now crowdsec >/dev/null 2>&1 || true
	;;
esac
