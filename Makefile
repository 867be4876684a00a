# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#
#   make              build/portcullis (BPF object embedded through the skeleton)
#   sudo make test    every test; ends with "N passed, N failed"
#   sudo make demo    a throwaway lab, a real nmap scan, the counters
#   sudo make bench   benchmarks, bench/results/latest.md
#   make V=1          show full commands
#   make SANITIZE=1   AddressSanitizer + UBSan build under build/asan

OUTPUT ?= build
CLANG ?= clang
BPFTOOL ?= bpftool
CC ?= cc
PREFIX ?= /usr/local
VERSION := $(shell git describe --always --dirty 2>/dev/null || echo 0.1)

ARCH := $(shell uname -m | sed -e 's/x86_64/x86/' -e 's/aarch64/arm64/')

ifeq ($(SANITIZE),1)
OUTPUT := build/asan
SAN_FLAGS := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
endif

# Debian's clang does not search the multiarch include dir for the BPF
# target, so asm/types.h goes missing without these.
CLANG_BPF_SYS_INCLUDES ?= $(shell $(CLANG) -v -E - </dev/null 2>&1 \
	| sed -n '/<...> search starts here:/,/End of search list./{ s| \(/.*\)|-idirafter \1|p }')

WARNINGS := -Wall -Wextra -Wshadow -Wno-unused-parameter -Wstrict-prototypes -Wmissing-prototypes
CFLAGS ?= -O2 -g
ALL_CFLAGS := $(CFLAGS) $(WARNINGS) $(SAN_FLAGS) -std=gnu11 -D_GNU_SOURCE \
	-DPORTCULLIS_VERSION='"$(VERSION)"' -I$(OUTPUT) -I. $(EXTRA_CFLAGS)
LDLIBS := -lbpf -lelf -lz -lmicrohttpd -lsystemd -lm
ALL_LDFLAGS := $(LDFLAGS) $(SAN_FLAGS)
# The CrowdSec bouncer (loader/crowdsec.c): HTTP by libcurl, JSON by json-c.
PKG_CONFIG ?= pkg-config
CROWDSEC_PKGS := libcurl json-c
ALL_CFLAGS += $(shell $(PKG_CONFIG) --cflags $(CROWDSEC_PKGS) 2>/dev/null)
LDLIBS += $(shell $(PKG_CONFIG) --libs $(CROWDSEC_PKGS) 2>/dev/null || echo -lcurl -ljson-c) -lpthread

BPF_CFLAGS := -g -O2 -target bpf -D__TARGET_ARCH_$(ARCH) -mcpu=v3 -Wall -Wno-unused-function \
	$(CLANG_BPF_SYS_INCLUDES)

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
.PHONY: all deps clean test unit-tests demo bench bench-quick install uninstall format

all: deps $(OUTPUT)/portcullis

deps:
	$(Q)scripts/deps.sh build

$(OUTPUT) $(OUTPUT)/obj/maps $(OUTPUT)/obj/loader $(OUTPUT)/tests:
	$(Q)mkdir -p $@

$(OUTPUT)/portcullis.bpf.o: bpf/portcullis.bpf.c $(BPF_HDRS) | $(OUTPUT)
	$(call msg,BPF,$@)
	$(Q)$(CLANG) $(BPF_CFLAGS) -c $< -o $@.tmp
	$(Q)$(BPFTOOL) gen object $@ $@.tmp
	$(Q)rm -f $@.tmp

$(OUTPUT)/portcullis.skel.h: $(OUTPUT)/portcullis.bpf.o
	$(call msg,GEN-SKEL,$@)
	$(Q)$(BPFTOOL) gen skeleton $< name portcullis_bpf > $@

# "portcullis explain": the same program with every side effect compiled out.
$(OUTPUT)/portcullis_explain.bpf.o: bpf/portcullis.bpf.c $(BPF_HDRS) | $(OUTPUT)
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

$(OUTPUT)/libportcullis.a: $(LIB_OBJS)
	$(call msg,AR,$@)
	$(Q)rm -f $@ && ar rcs $@ $^

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

format:
	clang-format -i bpf/*.c bpf/*.h maps/*.[ch] loader/*.[ch] tests/unit/*.[ch]

-include bench/bench.mk
-include tests/fuzz/fuzz.mk

clean:
	$(call msg,CLEAN)
	$(Q)rm -rf build
