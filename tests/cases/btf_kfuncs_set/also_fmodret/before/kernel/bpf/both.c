// SPDX-License-Identifier: GPL-2.0
#include <linux/bpf.h>
#include <linux/btf.h>
#include <linux/btf_ids.h>

void case_kfunc(void)
{
}

BTF_SET8_START(case_both_ids)
BTF_ID_FLAGS(func, case_kfunc)
BTF_SET8_END(case_both_ids)

static const struct btf_kfunc_id_set case_both_set = {
	.owner = THIS_MODULE,
	.set   = &case_both_ids,
};

static int __init case_init(void)
{
	int ret = register_btf_kfunc_id_set(BPF_PROG_TYPE_TRACING, &case_both_set);

	return ret ?: register_btf_fmodret_id_set(&case_both_set);
}
late_initcall(case_init);
