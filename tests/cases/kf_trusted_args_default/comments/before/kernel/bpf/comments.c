// SPDX-License-Identifier: GPL-2.0
#include <linux/bpf.h>
#include <linux/btf.h>
#include <linux/btf_ids.h>

BTF_KFUNCS_START(cm_kfunc_ids)
BTF_ID_FLAGS(func, bpf_trailing, KF_ACQUIRE | KF_TRUSTED_ARGS) /* KF_TRUSTED_ARGS: see btf.h */
// BTF_ID_FLAGS(func, bpf_commented_out, KF_TRUSTED_ARGS)
/* BTF_ID_FLAGS(func, bpf_in_block_comment, KF_TRUSTED_ARGS) */
BTF_ID_FLAGS(func, bpf_inner, KF_ACQUIRE /* why */ | KF_TRUSTED_ARGS)
BTF_KFUNCS_END(cm_kfunc_ids)

static const struct btf_kfunc_id_set cm_kfunc_ids_set = {
	.owner = THIS_MODULE,
	.set   = &cm_kfunc_ids,
};

static int __init cm_kfunc_ids_init(void)
{
	return register_btf_kfunc_id_set(BPF_PROG_TYPE_TRACING, &cm_kfunc_ids_set);
}
late_initcall(cm_kfunc_ids_init);
