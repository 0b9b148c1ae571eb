// SPDX-License-Identifier: GPL-2.0
/* Café crème: Latin-1 bytes in a comment. */
#include <linux/atomic.h>
#include <linux/btf.h>
#include <linux/kernel.h>

/* Defined here, listed by the set in kernel/bpf/sets.c. */
__bpf_kfunc void case_elsewhere(void)
{
}

__bpf_kfunc int case_crlf(struct sock *sk,
			  int mark)
{
	return 0;
}
