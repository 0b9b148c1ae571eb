// SPDX-License-Identifier: GPL-2.0
/*
 * Kfunc-like functions in the shapes that lose their BTF, and the same shapes
 * tagged __bpf_kfunc. Each is called from several places so that gcc -O2 has
 * reasons to inline or clone it, as it would in a kernel.
 */
#include <linux/btf_ids.h>

struct kf_task {
	int pid;
	long state;
	long stats[8];
};

void kf_sink(long v);

/* Small and static: inlined into every caller, no out-of-line copy. */
static int kf_static(struct kf_task *t)
{
	return t->pid + 1;
}

#define KF_WORK(t, mul)                                                       \
	do {                                                                  \
		for (int i = 0; i < 8; i++) {                                 \
			kf_sink((t)->stats[i] * (mul) + i);                  \
			if ((t)->state > i)                                   \
				kf_sink((t)->pid ^ i);                        \
			kf_sink((t)->stats[(i + 3) & 7] - (mul));            \
		}                                                             \
	} while (0)

/* Static with an unused parameter: cloned without it (foo.isra.0 / .constprop.0). */
static long kf_static_unused(struct kf_task *t, int unused, long mul)
{
	KF_WORK(t, mul);
	KF_WORK(t, mul + 1);
	return t->state;
}

/* Global with an unused parameter: kept whole in an object, dropped under LTO. */
long kf_global_unused(struct kf_task *t, int unused, long mul)
{
	KF_WORK(t, mul);
	return t->state + mul;
}

__bpf_kfunc static int kf_tagged_static(struct kf_task *t)
{
	return t->pid + 7;
}

__bpf_kfunc static long kf_tagged_static_unused(struct kf_task *t, int unused, long mul)
{
	KF_WORK(t, mul);
	KF_WORK(t, mul + 1);
	return t->state;
}

__bpf_kfunc long kf_tagged_global_unused(struct kf_task *t, int unused, long mul)
{
	KF_WORK(t, mul);
	return t->state + mul;
}

long kf_caller_a(struct kf_task *t)
{
	return kf_static(t) + kf_static_unused(t, 1, 3) + kf_global_unused(t, 2, 5) +
	       kf_tagged_static(t) + kf_tagged_static_unused(t, 3, 7) +
	       kf_tagged_global_unused(t, 4, 9);
}

long kf_caller_b(struct kf_task *t)
{
	return kf_static(t) + kf_static_unused(t, 5, 11) + kf_global_unused(t, 6, 13) +
	       kf_tagged_static(t) + kf_tagged_static_unused(t, 7, 15) +
	       kf_tagged_global_unused(t, 8, 17);
}

BTF_KFUNCS_START(kf_kfunc_ids)
BTF_ID_FLAGS(func, kf_static)
BTF_ID_FLAGS(func, kf_static_unused)
BTF_ID_FLAGS(func, kf_global_unused)
BTF_ID_FLAGS(func, kf_tagged_static)
BTF_ID_FLAGS(func, kf_tagged_static_unused)
BTF_ID_FLAGS(func, kf_tagged_global_unused)
BTF_KFUNCS_END(kf_kfunc_ids)

static const struct btf_kfunc_id_set kf_kfunc_set = {
	.set = &kf_kfunc_ids,
};

int kf_init(void)
{
	return register_btf_kfunc_id_set(0, &kf_kfunc_set);
}
