// SPDX-License-Identifier: GPL-2.0
#include <linux/bpf.h>
#include <linux/btf.h>
#include <linux/btf_ids.h>

void case_kfunc(void)
{
}

int case_hook(int a)
{
	return a;
}

BTF_SET8_START(case_kfunc_ids)
BTF_ID_FLAGS(func, case_kfunc)
BTF_SET8_END(case_kfunc_ids)

BTF_SET8_START(case_fmodret_ids)
BTF_ID_FLAGS(func, case_hook)
BTF_SET8_END(case_fmodret_ids)

BTF_SET8_START(case_unregistered_ids)
BTF_ID_FLAGS(func, case_kfunc)
BTF_SET8_END(case_unregistered_ids)

BTF_SET_START(case_allow_list)
BTF_ID(func, case_hook)
BTF_SET_END(case_allow_list)

static const struct btf_kfunc_id_set case_kfunc_set = {
	.owner = THIS_MODULE,
	.set   = &case_kfunc_ids,
};

static const struct btf_kfunc_id_set case_fmodret_set = {
	.owner = THIS_MODULE,
	.set   = &case_fmodret_ids,
};

static int __init case_init(void)
{
	int ret = register_btf_kfunc_id_set(BPF_PROG_TYPE_TRACING, &case_kfunc_set);

	return ret ?: register_btf_fmodret_id_set(&case_fmodret_set);
}
late_initcall(case_init);
