// SPDX-License-Identifier: GPL-2.0
#include <linux/bpf.h>
#include <linux/btf.h>
#include <linux/btf_ids.h>

/**
 * case_documented - a kfunc with a kernel-doc comment
 * @cgrp: the cgroup
 *
 * scripts/kernel-doc reads the prototype below this comment.
 */
void case_documented(struct cgroup *cgrp)
{
}

/*
 * case_plain_comment - a plain comment: kernel-doc does not read it
 */
BPF_KFUNC(void case_plain_comment(struct cgroup *cgrp))
{
}

/**
 * struct case_ctx - a documented structure, not a function
 */
BPF_KFUNC(int case_after_struct_doc(void))
{
	return 0;
}

BTF_SET8_START(doc_ids)
BTF_ID_FLAGS(func, case_documented)
BTF_ID_FLAGS(func, case_plain_comment)
BTF_ID_FLAGS(func, case_after_struct_doc)
BTF_SET8_END(doc_ids)

static const struct btf_kfunc_id_set doc_ids_set = {
	.owner = THIS_MODULE,
	.set   = &doc_ids,
};

static int __init doc_ids_init(void)
{
	return register_btf_kfunc_id_set(BPF_PROG_TYPE_TRACING, &doc_ids_set);
}
late_initcall(doc_ids_init);
