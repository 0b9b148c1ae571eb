// SPDX-License-Identifier: GPL-2.0
#include <linux/bpf.h>
#include <linux/btf.h>
#include <linux/btf_ids.h>

noinline int case_hook(int a)
{
	return a;
}

__bpf_kfunc int case_both(int a)
{
	return a;
}

__bpf_kfunc void case_kfunc(void)
{
}

__bpf_kfunc void case_dtor(void *p)
{
}

BTF_SET8_START(case_kfunc_ids)
BTF_ID_FLAGS(func, case_kfunc)
BTF_ID_FLAGS(func, case_both)
BTF_SET8_END(case_kfunc_ids)

BTF_SET8_START(case_fmodret_ids)
BTF_ID_FLAGS(func, case_hook)
BTF_ID_FLAGS(func, case_both)
BTF_SET8_END(case_fmodret_ids)

static const struct btf_kfunc_id_set case_kfunc_set = {
	.owner = THIS_MODULE,
	.set   = &case_kfunc_ids,
};

static const struct btf_kfunc_id_set case_fmodret_set = {
	.owner = THIS_MODULE,
	.set   = &case_fmodret_ids,
};

BTF_ID_LIST(case_dtor_ids)
BTF_ID(struct, case_obj)
BTF_ID(func, case_dtor)

static int __init case_init(void)
{
	const struct btf_id_dtor_kfunc dtors[] = {
		{
			.btf_id       = case_dtor_ids[0],
			.kfunc_btf_id = case_dtor_ids[1],
		},
	};
	int ret;

	ret = register_btf_kfunc_id_set(BPF_PROG_TYPE_TRACING, &case_kfunc_set);
	ret = ret ?: register_btf_fmodret_id_set(&case_fmodret_set);
	return ret ?: register_btf_id_dtor_kfuncs(dtors, ARRAY_SIZE(dtors), THIS_MODULE);
}
late_initcall(case_init);
