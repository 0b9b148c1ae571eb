// SPDX-License-Identifier: GPL-2.0
#include <linux/bpf.h>
#include <linux/btf.h>
#include <linux/btf_ids.h>

BTF_KFUNCS_START(xattr_kfunc_ids)
BTF_ID_FLAGS(func, bpf_get_dentry_xattr)
BTF_ID_FLAGS(func, bpf_get_file_xattr, KF_TRUSTED_ARGS)
BTF_ID_FLAGS(func, bpf_set_xattr, KF_ACQUIRE |
	     KF_RET_NULL)
BTF_ID_FLAGS(func, bpf_sleeps_already, KF_SLEEPABLE)
BTF_ID_FLAGS(func, bpf_not_named, KF_RCU)
BTF_KFUNCS_END(xattr_kfunc_ids)

static const struct btf_kfunc_id_set xattr_kfunc_ids_set = {
	.owner = THIS_MODULE,
	.set   = &xattr_kfunc_ids,
};

static int __init xattr_kfunc_ids_init(void)
{
	return register_btf_kfunc_id_set(BPF_PROG_TYPE_TRACING, &xattr_kfunc_ids_set);
}
late_initcall(xattr_kfunc_ids_init);
