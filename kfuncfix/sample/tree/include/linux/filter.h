/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Helper definition macros for the kfuncfix sample tree.
 */
#ifndef __LINUX_FILTER_H__
#define __LINUX_FILTER_H__

#include <linux/bpf.h>
#include <linux/types.h>

/*
 * BPF_CALL_n(name, type1, arg1, ...) opens the definition of a helper that
 * takes n arguments: it defines name() with the five-register calling
 * convention, which casts its registers and calls ____name(), whose body
 * follows the macro.
 */
#define BPF_CALL_0(name)					\
	static __always_inline u64 ____##name(void);		\
	u64 name(u64 r1, u64 r2, u64 r3, u64 r4, u64 r5)	\
	{							\
		return ____##name();				\
	}							\
	static __always_inline u64 ____##name(void)

#define BPF_CALL_1(name, t1, a1)				\
	static __always_inline u64 ____##name(t1 a1);		\
	u64 name(u64 r1, u64 r2, u64 r3, u64 r4, u64 r5)	\
	{							\
		return ____##name((t1)r1);			\
	}							\
	static __always_inline u64 ____##name(t1 a1)

#endif /* __LINUX_FILTER_H__ */
