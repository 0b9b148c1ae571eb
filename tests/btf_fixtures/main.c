// SPDX-License-Identifier: GPL-2.0
/* Makes kernel/kfuncs.c a program, so that gcc -flto sees the whole of it. */
#include <linux/btf_ids.h>

struct kf_task;
long kf_caller_a(struct kf_task *t);
int kf_init(void);

void kf_sink(long v)
{
	__asm__ volatile("" : : "r"(v));
}

int register_btf_kfunc_id_set(int prog_type, const struct btf_kfunc_id_set *s)
{
	return prog_type + (s != 0);
}

int main(void)
{
	static long buf[16];

	return (int)kf_caller_a((struct kf_task *)buf) + kf_init();
}
