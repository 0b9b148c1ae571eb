// SPDX-License-Identifier: GPL-2.0
#include <linux/btf.h>
#include <linux/btf_ids.h>

/* A destructor named by BTF_ID_LIST_SINGLE, as net/sched/bpf_qdisc.c in 7.x. */
void case_skb_dtor(void *skb)
{
}
CFI_NOSEAL(case_skb_dtor);

BTF_ID_LIST_SINGLE(case_dtor_ids, func, case_skb_dtor)
BTF_ID_LIST_SINGLE(case_type_ids, struct, sk_buff)

static int __init case_init(void)
{
	const struct btf_id_dtor_kfunc dtors[] = {
		{
			.btf_id       = case_type_ids[0],
			.kfunc_btf_id = case_dtor_ids[0]
		},
	};

	return register_btf_id_dtor_kfuncs(dtors, ARRAY_SIZE(dtors), THIS_MODULE);
}
late_initcall(case_init);
