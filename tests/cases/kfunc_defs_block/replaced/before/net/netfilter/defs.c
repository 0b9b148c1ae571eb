// SPDX-License-Identifier: GPL-2.0
#include <linux/bpf.h>
#include <linux/btf.h>
#include <linux/btf_ids.h>

__diag_push();
__diag_ignore_all("-Wmissing-prototypes",
		  "Global functions as their definitions will be in vmlinux BTF");

noinline void case_first(void)
{
}

int case_second(int a)
{
	return a;
}

__diag_pop()

BTF_SET8_START(defs_ids)
BTF_ID_FLAGS(func, case_first)
BTF_ID_FLAGS(func, case_second)
BTF_SET8_END(defs_ids)

static const struct btf_kfunc_id_set defs_ids_set = {
	.owner = THIS_MODULE,
	.set   = &defs_ids,
};

static int __init defs_ids_init(void)
{
	return register_btf_kfunc_id_set(BPF_PROG_TYPE_TRACING, &defs_ids_set);
}
late_initcall(defs_ids_init);
