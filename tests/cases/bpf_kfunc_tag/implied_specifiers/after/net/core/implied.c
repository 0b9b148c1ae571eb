// SPDX-License-Identifier: GPL-2.0
#include <linux/bpf.h>
#include <linux/btf.h>
#include <linux/btf_ids.h>

__bpf_kfunc void case_noinline_first(void)
{
}

__bpf_kfunc int case_noinline_after_type(int a)
{
	return a;
}

__bpf_kfunc struct sock *case_noinline_after_star(struct sock *sk)
{
	return sk;
}

/* Kept: the comment, and the attribute. */
__bpf_kfunc struct sock *case_used_noinline_line(struct sock *sk)
{
	return sk;
}

__bpf_kfunc void case_used_noinline_inline(void)
{
}

__bpf_kfunc __weak int case_weak(void)
{
	return 0;
}

__bpf_kfunc static /* keep me */ u64 case_comment(void)
{
	return 0;
}

BTF_SET8_START(implied_ids)
BTF_ID_FLAGS(func, case_noinline_first)
BTF_ID_FLAGS(func, case_noinline_after_type)
BTF_ID_FLAGS(func, case_noinline_after_star)
BTF_ID_FLAGS(func, case_used_noinline_line)
BTF_ID_FLAGS(func, case_used_noinline_inline)
BTF_ID_FLAGS(func, case_weak)
BTF_ID_FLAGS(func, case_comment)
BTF_SET8_END(implied_ids)

static const struct btf_kfunc_id_set implied_ids_set = {
	.owner = THIS_MODULE,
	.set   = &implied_ids,
};

static int __init implied_ids_init(void)
{
	return register_btf_kfunc_id_set(BPF_PROG_TYPE_TRACING, &implied_ids_set);
}
late_initcall(implied_ids_init);
