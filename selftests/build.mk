# SPDX-License-Identifier: GPL-2.0-only
#
# Tests. `make test` builds everything, then selftests/run.sh runs each group and
# prints one summary line ("N passed, N failed, N skipped"); non-zero on any failure.
#
#   selftests/unit/test_*.c   cmocka, built with ASan/UBSan, linked against the
#                             sanitizer archives of lib/, loader/ and iked/
#   selftests/bpf/test_*.c    cmocka + BPF_PROG_TEST_RUN on the host kernel (root)
#   selftests/fuzz/fuzz_*.c   libFuzzer targets (clang, ASan/UBSan), seed corpus in
#                             selftests/fuzz/corpus/<name>/, run for a bounded time
#   selftests/vm/tests/*.sh   end-to-end, each in its own VM boot (selftests/vm/vm-run)

FUZZ_BUILD := $(BUILD)/fuzz
FUZZ_FLAGS := -fsanitize=fuzzer-no-link,address,undefined -fno-omit-frame-pointer

SAN_LIB_A    := $(SAN_BUILD)/libxipsec.a
SAN_LOADER_A := $(SAN_BUILD)/libloader.a
SAN_IKED_A   := $(SAN_BUILD)/libiked.a
SAN_ARCHIVES := $(SAN_IKED_A) $(SAN_LOADER_A) $(SAN_LIB_A)

$(SAN_LIB_A): $(patsubst %.c,$(SAN_BUILD)/%.o,$(LIB_SRCS))
$(SAN_LOADER_A): $(patsubst %.c,$(SAN_BUILD)/%.o,$(LOADER_LIB_SRCS))
$(SAN_IKED_A): $(patsubst %.c,$(SAN_BUILD)/%.o,$(IKED_LIB_SRCS))
$(SAN_ARCHIVES):
	$(call msg,AR,$@)
	$(Q)mkdir -p $(@D)
	$(Q)rm -f $@
	$(Q)$(AR) rcs $@ $^

UNIT_SRCS  := $(wildcard selftests/unit/test_*.c)
UNIT_BINS  := $(patsubst %.c,$(SAN_BUILD)/%,$(UNIT_SRCS))
BPFT_SRCS  := $(wildcard selftests/bpf/test_*.c)
BPFT_BINS  := $(patsubst %.c,$(SAN_BUILD)/%,$(BPFT_SRCS))
FUZZ_SRCS  := $(wildcard selftests/fuzz/fuzz_*.c)
FUZZ_BINS  := $(patsubst %.c,$(FUZZ_BUILD)/%,$(FUZZ_SRCS))
# Parser sources the fuzz targets link, compiled with clang's instrumentation.
FUZZ_LIB_SRCS := $(LIB_SRCS) $(IKED_LIB_SRCS) $(LOADER_LIB_SRCS)
FUZZ_LIB_OBJS := $(patsubst %.c,$(FUZZ_BUILD)/%.o,$(FUZZ_LIB_SRCS))

$(SAN_BUILD)/selftests/%: selftests/%.c $(SAN_ARCHIVES) | $(BPF_SKELS)
	$(call msg,TEST,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) -O1 -g $(SAN_FLAGS) $(XCFLAGS) -Wno-unused-parameter -Iselftests/include -o $@ $< \
		$(SAN_ARCHIVES) -lcmocka $(LDLIBS_ALL)

$(FUZZ_BUILD)/%.o: %.c | $(BPF_SKELS)
	$(call msg,CC-FUZZ,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CLANG) -O1 -g $(FUZZ_FLAGS) $(filter-out -fstack-protector-strong,$(XCFLAGS)) -c $< -o $@

# An archive, so a target only pulls the objects it uses (loader/cmd_*.o refer
# to loader/main.c, which is not linked).
FUZZ_LIB_A := $(FUZZ_BUILD)/libfuzzlib.a
$(FUZZ_LIB_A): $(FUZZ_LIB_OBJS)
	$(call msg,AR,$@)
	$(Q)rm -f $@
	$(Q)$(AR) rcs $@ $^

$(FUZZ_BUILD)/selftests/fuzz/%: $(FUZZ_BUILD)/selftests/fuzz/%.o $(FUZZ_LIB_A)
	$(call msg,FUZZ,$@)
	$(Q)$(CLANG) -fsanitize=fuzzer,address,undefined -o $@ $^ $(LDLIBS_ALL)

test-build: $(UNIT_BINS) $(BPFT_BINS) $(FUZZ_BINS)

test: $(DEPS_STAMP)
	$(Q)$(MAKE) build-all test-build
	$(Q)selftests/run.sh $(BUILD) unit bpf fuzz vm

test-unit test-bpf test-fuzz test-vm: $(DEPS_STAMP)
	$(Q)$(MAKE) build-all test-build
	$(Q)selftests/run.sh $(BUILD) $(patsubst test-%,%,$@)

demo: $(DEPS_STAMP)
	$(Q)$(MAKE) build-all
	$(Q)selftests/vm/vm-run --timeout 600 -- selftests/vm/demo.sh

check: $(DEPS_STAMP)
	$(Q)$(MAKE) build-all
	$(Q)scripts/check.sh $(BUILD)

.PHONY: test test-build test-unit test-bpf test-fuzz test-vm demo check
