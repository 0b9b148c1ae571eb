// SPDX-License-Identifier: GPL-2.0
#include <linux/btf.h>
#include <linux/btf_ids.h>

__bpf_kfunc_start_defs();

int bpf_exp_first(int a)
{
	return a + 1;
}
EXPORT_SYMBOL_KFUNC(bpf_exp_first);

static int bpf_exp_static(int a)
{
	return a;
}

int bpf_exp_done(int a)
{
	return a - 1;
}
EXPORT_SYMBOL_KFUNC(bpf_exp_done);

struct task_struct *bpf_exp_last(struct task_struct *p)
{
	return p;
}
EXPORT_SYMBOL_KFUNC(bpf_exp_last);

__bpf_kfunc_end_defs();

BTF_KFUNCS_START(exp_kfunc_ids)
BTF_ID_FLAGS(func, bpf_exp_first)
BTF_ID_FLAGS(func, bpf_exp_static)
BTF_ID_FLAGS(func, bpf_exp_done)
BTF_ID_FLAGS(func, bpf_exp_last, KF_ACQUIRE)
BTF_KFUNCS_END(exp_kfunc_ids)

static const struct btf_kfunc_id_set exp_kfunc_set = {
	.owner = THIS_MODULE,
	.set   = &exp_kfunc_ids,
};

static int __init exp_init(void)
{
	return register_btf_kfunc_id_set(BPF_PROG_TYPE_TRACING, &exp_kfunc_set);
}
