// SPDX-License-Identifier: GPL-2.0
#include <linux/bpf.h>
#include <linux/btf.h>
#include <linux/btf_ids.h>

noinline int *case_get_rdwr_mem(struct prog_test_ref_kfunc *p, const int rdwr_buf_size)
{
	return NULL;
}

struct nf_flowmark *case_xdp_lookup(struct xdp_md *ctx, struct bpf_flowmark_tuple *tuple,
				    u32 tuple__sz, struct bpf_flowmark_opts *opts,
				    u32 opts__sz)
{
	return NULL;
}

void case_fits(struct prog_test_ref_kfunc *p, const int rdwr_buf_size, int some_more)
{
}

BTF_SET8_START(long_ids)
BTF_ID_FLAGS(func, case_get_rdwr_mem)
BTF_ID_FLAGS(func, case_xdp_lookup)
BTF_ID_FLAGS(func, case_fits)
BTF_SET8_END(long_ids)

static const struct btf_kfunc_id_set long_ids_set = {
	.owner = THIS_MODULE,
	.set   = &long_ids,
};

static int __init long_ids_init(void)
{
	return register_btf_kfunc_id_set(BPF_PROG_TYPE_TRACING, &long_ids_set);
}
late_initcall(long_ids_init);
