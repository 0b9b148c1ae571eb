// SPDX-License-Identifier: GPL-2.0
#include <linux/bpf.h>
#include <linux/btf.h>
#include <linux/btf_ids.h>

static int case_helper(int a)
{
	return a;
}

__diag_push();
__diag_ignore_all("-Wmissing-prototypes",
		  "Global functions as their definitions will be in vmlinux BTF");

/* The first kfunc. */
void case_first(void)
{
}

static void case_static_helper(void)
{
}

int case_second(int a)
{
	return case_helper(a);
}

__diag_pop()

BTF_SET8_START(diag_ids)
BTF_ID_FLAGS(func, case_first)
BTF_ID_FLAGS(func, case_second)
BTF_SET8_END(diag_ids)

static const struct btf_kfunc_id_set diag_ids_set = {
	.owner = THIS_MODULE,
	.set   = &diag_ids,
};

static int __init diag_ids_init(void)
{
	return register_btf_kfunc_id_set(BPF_PROG_TYPE_TRACING, &diag_ids_set);
}
late_initcall(diag_ids_init);
