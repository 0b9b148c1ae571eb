// SPDX-License-Identifier: GPL-2.0
#include <linux/bpf.h>
#include <linux/btf.h>
#include <linux/btf_ids.h>

__bpf_kfunc int case_aligned(struct bpf_dynptr_kern *data_ptr,
			     struct bpf_dynptr_kern *sig_ptr,
			     struct bpf_key *trusted_keyring)
{
	return 0;
}

__bpf_kfunc int case_shifted_left(struct bpf_dynptr_kern *data_ptr,
				  struct bpf_key *trusted_keyring)
{
	return 0;
}

__bpf_kfunc int case_not_aligned(struct bpf_dynptr_kern *data_ptr,
		struct bpf_key *trusted_keyring)
{
	return 0;
}

BTF_SET8_START(cont_ids)
BTF_ID_FLAGS(func, case_aligned)
BTF_ID_FLAGS(func, case_shifted_left)
BTF_ID_FLAGS(func, case_not_aligned)
BTF_SET8_END(cont_ids)

static const struct btf_kfunc_id_set cont_ids_set = {
	.owner = THIS_MODULE,
	.set   = &cont_ids,
};

static int __init cont_ids_init(void)
{
	return register_btf_kfunc_id_set(BPF_PROG_TYPE_TRACING, &cont_ids_set);
}
late_initcall(cont_ids_init);
