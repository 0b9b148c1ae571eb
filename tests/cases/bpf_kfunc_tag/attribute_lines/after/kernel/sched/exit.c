// SPDX-License-Identifier: GPL-2.0
#include <linux/btf.h>
#include <linux/btf_ids.h>

/**
 * case_exit_bstr - an attribute alone on the line above the return type
 */
__printf(2, 0)
__bpf_kfunc void case_exit_bstr(s64 exit_code, char *fmt,
				unsigned long long *data, u32 data__sz,
				const struct bpf_prog_aux *aux)
{
}

__must_check
__attribute__((cold))
__bpf_kfunc static int
case_checked(int a)
{
	return a;
}

__bpf_kfunc __printf(1, 2) static void case_same_line(const char *fmt, ...)
{
}

BTF_KFUNCS_START(case_ids)
BTF_ID_FLAGS(func, case_exit_bstr)
BTF_ID_FLAGS(func, case_checked)
BTF_ID_FLAGS(func, case_same_line)
BTF_KFUNCS_END(case_ids)

static const struct btf_kfunc_id_set case_set = {
	.owner = THIS_MODULE,
	.set   = &case_ids,
};

static int __init case_init(void)
{
	return register_btf_kfunc_id_set(BPF_PROG_TYPE_TRACING, &case_set);
}
late_initcall(case_init);
