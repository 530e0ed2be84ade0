# SPDX-License-Identifier: GPL-2.0-only
#
# libxipsec: userspace code shared by xipsec (loader/) and xiked (iked/):
# logging, xfrm netlink, pinned-map access. Linked statically into both.

LIB_SRCS := $(wildcard lib/*.c)
LIB_OBJS := $(patsubst %.c,$(BUILD)/%.o,$(LIB_SRCS))
LIB_A    := $(BUILD)/libxipsec.a


$(LIB_A): $(LIB_OBJS)
	$(call msg,AR,$@)
	$(Q)rm -f $@
	$(Q)$(AR) rcs $@ $^
