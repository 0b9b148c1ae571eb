// SPDX-License-Identifier: GPL-2.0
#include <linux/bpf.h>
#include <linux/btf.h>
#include <linux/btf_ids.h>
#include <net/xdp.h>

BTF_KFUNCS_START(xdp_metadata_kfunc_ids)
#define XDP_METADATA_KFUNC(_, __, name, ___) BTF_ID_FLAGS(func, name)
XDP_METADATA_KFUNC_xxx
#undef XDP_METADATA_KFUNC
#define SPLIT_KFUNC(name) BTF_ID_FLAGS(func, name, KF_RET_NULL)
SPLIT_KFUNC(bpf_split_a)
SPLIT_KFUNC(bpf_split_b)
#define ARG_KFUNC(name, flags) BTF_ID_FLAGS(func, name, flags)
ARG_KFUNC(bpf_arg_flags, KF_TRUSTED_ARGS)
BTF_KFUNCS_END(xdp_metadata_kfunc_ids)

static const struct btf_kfunc_id_set xdp_metadata_kfunc_ids_set = {
	.owner = THIS_MODULE,
	.set   = &xdp_metadata_kfunc_ids,
};

static int __init xdp_metadata_kfunc_ids_init(void)
{
	return register_btf_kfunc_id_set(BPF_PROG_TYPE_TRACING, &xdp_metadata_kfunc_ids_set);
}
late_initcall(xdp_metadata_kfunc_ids_init);
