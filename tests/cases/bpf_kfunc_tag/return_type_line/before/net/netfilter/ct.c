// SPDX-License-Identifier: GPL-2.0
#include <linux/bpf.h>
#include <linux/btf.h>
#include <linux/btf_ids.h>

struct nf_conn *
case_ct_lookup(struct xdp_md *xdp_ctx, struct bpf_sock_tuple *bpf_tuple,
	       u32 tuple__sz, struct bpf_ct_opts *opts, u32 opts__sz)
{
	return NULL;
}

noinline struct nf_conn *
case_ct_alloc(struct xdp_md *xdp_ctx)
{
	return NULL;
}

BTF_SET8_START(ct_ids)
BTF_ID_FLAGS(func, case_ct_lookup)
BTF_ID_FLAGS(func, case_ct_alloc)
BTF_SET8_END(ct_ids)

static const struct btf_kfunc_id_set ct_ids_set = {
	.owner = THIS_MODULE,
	.set   = &ct_ids,
};

static int __init ct_ids_init(void)
{
	return register_btf_kfunc_id_set(BPF_PROG_TYPE_TRACING, &ct_ids_set);
}
late_initcall(ct_ids_init);
