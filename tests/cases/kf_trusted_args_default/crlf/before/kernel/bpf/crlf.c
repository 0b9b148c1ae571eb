// SPDX-License-Identifier: GPL-2.0
#include <linux/bpf.h>
#include <linux/btf.h>
#include <linux/btf_ids.h>

BTF_KFUNCS_START(crlf_kfunc_ids)
BTF_ID_FLAGS(func, bpf_crlf_multi,
	     KF_ACQUIRE | KF_TRUSTED_ARGS | KF_RET_NULL)
BTF_ID_FLAGS(func, bpf_crlf_only, KF_TRUSTED_ARGS)
BTF_KFUNCS_END(crlf_kfunc_ids)

static const struct btf_kfunc_id_set crlf_kfunc_ids_set = {
	.owner = THIS_MODULE,
	.set   = &crlf_kfunc_ids,
};

static int __init crlf_kfunc_ids_init(void)
{
	return register_btf_kfunc_id_set(BPF_PROG_TYPE_TRACING, &crlf_kfunc_ids_set);
}
late_initcall(crlf_kfunc_ids_init);
