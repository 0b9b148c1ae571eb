// SPDX-License-Identifier: GPL-2.0
#include <linux/bpf.h>
#include <linux/btf.h>
#include <linux/btf_ids.h>

#define RCU_KFUNC(name) BTF_ID_FLAGS(func, name, KF_RCU)

BTF_KFUNCS_START(rn_kfunc_ids)
BTF_ID_FLAGS(func, bpf_rcu_first, KF_RCU | KF_RET_NULL)
BTF_ID_FLAGS(func, bpf_rcu_last, KF_ITER_NEW | KF_RCU)
BTF_ID_FLAGS(func, bpf_rcu_already, KF_RCU_OR_TRUSTED | KF_RCU)
BTF_ID_FLAGS(func, bpf_not_rcu, KF_ACQUIRE)
RCU_KFUNC(bpf_rcu_macro)
BTF_KFUNCS_END(rn_kfunc_ids)

static const struct btf_kfunc_id_set rn_kfunc_ids_set = {
	.owner = THIS_MODULE,
	.set   = &rn_kfunc_ids,
};

static int __init rn_kfunc_ids_init(void)
{
	return register_btf_kfunc_id_set(BPF_PROG_TYPE_TRACING, &rn_kfunc_ids_set);
}
late_initcall(rn_kfunc_ids_init);
