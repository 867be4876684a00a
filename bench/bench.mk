# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# Build rules for the benchmark harness, included by the top Makefile.
# Everything lands under $(OUTPUT)/bench/.

BENCH_OUT := $(OUTPUT)/bench
BENCH_BPF := bare gen
BENCH_SKELS := $(patsubst %,$(BENCH_OUT)/%.skel.h,$(BENCH_BPF))
BENCH_SRCS := $(filter-out %.bpf.c,$(wildcard bench/*.c))

.PHONY: bench-build
.SECONDARY: $(patsubst %,$(BENCH_OUT)/%.bpf.o,$(BENCH_BPF))

bench-build: $(BENCH_OUT)/pcbench

bench bench-quick: bench-build

$(BENCH_OUT):
	$(Q)mkdir -p $@

$(BENCH_OUT)/%.bpf.o: bench/%.bpf.c | $(BENCH_OUT)
	$(call msg,BPF,$@)
	$(Q)$(CLANG) $(BPF_CFLAGS) -c $< -o $@.tmp
	$(Q)$(BPFTOOL) gen object $@ $@.tmp
	$(Q)rm -f $@.tmp

$(BENCH_OUT)/%.skel.h: $(BENCH_OUT)/%.bpf.o
	$(call msg,GEN-SKEL,$@)
	$(Q)$(BPFTOOL) gen skeleton $< name $*_bpf > $@

$(BENCH_OUT)/pcbench: $(BENCH_SRCS) $(wildcard bench/*.h) $(BENCH_SKELS) $(OUTPUT)/libportcullis.a \
		$(USER_HDRS)
	$(call msg,BENCH-CC,$@)
	$(Q)$(CC) $(ALL_CFLAGS) -I$(BENCH_OUT) -Imaps $(ALL_LDFLAGS) $(BENCH_SRCS) \
		$(OUTPUT)/libportcullis.a $(LDLIBS) -o $@
