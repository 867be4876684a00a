# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# libFuzzer targets (clang): the config parser, the token parsers and the
# command line. Included by the top-level Makefile.
#
#   make fuzz-build                  build/fuzz/fuzz_{config,tokens,cli}
#   make fuzz [FUZZ_SECONDS=20]      run each target that long on its corpus
#
# Seeds are tests/fuzz/corpus/TARGET/ (committed, read only); what a run
# finds goes to build/fuzz/corpus/TARGET/, crashes to build/fuzz/crashes/.
# tests/integration/fuzz.sh runs the same thing inside "make test".

FUZZ_OUT := build/fuzz
FUZZ_CC ?= clang
FUZZ_SECONDS ?= 20
FUZZ_TARGETS := fuzz_config fuzz_tokens fuzz_cli
FUZZ_SAN := -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer
FUZZ_CFLAGS := -g -O1 $(WARNINGS) -Werror $(FUZZ_SAN) -std=gnu11 -D_GNU_SOURCE \
	-DPORTCULLIS_VERSION='"$(VERSION)"' -I. -Itests/fuzz
FUZZ_HDRS := $(wildcard loader/*.h maps/*.h tests/fuzz/*.h)

.PHONY: fuzz fuzz-build

$(FUZZ_OUT)/obj/%.o: %.c $(FUZZ_HDRS)
	$(call msg,FUZZ-CC,$@)
	$(Q)mkdir -p $(dir $@)
	$(Q)$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -c $< -o $@

# The loader objects each target needs, compiled with coverage for the fuzzer.
CONFIG_OBJS := $(addprefix $(FUZZ_OUT)/obj/loader/,config.o config_words.o config_files.o)
$(FUZZ_OUT)/fuzz_config: $(CONFIG_OBJS)
$(FUZZ_OUT)/fuzz_tokens: $(CONFIG_OBJS)
$(FUZZ_OUT)/fuzz_cli: $(FUZZ_OUT)/obj/loader/cli.o $(FUZZ_OUT)/obj/loader/log.o $(CONFIG_OBJS)

$(FUZZ_OUT)/fuzz_%: tests/fuzz/fuzz_%.c $(FUZZ_HDRS)
	$(call msg,FUZZ-LD,$@)
	$(Q)$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer $< $(filter %.o,$^) -lbpf -o $@

fuzz-build: $(addprefix $(FUZZ_OUT)/,$(FUZZ_TARGETS))

fuzz: fuzz-build
	$(Q)FUZZ_SECONDS=$(FUZZ_SECONDS) FUZZ_BUILD=$(FUZZ_OUT) tests/fuzz/run.sh $(FUZZ_TARGETS)
