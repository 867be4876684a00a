# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#
#   make              build/portcullis (BPF object embedded through the skeleton);
#                     never installs anything: a missing tool or library is named
#   sudo make deps    install the Debian packages the build needs (apt-get)
#   sudo make test    every test; ends with "N passed, N failed"
#   make deb          a Debian package in build/deb/ (dpkg-buildpackage -us -uc -b)
#   sudo make demo    a throwaway lab, a real nmap scan, the counters
#   sudo make bench   benchmarks, bench/results/latest.md
#   make V=1          show full commands
#   make SANITIZE=1   AddressSanitizer + UBSan build under build/asan

OUTPUT ?= build
CLANG ?= clang
BPFTOOL ?= bpftool
CC ?= cc
PKG_CONFIG ?= pkg-config
PREFIX ?= /usr/local

# The release is the VERSION file. Built from a git checkout of this tree, the
# commit is added ("portcullis 0.2.0 (git 0123456789ab)"); make deb passes it
# in PORTCULLIS_GIT_COMMIT to its copy of the tree. Nothing else varies.
VERSION := $(shell cat VERSION)
PORTCULLIS_GIT_COMMIT ?= $(shell [ "$$(git rev-parse --show-toplevel 2>/dev/null)" = "$(CURDIR)" ] && \
	echo "$$(git rev-parse --short=12 HEAD)$$(git diff --quiet HEAD -- || echo -dirty)")
FULL_VERSION := $(VERSION)$(if $(PORTCULLIS_GIT_COMMIT), (git $(PORTCULLIS_GIT_COMMIT)))

# Libraries, found with pkg-config: a new library is one more module here,
# nothing else in this file to change. Its Debian -dev package goes in
# scripts/deps.sh (build=) and in debian/control's Build-Depends.
# libcurl and json-c: the CrowdSec bouncer (loader/crowdsec.c).
PKG_MODULES := libbpf libelf zlib libmicrohttpd libsystemd libcurl json-c
# Tools the build runs; a missing one or a missing module stops it with its name.
BUILD_TOOLS := $(CC) $(CLANG) $(BPFTOOL) $(PKG_CONFIG)

ARCH := $(shell uname -m | sed -e 's/x86_64/x86/' -e 's/aarch64/arm64/')

ifeq ($(SANITIZE),1)
OUTPUT := build/asan
SAN_FLAGS := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
endif

# Debian's clang does not search the multiarch include dir for the BPF
# target, so asm/types.h goes missing without these.
CLANG_BPF_SYS_INCLUDES ?= $(shell $(CLANG) -v -E - </dev/null 2>&1 \
	| sed -n '/<...> search starts here:/,/End of search list./{ s| \(/.*\)|-idirafter \1|p }')

# Build paths never reach the output: two builds of the same tree in two
# directories are bit-identical (tests/integration/packaging.sh checks it).
PREFIX_MAP := -ffile-prefix-map=$(CURDIR)=.

WARNINGS := -Wall -Wextra -Wshadow -Wno-unused-parameter -Wstrict-prototypes -Wmissing-prototypes
CFLAGS ?= -O2 -g
ALL_CFLAGS := $(CPPFLAGS) $(CFLAGS) $(WARNINGS) $(SAN_FLAGS) $(PREFIX_MAP) -std=gnu11 \
	-D_GNU_SOURCE -DPORTCULLIS_VERSION='"$(VERSION)"' -DPORTCULLIS_FULL_VERSION='"$(FULL_VERSION)"' \
	$(shell $(PKG_CONFIG) --cflags $(PKG_MODULES) 2>/dev/null) -I$(OUTPUT) -I. $(EXTRA_CFLAGS)
LDLIBS := $(shell $(PKG_CONFIG) --libs $(PKG_MODULES) 2>/dev/null) -lpthread -lm
ALL_LDFLAGS := $(LDFLAGS) $(SAN_FLAGS)

BPF_CFLAGS := -g -O2 -target bpf -D__TARGET_ARCH_$(ARCH) -mcpu=v3 -Wall -Wno-unused-function \
	$(PREFIX_MAP) $(CLANG_BPF_SYS_INCLUDES)

ifeq ($(V),1)
Q =
msg =
else
Q = @
msg = @printf '  %-8s %s\n' "$(1)" "$(2)";
MAKEFLAGS += --no-print-directory
endif

BPF_HDRS := $(wildcard bpf/*.h) maps/portcullis.h
LIB_SRCS := $(wildcard maps/*.c) $(filter-out loader/main.c,$(wildcard loader/*.c))
LIB_OBJS := $(patsubst %.c,$(OUTPUT)/obj/%.o,$(LIB_SRCS))
USER_HDRS := $(wildcard maps/*.h loader/*.h) $(OUTPUT)/portcullis.skel.h \
	$(OUTPUT)/portcullis_explain.skel.h
UNIT_TESTS := $(patsubst tests/unit/%.c,$(OUTPUT)/tests/%,$(wildcard tests/unit/test_*.c))

.DELETE_ON_ERROR:
.PHONY: FORCE all deps build-deps clean test unit-tests demo bench bench-quick install uninstall format deb version

all: $(OUTPUT)/portcullis

# The only target that installs packages (demo, test and bench call deps.sh too).
deps:
	$(Q)scripts/deps.sh build

# Checks, installs nothing: names every missing tool and pkg-config module.
# Only for the goals that may install (demo, bench), deps.sh runs first.
INSTALL_DEPS := $(if $(filter bench bench-quick,$(MAKECMDGOALS)),bench,$(if $(filter demo,$(MAKECMDGOALS)),test))
build-deps:
	$(Q)$(if $(INSTALL_DEPS),scripts/deps.sh $(INSTALL_DEPS) &&) \
		scripts/check-build-deps.sh "$(BUILD_TOOLS)" "$(PKG_CONFIG)" "$(PKG_MODULES)"

$(OUTPUT) $(OUTPUT)/obj/maps $(OUTPUT)/obj/loader $(OUTPUT)/tests: | build-deps
	$(Q)mkdir -p $@

$(OUTPUT)/portcullis.bpf.o: bpf/portcullis.bpf.c $(BPF_HDRS) | $(OUTPUT) build-deps
	$(call msg,BPF,$@)
	$(Q)$(CLANG) $(BPF_CFLAGS) -c $< -o $@.tmp
	$(Q)$(BPFTOOL) gen object $@ $@.tmp
	$(Q)rm -f $@.tmp

$(OUTPUT)/portcullis.skel.h: $(OUTPUT)/portcullis.bpf.o
	$(call msg,GEN-SKEL,$@)
	$(Q)$(BPFTOOL) gen skeleton $< name portcullis_bpf > $@

# "portcullis explain": the same program with every side effect compiled out.
$(OUTPUT)/portcullis_explain.bpf.o: bpf/portcullis.bpf.c $(BPF_HDRS) | $(OUTPUT) build-deps
	$(call msg,BPF,$@)
	$(Q)$(CLANG) $(BPF_CFLAGS) -DPC_NO_SIDE_EFFECTS -c $< -o $@.tmp
	$(Q)$(BPFTOOL) gen object $@ $@.tmp
	$(Q)rm -f $@.tmp

$(OUTPUT)/portcullis_explain.skel.h: $(OUTPUT)/portcullis_explain.bpf.o
	$(call msg,GEN-SKEL,$@)
	$(Q)$(BPFTOOL) gen skeleton $< name portcullis_explain_bpf > $@

$(OUTPUT)/obj/%.o: %.c $(USER_HDRS) | $(OUTPUT)/obj/maps $(OUTPUT)/obj/loader
	$(call msg,CC,$@)
	$(Q)$(CC) $(ALL_CFLAGS) -c $< -o $@

# The objects that print the version are rebuilt when it changes (a commit).
$(OUTPUT)/version.stamp: FORCE | $(OUTPUT)
	$(Q)echo '$(FULL_VERSION)' | cmp -s - $@ || echo '$(FULL_VERSION)' >$@
$(OUTPUT)/obj/loader/cli.o $(OUTPUT)/obj/loader/metrics.o: $(OUTPUT)/version.stamp
FORCE:

$(OUTPUT)/libportcullis.a: $(LIB_OBJS)
	$(call msg,AR,$@)
	$(Q)rm -f $@ && ar rcsD $@ $^

$(OUTPUT)/portcullis: $(OUTPUT)/obj/loader/main.o $(OUTPUT)/libportcullis.a
	$(call msg,BINARY,$@)
	$(Q)$(CC) $(ALL_LDFLAGS) $^ $(LDLIBS) -o $@

$(OUTPUT)/tests/%: tests/unit/%.c $(wildcard tests/unit/*.h) $(OUTPUT)/libportcullis.a $(USER_HDRS) | $(OUTPUT)/tests
	$(call msg,TEST-CC,$@)
	$(Q)$(CC) $(ALL_CFLAGS) -Itests/unit $(ALL_LDFLAGS) $< $(OUTPUT)/libportcullis.a $(LDLIBS) -o $@

unit-tests: $(UNIT_TESTS)

# The differential test #includes the reference model of tests/model/.
$(OUTPUT)/tests/test_differential: $(wildcard tests/model/*.[ch])

# The test suite runs the sanitizer build of the loader and the tests.
test:
	$(Q)scripts/deps.sh test
	$(Q)$(MAKE) SANITIZE=1 EXTRA_CFLAGS=-Werror build/asan/portcullis unit-tests
	$(Q)$(MAKE) $(OUTPUT)/portcullis build/bench/pcbench
	$(Q)tests/run.sh build/asan

demo: all
	$(Q)scripts/deps.sh test
	$(Q)examples/demo.sh $(OUTPUT)/portcullis

bench: all
	$(Q)scripts/deps.sh bench
	$(Q)bench/run.sh full

bench-quick: all
	$(Q)scripts/deps.sh bench
	$(Q)bench/run.sh quick

# sudo make install [PREFIX=/usr/local] [DESTDIR=staging]: the binary, the man
# page, the example config, the systemd unit (portcullis@IFACE.service) and
# bash completion. The config itself is never installed or overwritten.
SBINDIR ?= $(PREFIX)/sbin
MANDIR ?= $(PREFIX)/share/man
SYSCONFDIR ?= /etc
UNITDIR ?= $(PREFIX)/lib/systemd/system
COMPLETIONDIR ?= $(PREFIX)/share/bash-completion/completions
INSTALLED := $(SBINDIR)/portcullis $(MANDIR)/man8/portcullis.8 \
	$(SYSCONFDIR)/portcullis/portcullis.conf.example $(UNITDIR)/portcullis@.service \
	$(COMPLETIONDIR)/portcullis

install: all
	$(call msg,INSTALL,$(DESTDIR)$(SBINDIR)/portcullis)
	$(Q)install -D -m 0755 $(OUTPUT)/portcullis $(DESTDIR)$(SBINDIR)/portcullis
	$(call msg,INSTALL,$(DESTDIR)$(MANDIR)/man8/portcullis.8)
	$(Q)install -D -m 0644 man/portcullis.8 $(DESTDIR)$(MANDIR)/man8/portcullis.8
	$(call msg,INSTALL,$(DESTDIR)$(SYSCONFDIR)/portcullis/portcullis.conf.example)
	$(Q)install -D -m 0644 examples/portcullis.conf \
		$(DESTDIR)$(SYSCONFDIR)/portcullis/portcullis.conf.example
	$(call msg,INSTALL,$(DESTDIR)$(UNITDIR)/portcullis@.service)
	$(Q)install -d $(DESTDIR)$(UNITDIR)
	$(Q)sed -e 's|@SBINDIR@|$(SBINDIR)|g' -e 's|/etc/portcullis/|$(SYSCONFDIR)/portcullis/|g' \
		-e 's|/etc/default/|$(SYSCONFDIR)/default/|g' contrib/portcullis@.service \
		>$(DESTDIR)$(UNITDIR)/portcullis@.service
	$(Q)chmod 0644 $(DESTDIR)$(UNITDIR)/portcullis@.service
	$(call msg,INSTALL,$(DESTDIR)$(COMPLETIONDIR)/portcullis)
	$(Q)install -D -m 0644 contrib/portcullis.bash-completion $(DESTDIR)$(COMPLETIONDIR)/portcullis

uninstall:
	$(call msg,UNINSTALL,$(addprefix $(DESTDIR),$(INSTALLED)))
	$(Q)rm -f $(addprefix $(DESTDIR),$(INSTALLED))
	$(Q)rmdir $(DESTDIR)$(SYSCONFDIR)/portcullis 2>/dev/null || true

# The release (VERSION), for scripts: make -s version
version:
	@echo '$(VERSION)'

# make deb: builds a copy of the tree (tracked and untracked-not-ignored files)
# in build/deb/portcullis-VERSION/ with dpkg-buildpackage -us -uc -b; the
# .deb, .buildinfo and .changes land in build/deb/. Needs debhelper (make deps
# does not install it: scripts/deps.sh test does).
deb:
	$(Q)PORTCULLIS_GIT_COMMIT='$(PORTCULLIS_GIT_COMMIT)' scripts/make-deb.sh $(OUTPUT)/deb $(VERSION)

format:
	clang-format -i bpf/*.c bpf/*.h maps/*.[ch] loader/*.[ch] tests/unit/*.[ch]

-include bench/bench.mk
-include tests/fuzz/fuzz.mk

clean:
	$(call msg,CLEAN)
	$(Q)rm -rf build
