// SPDX-License-Identifier: GPL-2.0
/*
 * Kernel module for the BPF selftests: kfuncs with unusual signatures for
 * the verifier tests, and a function for fmod_ret programs to override.
 *
 * Part of the kfuncfix sample tree; invented.
 */
#include <linux/btf.h>
#include <linux/btf_ids.h>
#include <linux/error-injection.h>
#include <linux/init.h>
#include <linux/module.h>
#include <linux/percpu-defs.h>
#include <linux/refcount.h>

/* The object that bpf_testmod_ref_acquire() hands out. */
struct testmod_ref {
	refcount_t cnt;
	unsigned long scalar;
};

static struct testmod_ref testmod_ref_static = {
	.cnt = REFCOUNT_INIT(1),
};

DEFINE_PER_CPU(int, bpf_testmod_calls);

__diag_push();
__diag_ignore_all("-Wmissing-prototypes",
		  "Global functions as their definitions will be in bpf_testmod.ko BTF");

/* Arguments of three different sizes, for the argument conversion tests. */
int noinline bpf_testmod_sum3(int a, u64 b, char c)
{
	this_cpu_inc(bpf_testmod_calls);
	return a + b + c;
}

struct testmod_ref * noinline bpf_testmod_ref_acquire(unsigned long *scalar_ptr)
{
	refcount_inc(&testmod_ref_static.cnt);
	testmod_ref_static.scalar = *scalar_ptr;
	return &testmod_ref_static;
}

noinline void bpf_testmod_ref_release(struct testmod_ref *ref)
{
	if (!ref)
		return;

	refcount_dec(&ref->cnt);
}

/* Has no external linkage: its BTF comes from the module's own debug info. */
static noinline u32 bpf_testmod_ctx_len(struct __sk_buff *skb)
{
	return skb->len;
}

/*
 * The verifier must accept a context pointer and a scalar here; the body
 * does not look at either.
 */
noinline void bpf_testmod_pass_ctx(struct __sk_buff *skb, int hint)
{
	this_cpu_inc(bpf_testmod_calls);
}

#ifdef CONFIG_BPF_TESTMOD_DESTRUCTIVE
/* Only for the test that checks KF_DESTRUCTIVE needs CAP_SYS_BOOT. */
noinline void bpf_testmod_trigger_oops(void)
{
	pr_warn("bpf_testmod: oops requested by a BPF program\n");
	BUG();
}
#endif

/* fmod_ret programs attached here change what the caller sees. */
noinline int bpf_testmod_should_fail(int attempt)
{
	return attempt < 0 ? -EINVAL : 0;
}
ALLOW_ERROR_INJECTION(bpf_testmod_should_fail, ERRNO);

__diag_pop()

BTF_SET8_START(testmod_kfunc_ids)
BTF_ID_FLAGS(func, bpf_testmod_sum3)
BTF_ID_FLAGS(func, bpf_testmod_ref_acquire, KF_ACQUIRE | KF_RET_NULL)
BTF_ID_FLAGS(func, bpf_testmod_ref_release, KF_RELEASE)
BTF_ID_FLAGS(func, bpf_testmod_ctx_len)
BTF_ID_FLAGS(func, bpf_testmod_pass_ctx)
#ifdef CONFIG_BPF_TESTMOD_DESTRUCTIVE
BTF_ID_FLAGS(func, bpf_testmod_trigger_oops, KF_DESTRUCTIVE)
#endif
BTF_SET8_END(testmod_kfunc_ids)

static const struct btf_kfunc_id_set testmod_kfunc_set = {
	.owner = THIS_MODULE,
	.set   = &testmod_kfunc_ids,
};

BTF_SET8_START(testmod_fmodret_ids)
BTF_ID_FLAGS(func, bpf_testmod_should_fail)
BTF_SET8_END(testmod_fmodret_ids)

static const struct btf_kfunc_id_set testmod_fmodret_set = {
	.owner = THIS_MODULE,
	.set   = &testmod_fmodret_ids,
};

static int testmod_init(void)
{
	int ret;

	ret = register_btf_kfunc_id_set(BPF_PROG_TYPE_SCHED_CLS, &testmod_kfunc_set);
	if (ret < 0)
		return ret;

	ret = register_btf_kfunc_id_set(BPF_PROG_TYPE_TRACING, &testmod_kfunc_set);
	if (ret < 0)
		return ret;

	return register_btf_fmodret_id_set(&testmod_fmodret_set);
}

static void testmod_exit(void)
{
}

module_init(testmod_init);
module_exit(testmod_exit);

MODULE_AUTHOR("Emil Sato <emil.sato@example.org>");
MODULE_DESCRIPTION("Kfuncs and fmod_ret hooks for the BPF selftests");
MODULE_LICENSE("GPL");
