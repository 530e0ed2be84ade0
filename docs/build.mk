# SPDX-License-Identifier: GPL-2.0-only
#
# Man pages from scdoc sources: docs/man/<page>.<section>.scd

MAN_SRCS  := $(wildcard docs/man/*.scd)
MANPAGES  := $(patsubst docs/man/%.scd,$(BUILD)/man/%,$(MAN_SRCS))
MANPAGES8 := $(filter %.8,$(MANPAGES))
MANPAGES5 := $(filter %.5,$(MANPAGES))

$(BUILD)/man/%: docs/man/%.scd
	$(call msg,SCDOC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)scdoc < $< > $@
