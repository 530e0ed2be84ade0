/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Fixed-width types for headers shared by BPF programs and userspace.
 *
 * BPF objects include vmlinux.h first, which already defines __u8..__u64 and
 * __be16/__be32; userspace gets them from <linux/types.h>.
 */
#ifndef XIPSEC_TYPES_H
#define XIPSEC_TYPES_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

#define XIPSEC_ASSERT_SIZE(type, size) \
	_Static_assert(sizeof(type) == (size), "sizeof(" #type ") changed")
#define XIPSEC_ASSERT_OFF(type, field, off) \
	_Static_assert(__builtin_offsetof(type, field) == (off), #type "." #field " moved")

#endif
