/* SPDX-License-Identifier: GPL-2.0 */
#ifndef _NF_FLOWMARK_H
#define _NF_FLOWMARK_H

#include <linux/refcount.h>
#include <linux/types.h>
#include <net/netfilter/nf_conntrack.h>

/**
 * struct nf_flowmark - a mark attached to a tracked connection
 * @ct:		the connection, referenced for as long as the flow mark is
 * @mark:	the mark; policy routing and the packet filter match on it
 * @use:	references, from the conntrack extension and from BPF programs
 * @locked:	set once the mark may no longer change
 */
struct nf_flowmark {
	struct nf_conn *ct;
	u32 mark;
	refcount_t use;
	bool locked;
};

struct nf_flowmark *nf_flowmark_find(const struct net *net,
				     const struct nf_conntrack_tuple *tuple, u32 zone);
void nf_flowmark_put(struct nf_flowmark *fm);

/*
 * The flow mark accessors callable from BPF.  nf_flowmark_bpf.c builds its
 * kfunc set entries from this list, and so can anything else that needs
 * one line per accessor.
 */
#define FLOWMARK_KFUNCS(X)	\
	X(bpf_flowmark_get)	\
	X(bpf_flowmark_set)

#if IS_BUILTIN(CONFIG_NF_FLOWMARK) && IS_ENABLED(CONFIG_DEBUG_INFO_BTF)
int register_nf_flowmark_bpf(void);
#else
static inline int register_nf_flowmark_bpf(void)
{
	return 0;
}
#endif

#endif /* _NF_FLOWMARK_H */
