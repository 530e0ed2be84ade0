# SPDX-License-Identifier: GPL-2.0-only
#
# Benchmarks (not part of `make test`): `make bench` builds $(BUILD)/bench/classify_bench.
# Run as root: build/bench/classify_bench [--rules 10,1000,10000,100000] [--cpu N] [--xfrm 100000]

BENCH_BIN := $(BUILD)/bench/classify_bench

$(BENCH_BIN): bench/classify_bench.c $(LIB_A) | $(BPF_SKELS)
	$(call msg,LINK,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(CFLAGS) $(XCFLAGS) -o $@ $< $(LIB_A) $(LDLIBS_ALL)

bench: $(BENCH_BIN)

.PHONY: bench
