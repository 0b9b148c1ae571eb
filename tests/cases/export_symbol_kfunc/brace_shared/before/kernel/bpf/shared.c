// SPDX-License-Identifier: GPL-2.0
#include <linux/bpf.h>
#include <linux/btf.h>
#include <linux/btf_ids.h>

__bpf_kfunc int bpf_shared_brace(int a)
{
	return a;
} int bpf_shared_after;

#define CASE_KFUNC(name) __bpf_kfunc int name(void)
CASE_KFUNC(bpf_from_macro)
{
	return 0;
}

BTF_KFUNCS_START(shared_ids)
BTF_ID_FLAGS(func, bpf_shared_brace)
BTF_ID_FLAGS(func, bpf_from_macro)
BTF_KFUNCS_END(shared_ids)

static const struct btf_kfunc_id_set shared_ids_set = {
	.owner = THIS_MODULE,
	.set   = &shared_ids,
};

static int __init shared_ids_init(void)
{
	return register_btf_kfunc_id_set(BPF_PROG_TYPE_TRACING, &shared_ids_set);
}
late_initcall(shared_ids_init);
