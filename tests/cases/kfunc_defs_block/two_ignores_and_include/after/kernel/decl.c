// SPDX-License-Identifier: GPL-2.0
#include <linux/atomic.h>
#include <linux/btf.h>
#include <linux/kernel.h>

__bpf_kfunc_start_defs();

noinline void case_first(void)
{
}

int case_second(int a)
{
	return a;
}

__bpf_kfunc_end_defs();
