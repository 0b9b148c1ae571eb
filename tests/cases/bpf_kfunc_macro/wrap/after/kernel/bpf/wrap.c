// SPDX-License-Identifier: GPL-2.0
#include <linux/bpf.h>
#include <linux/btf.h>
#include <linux/btf_ids.h>

BPF_KFUNC(void case_plain(struct sock *sk))
{
}

BPF_KFUNC(static u32 case_static(void))
{
	return 0;
}

BPF_KFUNC(struct sock *case_used_line(struct sock *sk))
{
	return sk;
}

BPF_KFUNC(struct sock *case_star(struct sock *sk))
{
	return sk;
}

BPF_KFUNC(int case_was_tagged(void))
{
	return 0;
}

BPF_KFUNC(struct nf_conn *
case_return_line(struct xdp_md *xdp_ctx, struct bpf_sock_tuple *bpf_tuple,
		 u32 tuple__sz))
{
	return NULL;
}

BPF_KFUNC(int case_brace(void))
{
	return 0;
}

BPF_KFUNC(void case_done(void))
{
}

BTF_SET8_START(wrap_ids)
BTF_ID_FLAGS(func, case_plain)
BTF_ID_FLAGS(func, case_static)
BTF_ID_FLAGS(func, case_used_line)
BTF_ID_FLAGS(func, case_star)
BTF_ID_FLAGS(func, case_was_tagged)
BTF_ID_FLAGS(func, case_return_line)
BTF_ID_FLAGS(func, case_brace)
BTF_ID_FLAGS(func, case_done)
BTF_SET8_END(wrap_ids)

static const struct btf_kfunc_id_set wrap_ids_set = {
	.owner = THIS_MODULE,
	.set   = &wrap_ids,
};

static int __init wrap_ids_init(void)
{
	return register_btf_kfunc_id_set(BPF_PROG_TYPE_TRACING, &wrap_ids_set);
}
late_initcall(wrap_ids_init);
