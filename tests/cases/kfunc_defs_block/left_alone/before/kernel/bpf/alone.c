// SPDX-License-Identifier: GPL-2.0
#include <linux/bpf.h>
#include <linux/btf.h>
#include <linux/btf_ids.h>

__diag_push();
__diag_ignore_all("-Wmissing-prototypes",
		  "only an fentry target in here");
int case_fentry_target(int a)
{
	return a;
}
__diag_pop();

__diag_push();
__diag_ignore_all("-Woverride-init",
		  "initialize all, then override some");
__diag_ignore_all("-Wmissing-prototypes",
		  "and a kfunc");
void case_kfunc(void)
{
}
__diag_pop();

BTF_SET8_START(alone_ids)
BTF_ID_FLAGS(func, case_kfunc)
BTF_SET8_END(alone_ids)

static const struct btf_kfunc_id_set alone_ids_set = {
	.owner = THIS_MODULE,
	.set   = &alone_ids,
};

static int __init alone_ids_init(void)
{
	return register_btf_kfunc_id_set(BPF_PROG_TYPE_TRACING, &alone_ids_set);
}
late_initcall(alone_ids_init);
