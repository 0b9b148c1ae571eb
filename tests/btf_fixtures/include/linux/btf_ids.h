/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Stand-ins for the kernel's annotations and BTF id set macros, small enough
 * for a test: the set and entry symbols in .BTF_ids follow the kernel's naming
 * (__BTF_ID__set8__<set>, __BTF_ID__func__<name>__<n>) so the audit can read
 * the sets back from the object file.
 */
#ifndef KFUNCFIX_TEST_BTF_IDS_H
#define KFUNCFIX_TEST_BTF_IDS_H

#define __used __attribute__((__used__))
#define noinline __attribute__((__noinline__))
#define __bpf_kfunc __used noinline

#define __BTF_IDS_ASM(text) asm(".pushsection .BTF_ids,\"a\"\n" text ".popsection\n");
#define __BTF_SET8(set, flags)                                              \
	extern const char set[] __asm__("__BTF_ID__set8__" #set);          \
	__BTF_IDS_ASM(".local __BTF_ID__set8__" #set "\n"                  \
		      "__BTF_ID__set8__" #set ":\n.zero 4\n.long " #flags "\n")
#define BTF_KFUNCS_START(set) __BTF_SET8(set, 1)
#define BTF_KFUNCS_END(set) \
	__BTF_IDS_ASM(".size __BTF_ID__set8__" #set ", . - __BTF_ID__set8__" #set "\n")
#define __BTF_ENTRY(func, n)                                               \
	__BTF_IDS_ASM(".local __BTF_ID__func__" #func "__" #n "\n"         \
		      "__BTF_ID__func__" #func "__" #n ":\n.zero 4\n.long 0\n")
#define __BTF_ENTRY_N(func, n) __BTF_ENTRY(func, n)
#define BTF_ID_FLAGS(prefix, func, ...) __BTF_ENTRY_N(func, __COUNTER__)

struct btf_kfunc_id_set {
	const void *set;
};
int register_btf_kfunc_id_set(int prog_type, const struct btf_kfunc_id_set *s);

#endif
