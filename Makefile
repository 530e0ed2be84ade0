# SPDX-License-Identifier: GPL-2.0-only
#
# xipsec: one top-level Makefile; each directory adds its part in build.mk.
# `make help` lists the targets. Output goes to $(BUILD), never the source tree.

.DELETE_ON_ERROR:
.SUFFIXES:
# Keep intermediate objects (fuzz targets) so a second make does nothing.
.SECONDARY:
.DEFAULT_GOAL := all

BUILD    ?= build
PREFIX   ?= /usr/local
DESTDIR  ?=
BINDIR   ?= $(PREFIX)/sbin
MANDIR   ?= $(PREFIX)/share/man
CLANG    ?= clang
BPFTOOL  ?= bpftool
LLVM_STRIP ?= llvm-strip
PKG_CONFIG ?= pkg-config
# Skip the apt-get check (e.g. on a non-Debian build host): make NODEPS=1
NODEPS   ?=

ifeq ($(V),1)
Q :=
msg :=
else
Q := @
msg = @printf '  %-8s %s\n' "$(1)" "$(2)";
MAKEFLAGS += --no-print-directory
endif

LIBS_PC  := libbpf libxdp libmnl libcrypto
WARNINGS := -Wall -Wextra -Wmissing-prototypes -Wstrict-prototypes -Wshadow \
	    -Wformat=2 -Wpointer-arith -Wundef -Wvla
CFLAGS   ?= -O2 -g
XCFLAGS  := -std=gnu11 $(WARNINGS) -D_GNU_SOURCE -fstack-protector-strong \
	    -D_FORTIFY_SOURCE=2 -Iinclude -Ilib -I$(BUILD)/bpf -MMD -MP \
	    $(shell $(PKG_CONFIG) --cflags $(LIBS_PC) 2>/dev/null)
LDLIBS_ALL := $(shell $(PKG_CONFIG) --libs $(LIBS_PC) 2>/dev/null) -lelf -lz

# Sanitizer flavour of the userspace code, used by `make test`.
SAN_BUILD := $(BUILD)/san
SAN_FLAGS := -fsanitize=address,undefined -fno-omit-frame-pointer \
	     -fno-sanitize-recover=undefined

DEPS_STAMP := $(if $(NODEPS),,deps)

all: $(DEPS_STAMP)
	$(Q)$(MAKE) build-all

deps:
	$(Q)scripts/deps.sh

# Everything below assumes the dependencies are present.
include bpf/build.mk
include lib/build.mk
include loader/build.mk
include iked/build.mk
include selftests/build.mk
include docs/build.mk
include bench/build.mk

build-all: $(BPF_OBJS) $(BPF_SKELS) $(BINS) $(MANPAGES)

$(BUILD)/%.o: %.c | $(BPF_SKELS)
	$(call msg,CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(CFLAGS) $(XCFLAGS) -c $< -o $@

$(SAN_BUILD)/%.o: %.c | $(BPF_SKELS)
	$(call msg,CC-SAN,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) -O1 -g $(SAN_FLAGS) $(XCFLAGS) -c $< -o $@

install: $(DEPS_STAMP)
	$(Q)$(MAKE) build-all
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(MANDIR)/man8 $(DESTDIR)$(MANDIR)/man5
	install -m 0755 $(BINS) $(DESTDIR)$(BINDIR)/
	$(if $(MANPAGES8),install -m 0644 $(MANPAGES8) $(DESTDIR)$(MANDIR)/man8/)
	$(if $(MANPAGES5),install -m 0644 $(MANPAGES5) $(DESTDIR)$(MANDIR)/man5/)

uninstall:
	rm -f $(addprefix $(DESTDIR)$(BINDIR)/,$(notdir $(BINS)))
	rm -f $(addprefix $(DESTDIR)$(MANDIR)/man8/,$(notdir $(MANPAGES8)))
	rm -f $(addprefix $(DESTDIR)$(MANDIR)/man5/,$(notdir $(MANPAGES5)))

clean:
	rm -rf $(BUILD)

format:
	clang-format -i $$(git ls-files '*.c' '*.h')

help:
	@echo 'Targets:'
	@echo '  all (default)  build BPF objects, skeletons, xipsec, xiked, man pages'
	@echo '  deps           install missing Debian packages (apt-get; idempotent)'
	@echo '  test           all tests: unit (ASan/UBSan), BPF, fuzz, VM'
	@echo '  test-unit test-bpf test-fuzz test-vm   one group of tests'
	@echo '  check          static analysis (cppcheck, clang-tidy)'
	@echo '  demo           the demo topology in the VM, tunnel and counters shown'
	@echo '  install        to $$(DESTDIR)$$(PREFIX) (PREFIX=$(PREFIX))'
	@echo '  clean          remove $(BUILD)/'
	@echo 'Variables: V=1 (verbose), BUILD=dir, NODEPS=1, VM_TESTS="name ..."'

.PHONY: all deps build-all install uninstall clean format help

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
