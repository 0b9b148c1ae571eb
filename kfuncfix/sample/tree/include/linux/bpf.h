/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The few BPF core declarations that the kfuncfix sample tree refers to.
 */
#ifndef _LINUX_BPF_H
#define _LINUX_BPF_H 1

#include <linux/types.h>

/* Program types named by the sample tree's kfunc registrations. */
enum bpf_prog_type {
	BPF_PROG_TYPE_UNSPEC,
	BPF_PROG_TYPE_SCHED_CLS,
	BPF_PROG_TYPE_XDP,
	BPF_PROG_TYPE_TRACING,
	BPF_PROG_TYPE_STRUCT_OPS,
	BPF_PROG_TYPE_LSM,
	BPF_PROG_TYPE_SYSCALL,
};

enum bpf_return_type {
	RET_INTEGER,
	RET_VOID,
};

enum bpf_arg_type {
	ARG_DONTCARE,
	ARG_ANYTHING,
};

/* How the verifier sees a helper: what it returns and what it takes. */
struct bpf_func_proto {
	u64 (*func)(u64 r1, u64 r2, u64 r3, u64 r4, u64 r5);
	bool gpl_only;
	enum bpf_return_type ret_type;
	enum bpf_arg_type arg1_type;
};

bool bpf_softlockup_attach_allowed(u32 btf_id);

#endif /* _LINUX_BPF_H */
