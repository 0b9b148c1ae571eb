// SPDX-License-Identifier: GPL-2.0

#include <linux/atomic.h>
#include <linux/btf.h>
#include <linux/export.h>

/* Defined here, listed by the set in kernel/bpf/sets.c. */
BPF_KFUNC(void case_elsewhere(void))
{
}
