// SPDX-License-Identifier: GPL-2.0
#include <linux/atomic.h>
#include <linux/kernel.h>

__diag_push();
__diag_ignore_all("-Wmissing-declarations",
		  "kfuncs");
__diag_ignore_all("-Wmissing-prototypes",
		  "kfuncs");

noinline void case_first(void)
{
}

int case_second(int a)
{
	return a;
}

__diag_pop();
