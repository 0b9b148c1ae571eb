/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The kfunc registration interface of the kfuncfix sample tree, cut down
 * from what a kernel's <linux/btf.h> holds to the parts kfuncs need.
 */
#ifndef _LINUX_BTF_H
#define _LINUX_BTF_H 1

#include <linux/types.h>

/*
 * Per-kfunc flags, stored next to each BTF id of a struct btf_id_set8
 * (see BTF_ID_FLAGS() in <linux/btf_ids.h>).  They tell the verifier what
 * a kfunc does with the pointers it is given and the pointer it returns.
 */
#define KF_ACQUIRE		(1 << 0) /* returns a pointer that holds a reference */
#define KF_RELEASE		(1 << 1) /* consumes the reference it is passed */
#define KF_RET_NULL		(1 << 2) /* the returned pointer may be NULL */
#define KF_KPTR_GET		(1 << 3) /* takes a reference through a map kptr */
#define KF_TRUSTED_ARGS	(1 << 4) /* pointer arguments must be trusted */
#define KF_SLEEPABLE		(1 << 5) /* may sleep: sleepable programs only */
#define KF_DESTRUCTIVE		(1 << 6) /* may stall, crash or reboot the machine */

struct btf;
struct btf_id_set;
struct btf_id_set8;
struct module;
enum bpf_prog_type;

/*
 * A set of kfuncs, handed to register_btf_kfunc_id_set() once for every
 * program type that may call them, or to register_btf_fmodret_id_set()
 * for functions that fmod_ret programs may attach to.
 */
struct btf_kfunc_id_set {
	struct module *owner;
	struct btf_id_set8 *set;
};

/*
 * Pairs a type with the kfunc that frees objects of that type, so that a
 * map holding such an object as a referenced kptr can free it too.
 */
struct btf_id_dtor_kfunc {
	u32 btf_id;		/* the type */
	u32 kfunc_btf_id;	/* its destructor */
};

bool btf_id_set_contains(const struct btf_id_set *set, u32 id);

#ifdef CONFIG_BPF_SYSCALL
int register_btf_kfunc_id_set(enum bpf_prog_type prog_type,
			      const struct btf_kfunc_id_set *kset);
int register_btf_fmodret_id_set(const struct btf_kfunc_id_set *kset);
int register_btf_id_dtor_kfuncs(const struct btf_id_dtor_kfunc *dtors, u32 add_cnt,
				struct module *owner);
#else
static inline int register_btf_kfunc_id_set(enum bpf_prog_type prog_type,
					    const struct btf_kfunc_id_set *kset)
{
	return 0;
}

static inline int register_btf_fmodret_id_set(const struct btf_kfunc_id_set *kset)
{
	return 0;
}

static inline int register_btf_id_dtor_kfuncs(const struct btf_id_dtor_kfunc *dtors,
					      u32 add_cnt, struct module *owner)
{
	return 0;
}
#endif /* CONFIG_BPF_SYSCALL */

#endif /* _LINUX_BTF_H */
