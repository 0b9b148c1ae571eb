// SPDX-License-Identifier: GPL-2.0
#include <linux/bpf.h>
#include <linux/btf.h>
#include <linux/btf_ids.h>

__bpf_kfunc void case_tagged(void)
{
}

BPF_KFUNC(void case_wrapped(void))
{
}

__bpf_kfunc void case_untagged(void)
{
}

BTF_SET8_START(tagged_ids)
BTF_ID_FLAGS(func, case_tagged)
BTF_ID_FLAGS(func, case_wrapped)
BTF_ID_FLAGS(func, case_untagged)
BTF_SET8_END(tagged_ids)

static const struct btf_kfunc_id_set tagged_ids_set = {
	.owner = THIS_MODULE,
	.set   = &tagged_ids,
};

static int __init tagged_ids_init(void)
{
	return register_btf_kfunc_id_set(BPF_PROG_TYPE_TRACING, &tagged_ids_set);
}
late_initcall(tagged_ids_init);
