// SPDX-License-Identifier: GPL-2.0
#include <linux/bpf.h>
#include <linux/btf.h>
#include <linux/btf_ids.h>

BTF_KFUNCS_START(pos_kfunc_ids)
BTF_ID_FLAGS(func, bpf_only, KF_TRUSTED_ARGS)
BTF_ID_FLAGS(func, bpf_first, KF_TRUSTED_ARGS | KF_SLEEPABLE)
BTF_ID_FLAGS(func, bpf_middle, KF_ITER_NEW | KF_TRUSTED_ARGS | KF_RCU_PROTECTED)
BTF_ID_FLAGS(func, bpf_last, KF_ACQUIRE | KF_TRUSTED_ARGS)
BTF_ID_FLAGS(func, bpf_spaced, KF_ACQUIRE|KF_TRUSTED_ARGS)
BTF_ID_FLAGS(func, bpf_untouched, KF_RCU)
BTF_ID_FLAGS(func, bpf_no_flags)
BTF_KFUNCS_END(pos_kfunc_ids)

BTF_SET8_START(pos_fmodret_ids)
BTF_ID_FLAGS(func, bpf_hook, KF_TRUSTED_ARGS)
BTF_SET8_END(pos_fmodret_ids)

BTF_SET8_START(pos_unregistered_ids)
BTF_ID_FLAGS(func, bpf_listed_elsewhere, KF_TRUSTED_ARGS)
BTF_SET8_END(pos_unregistered_ids)

static const struct btf_kfunc_id_set pos_kfunc_ids_set = {
	.owner = THIS_MODULE,
	.set   = &pos_kfunc_ids,
};

static const struct btf_kfunc_id_set pos_fmodret_ids_set = {
	.owner = THIS_MODULE,
	.set   = &pos_fmodret_ids,
};

static int __init pos_kfunc_ids_init(void)
{
	int ret = register_btf_kfunc_id_set(BPF_PROG_TYPE_TRACING, &pos_kfunc_ids_set);

	return ret ?: register_btf_fmodret_id_set(&pos_fmodret_ids_set);
}
late_initcall(pos_kfunc_ids_init);
