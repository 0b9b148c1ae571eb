// SPDX-License-Identifier: GPL-2.0
#include <linux/bpf.h>
#include <linux/btf.h>
#include <linux/btf_ids.h>

BPF_KFUNC(int case_verify(struct bpf_dynptr_kern *data_ptr,
			  struct bpf_dynptr_kern *sig_ptr,
			  struct bpf_key *trusted_keyring))
{
	return 0;
}

BPF_KFUNC(int *case_kfunc_call_get_rdonly_mem(struct prog_test_ref_kfunc *p,
					      const int rdonly_buf_size))
{
	return NULL;
}

BTF_SET8_START(keys_ids)
BTF_ID_FLAGS(func, case_verify)
BTF_ID_FLAGS(func, case_kfunc_call_get_rdonly_mem)
BTF_SET8_END(keys_ids)

static const struct btf_kfunc_id_set keys_ids_set = {
	.owner = THIS_MODULE,
	.set   = &keys_ids,
};

static int __init keys_ids_init(void)
{
	return register_btf_kfunc_id_set(BPF_PROG_TYPE_TRACING, &keys_ids_set);
}
late_initcall(keys_ids_init);
