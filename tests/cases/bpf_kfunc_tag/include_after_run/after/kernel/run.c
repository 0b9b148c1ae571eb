// SPDX-License-Identifier: GPL-2.0

#include <linux/atomic.h>
#include <linux/bpf.h>
#include <linux/btf.h>

#include <asm/page.h>

/* Defined here, listed by the set in kernel/bpf/sets.c. */
__bpf_kfunc void case_elsewhere(void)
{
}
