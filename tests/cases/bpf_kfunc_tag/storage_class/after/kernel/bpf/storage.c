// SPDX-License-Identifier: GPL-2.0
#include <linux/bpf.h>
#include <linux/btf.h>
#include <linux/btf_ids.h>

__bpf_kfunc static u32 case_static(struct sock *sk)
{
	return sk->sk_mark;
}

__bpf_kfunc static int case_static_noinline(int a)
{
	return a;
}

__bpf_kfunc void case_global(void)
{
}

BTF_SET8_START(storage_ids)
BTF_ID_FLAGS(func, case_static)
BTF_ID_FLAGS(func, case_static_noinline)
BTF_ID_FLAGS(func, case_global)
BTF_SET8_END(storage_ids)

static const struct btf_kfunc_id_set storage_ids_set = {
	.owner = THIS_MODULE,
	.set   = &storage_ids,
};

static int __init storage_ids_init(void)
{
	return register_btf_kfunc_id_set(BPF_PROG_TYPE_TRACING, &storage_ids_set);
}
late_initcall(storage_ids_init);
