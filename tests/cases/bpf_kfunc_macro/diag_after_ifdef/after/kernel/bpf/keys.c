// SPDX-License-Identifier: GPL-2.0
#include <linux/bpf.h>
#include <linux/btf.h>
#include <linux/btf_ids.h>

static const int case_proto = 1;

#ifdef CONFIG_KEYS
/* Looks a key up. */
BPF_KFUNC(struct bpf_key *case_lookup_key(u32 serial, u64 flags))
{
	return NULL;
}

BPF_KFUNC(void case_key_put(struct bpf_key *bkey))
{
}

BTF_SET8_START(key_ids)
BTF_ID_FLAGS(func, case_lookup_key)
BTF_ID_FLAGS(func, case_key_put)
BTF_SET8_END(key_ids)
#endif /* CONFIG_KEYS */

static const struct btf_kfunc_id_set key_ids_set = {
	.owner = THIS_MODULE,
	.set   = &key_ids,
};

static int __init key_ids_init(void)
{
	return register_btf_kfunc_id_set(BPF_PROG_TYPE_TRACING, &key_ids_set);
}
late_initcall(key_ids_init);
