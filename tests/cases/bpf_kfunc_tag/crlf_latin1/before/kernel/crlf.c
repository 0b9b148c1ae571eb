// SPDX-License-Identifier: GPL-2.0
/* Café crème: Latin-1 bytes in a comment. */
#include <linux/atomic.h>
#include <linux/kernel.h>

/* Defined here, listed by the set in kernel/bpf/sets.c. */
void case_elsewhere(void)
{
}

int case_crlf(struct sock *sk,
	      int mark)
{
	return 0;
}
