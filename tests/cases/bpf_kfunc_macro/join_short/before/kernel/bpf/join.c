// SPDX-License-Identifier: GPL-2.0
#include <linux/bpf.h>
#include <linux/btf.h>
#include <linux/btf_ids.h>

noinline void
case_void_line(int i)
{
}

noinline struct prog_test_ref_kfunc *
case_star_line(unsigned long *scalar_ptr)
{
	return NULL;
}

noinline struct prog_test_ref_kfunc *
case_too_long_to_join(struct prog_test_ref_kfunc **pp, int a, int b, int c, int d)
{
	return NULL;
}

struct nf_conn *
case_params_on_lines(struct xdp_md *xdp_ctx,
		     u32 tuple__sz)
{
	return NULL;
}

BTF_SET8_START(join_ids)
BTF_ID_FLAGS(func, case_void_line)
BTF_ID_FLAGS(func, case_star_line)
BTF_ID_FLAGS(func, case_too_long_to_join)
BTF_ID_FLAGS(func, case_params_on_lines)
BTF_SET8_END(join_ids)

static const struct btf_kfunc_id_set join_ids_set = {
	.owner = THIS_MODULE,
	.set   = &join_ids,
};

static int __init join_ids_init(void)
{
	return register_btf_kfunc_id_set(BPF_PROG_TYPE_TRACING, &join_ids_set);
}
late_initcall(join_ids_init);
