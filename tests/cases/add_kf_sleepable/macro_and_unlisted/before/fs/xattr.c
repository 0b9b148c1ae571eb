// SPDX-License-Identifier: GPL-2.0
#include <linux/bpf.h>
#include <linux/btf.h>
#include <linux/btf_ids.h>

BTF_KFUNCS_START(xattr_kfunc_ids)
#define XATTR_KFUNC(name) BTF_ID_FLAGS(func, name, KF_TRUSTED_ARGS)
XATTR_KFUNC(bpf_get_file_xattr)
XATTR_KFUNC(bpf_list_xattr)
#undef XATTR_KFUNC
BTF_ID_FLAGS(func, bpf_get_dentry_xattr)
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
