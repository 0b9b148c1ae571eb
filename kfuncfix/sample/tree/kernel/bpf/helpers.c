// SPDX-License-Identifier: GPL-2.0-only
/*
 * Generic BPF helpers, and the kfuncs every tracing program may call.
 *
 * Part of the kfuncfix sample tree: a few invented helpers in the shape of
 * kernel/bpf/helpers.c, whose kfunc set lists a function defined elsewhere.
 */
#include <linux/bpf.h>
#include <linux/btf.h>
#include <linux/btf_ids.h>
#include <linux/errno.h>
#include <linux/filter.h>
#include <linux/init.h>
#include <linux/jiffies.h>
#include <linux/ktime.h>
#include <linux/softlockup_dump.h>

BPF_CALL_0(bpf_jiffies_coarse)
{
	return get_jiffies_64();
}

const struct bpf_func_proto bpf_jiffies_coarse_proto = {
	.func		= bpf_jiffies_coarse,
	.gpl_only	= false,
	.ret_type	= RET_INTEGER,
};

BPF_CALL_1(bpf_ktime_boot_coarse_ns, u64, flags)
{
	if (unlikely(flags))
		return (u64)-EINVAL;

	return ktime_get_boot_fast_ns();
}

const struct bpf_func_proto bpf_ktime_boot_coarse_ns_proto = {
	.func		= bpf_ktime_boot_coarse_ns,
	.gpl_only	= false,
	.ret_type	= RET_INTEGER,
	.arg1_type	= ARG_ANYTHING,
};

/*
 * Functions that tracing programs may attach to although they run with the
 * dump lock held.  The verifier checks attach targets against this list;
 * nothing in it may be called from BPF.
 */
BTF_SET_START(softlockup_attach_allowlist)
BTF_ID(func, softlockup_dump_prepare)
BTF_ID(func, softlockup_dump_finish)
BTF_SET_END(softlockup_attach_allowlist)

bool bpf_softlockup_attach_allowed(u32 btf_id)
{
	return btf_id_set_contains(&softlockup_attach_allowlist, btf_id);
}

BTF_SET8_START(bpf_tracing_kfunc_ids)
#ifdef CONFIG_SOFTLOCKUP_DUMP
BTF_ID_FLAGS(func, softlockup_dump_now, KF_DESTRUCTIVE)
#endif
BTF_SET8_END(bpf_tracing_kfunc_ids)

static const struct btf_kfunc_id_set bpf_tracing_kfunc_set = {
	.owner = THIS_MODULE,
	.set   = &bpf_tracing_kfunc_ids,
};

static int __init bpf_helpers_kfunc_init(void)
{
	return register_btf_kfunc_id_set(BPF_PROG_TYPE_TRACING, &bpf_tracing_kfunc_set);
}

late_initcall(bpf_helpers_kfunc_init);
