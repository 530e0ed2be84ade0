# SPDX-License-Identifier: GPL-2.0-only
#
# The `xipsec` command. loader/main.c holds main(); everything else is linkable
# into tests (LOADER_LIB_OBJS).

LOADER_SRCS     := $(wildcard loader/*.c)
LOADER_OBJS     := $(patsubst %.c,$(BUILD)/%.o,$(LOADER_SRCS))
LOADER_LIB_SRCS := $(filter-out loader/main.c,$(LOADER_SRCS))
XIPSEC_BIN      := $(BUILD)/xipsec


$(XIPSEC_BIN): $(LOADER_OBJS) $(LIB_A)
	$(call msg,LINK,$@)
	$(Q)$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(LDLIBS_ALL)

BINS += $(XIPSEC_BIN)
