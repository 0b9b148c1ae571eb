// SPDX-License-Identifier: GPL-2.0
#include <linux/bpf.h>
#include <linux/btf.h>
#include <linux/btf_ids.h>

#ifdef CONFIG_CASE_STATS
__bpf_kfunc u64 case_hits(void)
{
	return 1;
}
#else
__bpf_kfunc u64 case_hits(void)
{
	return 0;
}
#endif

BTF_SET8_START(ifdef_ids)
BTF_ID_FLAGS(func, case_hits)
BTF_SET8_END(ifdef_ids)

static const struct btf_kfunc_id_set ifdef_ids_set = {
	.owner = THIS_MODULE,
	.set   = &ifdef_ids,
};

static int __init ifdef_ids_init(void)
{
	return register_btf_kfunc_id_set(BPF_PROG_TYPE_TRACING, &ifdef_ids_set);
}
late_initcall(ifdef_ids_init);
