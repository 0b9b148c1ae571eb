// SPDX-License-Identifier: GPL-2.0
#include <linux/bpf.h>
#include <linux/btf.h>
#include <linux/btf_ids.h>

BTF_SET8_START(sets_ids)
BTF_ID_FLAGS(func, case_elsewhere)
BTF_SET8_END(sets_ids)

static const struct btf_kfunc_id_set sets_ids_set = {
	.owner = THIS_MODULE,
	.set   = &sets_ids,
};

static int __init sets_ids_init(void)
{
	return register_btf_kfunc_id_set(BPF_PROG_TYPE_TRACING, &sets_ids_set);
}
late_initcall(sets_ids_init);
