// SPDX-License-Identifier: GPL-2.0
#include <linux/bpf.h>
#include <linux/btf.h>
#include <linux/btf_ids.h>

#ifdef CONFIG_CASE_APART
__diag_push();
__diag_ignore_all("-Wmissing-prototypes",
		  "Global functions as their definitions will be in vmlinux BTF");
#endif

__bpf_kfunc void case_apart(void)
{
}

__diag_pop();

BTF_KFUNCS_START(apart_ids)
BTF_ID_FLAGS(func, case_apart)
BTF_KFUNCS_END(apart_ids)

static const struct btf_kfunc_id_set apart_ids_set = {
	.owner = THIS_MODULE,
	.set   = &apart_ids,
};

static int __init apart_ids_init(void)
{
	return register_btf_kfunc_id_set(BPF_PROG_TYPE_TRACING, &apart_ids_set);
}
late_initcall(apart_ids_init);
