// SPDX-License-Identifier: GPL-2.0
#include <linux/bpf.h>
#include <linux/btf.h>
#include <linux/btf_ids.h>

BTF_KFUNCS_START(ml_kfunc_ids)
BTF_ID_FLAGS(func, bpf_get_task_exe_file,
	     KF_ACQUIRE | KF_TRUSTED_ARGS | KF_RET_NULL)
BTF_ID_FLAGS(func, bpf_kfunc_with_a_name_so_long_that_its_entry_cannot_be_written_on_one_line,
	     KF_ACQUIRE | KF_TRUSTED_ARGS | KF_RET_NULL)
BTF_ID_FLAGS(func, bpf_split_flags, KF_ACQUIRE |
	     KF_TRUSTED_ARGS)
BTF_ID_FLAGS(func, bpf_alone_below,
	     KF_TRUSTED_ARGS)
BTF_ID_FLAGS(func, bpf_put_file, KF_RELEASE)
BTF_KFUNCS_END(ml_kfunc_ids)

static const struct btf_kfunc_id_set ml_kfunc_ids_set = {
	.owner = THIS_MODULE,
	.set   = &ml_kfunc_ids,
};

static int __init ml_kfunc_ids_init(void)
{
	return register_btf_kfunc_id_set(BPF_PROG_TYPE_TRACING, &ml_kfunc_ids_set);
}
late_initcall(ml_kfunc_ids_init);
