# SPDX-License-Identifier: GPL-2.0-only
#
# The `xiked` IKEv2 daemon. iked/main.c holds main(); everything else is linkable
# into unit, in-process and fuzz tests (IKED_LIB_SRCS).

IKED_SRCS     := $(wildcard iked/*.c)
IKED_OBJS     := $(patsubst %.c,$(BUILD)/%.o,$(IKED_SRCS))
IKED_LIB_SRCS := $(filter-out iked/main.c,$(IKED_SRCS))
XIKED_BIN     := $(BUILD)/xiked


$(XIKED_BIN): $(IKED_OBJS) $(LIB_A)
	$(call msg,LINK,$@)
	$(Q)$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(LDLIBS_ALL)

BINS += $(XIKED_BIN)
