// SPDX-License-Identifier: GPL-2.0
#include <linux/btf.h>
#include <linux/btf_ids.h>

/* Declared tagged above the set, defined untagged below it (7.x bpf_testmod). */
__bpf_kfunc int case_declared(int a, struct bpf_prog_aux *aux);
__bpf_kfunc int case_declared_impl(int a, struct bpf_prog_aux *aux);

BTF_KFUNCS_START(case_ids)
BTF_ID_FLAGS(func, case_declared, KF_IMPLICIT_ARGS)
BTF_ID_FLAGS(func, case_declared_impl)
BTF_KFUNCS_END(case_ids)

__bpf_kfunc int case_declared(int a, struct bpf_prog_aux *aux)
{
	return aux ? a : -EINVAL;
}

__bpf_kfunc int case_declared_impl(int a, struct bpf_prog_aux *aux)
{
	return case_declared(a, aux);
}

static const struct btf_kfunc_id_set case_set = {
	.owner = THIS_MODULE,
	.set   = &case_ids,
};

static int __init case_init(void)
{
	return register_btf_kfunc_id_set(BPF_PROG_TYPE_UNSPEC, &case_set);
}
late_initcall(case_init);
