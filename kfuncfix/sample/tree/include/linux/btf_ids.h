/* SPDX-License-Identifier: GPL-2.0 */
#ifndef _LINUX_BTF_IDS_H
#define _LINUX_BTF_IDS_H

/*
 * Lists and sets of BTF ids, in the simplified form of the kfuncfix
 * sample tree.
 *
 * Every BTF_ID(kind, name) leaves one zeroed 32-bit word in the .BTF_ids
 * section, under a local symbol that spells out what it stands for
 * (__BTF_ID__func__name__<n>).  After the link, a build tool looks each
 * such symbol up in the BTF of the image and stores the id in the word.
 *
 *   BTF_ID_LIST(x)		x[] is the words that follow, in order
 *   BTF_SET_START(x)	x is a struct btf_id_set: a count, then ids
 *   BTF_SET8_START(x)	x is a struct btf_id_set8: a count, set flags,
 *			then (id, flags) pairs written by BTF_ID_FLAGS()
 */

#include <linux/compiler.h>
#include <linux/types.h>

struct btf_id_set {
	u32 cnt;
	u32 ids[];
};

struct btf_id_set8 {
	u32 cnt;
	u32 flags;
	struct {
		u32 id;
		u32 flags;
	} pairs[];
};

#ifdef CONFIG_DEBUG_INFO_BTF

#define __btf_ids_str(x)			#x
#define __btf_ids_xstr(x)			__btf_ids_str(x)
#define __btf_ids_sym(kind, name, n)		__BTF_ID__##kind##__##name##__##n
#define __btf_ids_xsym(kind, name, n)		__btf_ids_sym(kind, name, n)
#define __btf_ids_first(zero, flags, ...)	flags

/* Append assembler text to the .BTF_ids section. */
#define __btf_ids_emit(text)	\
	asm(".pushsection .BTF_ids,\"a\"\n" text "\n.popsection\n")

/* A local label followed by one zeroed word. */
#define __btf_ids_word(sym)	\
	__btf_ids_emit(".local " sym "\n" sym ":\n.long 0")

#define BTF_ID(kind, name)	\
	__btf_ids_word(__btf_ids_xstr(__btf_ids_xsym(kind, name, __COUNTER__)));

/* Keeps a slot of a list in place after its object went away. */
#define BTF_ID_UNUSED	\
	__btf_ids_emit(".long 0");

#define BTF_ID_FLAGS(kind, name, ...)	\
	BTF_ID(kind, name)		\
	__btf_ids_emit(".long " __btf_ids_xstr(__btf_ids_first(0, ##__VA_ARGS__, 0)));

#define BTF_ID_LIST(name)				\
	__btf_ids_emit(".local " #name "\n" #name ":");	\
	extern u32 name[];

#define BTF_SET_START(name)					\
	__btf_ids_word(__btf_ids_str(__BTF_ID__set__##name));	\
	extern struct btf_id_set name;

#define BTF_SET_END(name)					\
	__btf_ids_emit(".local __BTF_ID__set_end__" #name "\n"	\
			"__BTF_ID__set_end__" #name ":");

#define BTF_SET8_START(name)					\
	__btf_ids_word(__btf_ids_str(__BTF_ID__set8__##name));	\
	__btf_ids_emit(".long 0");				\
	extern struct btf_id_set8 name;

#define BTF_SET8_END(name)					\
	__btf_ids_emit(".local __BTF_ID__set8_end__" #name "\n"	\
			"__BTF_ID__set8_end__" #name ":");

#else /* !CONFIG_DEBUG_INFO_BTF */

/* Without BTF there is nothing to resolve: lists read as zeroes, sets as empty. */
#define BTF_ID(kind, name)
#define BTF_ID_UNUSED
#define BTF_ID_FLAGS(kind, name, ...)
#define BTF_ID_LIST(name)	static u32 __maybe_unused name[16];
#define BTF_SET_START(name)	static struct btf_id_set __maybe_unused name = { 0 };
#define BTF_SET_END(name)
#define BTF_SET8_START(name)	static struct btf_id_set8 __maybe_unused name = { 0 };
#define BTF_SET8_END(name)

#endif /* CONFIG_DEBUG_INFO_BTF */

#endif /* _LINUX_BTF_IDS_H */
