// SPDX-License-Identifier: GPL-2.0
#include <linux/bpf.h>
#include <linux/btf.h>
#include <linux/btf_ids.h>
#include <linux/inl.h>

static inline int case_inline_here(int a)
{
	return a;
}

CASE_DEFINE_KFUNC(case_macro_call, int, x)
{
	return x;
}

__bpf_kfunc void case_plain(void)
{
}

BTF_SET8_START(report_ids)
BTF_ID_FLAGS(func, case_inline)
BTF_ID_FLAGS(func, case_inline_here)
BTF_ID_FLAGS(func, case_macro_call)
BTF_ID_FLAGS(func, case_plain)
BTF_ID_FLAGS(func, case_nowhere)
BTF_SET8_END(report_ids)

static const struct btf_kfunc_id_set report_ids_set = {
	.owner = THIS_MODULE,
	.set   = &report_ids,
};

static int __init report_ids_init(void)
{
	return register_btf_kfunc_id_set(BPF_PROG_TYPE_TRACING, &report_ids_set);
}
late_initcall(report_ids_init);
