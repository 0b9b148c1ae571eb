// SPDX-License-Identifier: GPL-2.0

#define pr_fmt(fmt) "sorted: " fmt

#include <linux/atomic.h>
#include <linux/btf.h>
#include <linux/export.h>
#include <linux/kernel.h>
#include <net/sock.h>

/* Defined here, listed by the set in kernel/bpf/sets.c. */
__bpf_kfunc void case_elsewhere(void)
{
}
