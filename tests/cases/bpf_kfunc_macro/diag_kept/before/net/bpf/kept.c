// SPDX-License-Identifier: GPL-2.0
#include <linux/bpf.h>
#include <linux/btf.h>
#include <linux/btf_ids.h>

__diag_push();
__diag_ignore_all("-Wmissing-prototypes",
		  "Global functions as their definitions will be in vmlinux BTF");

int case_fentry_target(int a)
{
	return a + 1;
}

noinline void case_kfunc(void)
{
}

__diag_pop();

BTF_SET8_START(kept_ids)
BTF_ID_FLAGS(func, case_kfunc)
BTF_SET8_END(kept_ids)

static const struct btf_kfunc_id_set kept_ids_set = {
	.owner = THIS_MODULE,
	.set   = &kept_ids,
};

static int __init kept_ids_init(void)
{
	return register_btf_kfunc_id_set(BPF_PROG_TYPE_TRACING, &kept_ids_set);
}
late_initcall(kept_ids_init);
