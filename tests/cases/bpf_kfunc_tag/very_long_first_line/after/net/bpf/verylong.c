// SPDX-License-Identifier: GPL-2.0
#include <linux/bpf.h>
#include <linux/btf.h>
#include <linux/btf_ids.h>

__bpf_kfunc int *case_get_rdonly_mem_with_a_long_name(struct prog_test_ref_kfunc *p,
						      const int rdonly_buf_size)
{
	return NULL;
}

BTF_SET8_START(verylong_ids)
BTF_ID_FLAGS(func, case_get_rdonly_mem_with_a_long_name)
BTF_SET8_END(verylong_ids)

static const struct btf_kfunc_id_set verylong_ids_set = {
	.owner = THIS_MODULE,
	.set   = &verylong_ids,
};

static int __init verylong_ids_init(void)
{
	return register_btf_kfunc_id_set(BPF_PROG_TYPE_TRACING, &verylong_ids_set);
}
late_initcall(verylong_ids_init);
