// SPDX-License-Identifier: GPL-2.0-only
/*
 * Flow marks for BPF: XDP and TC programs look up the mark of a tracked
 * connection, read it and change it.
 *
 * Part of the kfuncfix sample tree: invented, in the shape of the BPF glue
 * of a netfilter module.
 */

#include <linux/bpf.h>
#include <linux/btf.h>
#include <linux/btf_ids.h>
#include <linux/errno.h>
#include <linux/filter.h>
#include <linux/types.h>
#include <net/netfilter/nf_conntrack.h>
#include <net/netfilter/nf_conntrack_core.h>
#include <net/netfilter/nf_flowmark.h>
#include <net/xdp.h>

/**
 * struct bpf_flowmark_tuple - the connection a program asks about
 * @saddr:	IPv4 source address
 * @daddr:	IPv4 destination address
 * @sport:	source port
 * @dport:	destination port
 * @l4proto:	IPPROTO_TCP or IPPROTO_UDP
 */
struct bpf_flowmark_tuple {
	__be32 saddr;
	__be32 daddr;
	__be16 sport;
	__be16 dport;
	u8 l4proto;
	u8 reserved[3];
};

/**
 * struct bpf_flowmark_opts - options of the lookup kfuncs
 * @netns_id:	network namespace to look in, or -1 for the program's own
 * @zone:	conntrack zone
 * @error:	set to a negative errno when the lookup fails
 * @reserved:	must be zero
 */
struct bpf_flowmark_opts {
	s32 netns_id;
	u16 zone;
	u16 reserved;
	s32 error;
};

enum {
	NF_BPF_FLOWMARK_OPTS_SZ = 12,
};

static struct nf_flowmark *__bpf_flowmark_lookup(struct net *net,
						 struct bpf_flowmark_tuple *bpf_tuple,
						 u32 tuple_len,
						 struct bpf_flowmark_opts *opts,
						 u32 opts_len)
{
	struct nf_conntrack_tuple tuple = {};
	struct nf_flowmark *fm;

	if (!opts || opts_len != NF_BPF_FLOWMARK_OPTS_SZ || opts->reserved)
		return ERR_PTR(-EINVAL);
	if (!bpf_tuple || tuple_len != sizeof(*bpf_tuple))
		return ERR_PTR(-EINVAL);
	if (bpf_tuple->l4proto != IPPROTO_TCP && bpf_tuple->l4proto != IPPROTO_UDP)
		return ERR_PTR(-EPROTO);

	if (opts->netns_id >= 0) {
		net = get_net_ns_by_id(net, opts->netns_id);
		if (!net)
			return ERR_PTR(-ENONET);
	}

	tuple.src.l3num = AF_INET;
	tuple.src.u3.ip = bpf_tuple->saddr;
	tuple.src.u.all = bpf_tuple->sport;
	tuple.dst.u3.ip = bpf_tuple->daddr;
	tuple.dst.u.all = bpf_tuple->dport;
	tuple.dst.protonum = bpf_tuple->l4proto;

	fm = nf_flowmark_find(net, &tuple, opts->zone);
	if (opts->netns_id >= 0)
		put_net(net);

	return fm ?: ERR_PTR(-ENOENT);
}

__diag_push();
__diag_ignore_all("-Wmissing-prototypes",
		  "Global functions as their definitions will be in nf_flowmark BTF");

/**
 * bpf_xdp_flowmark_lookup - look up the flow mark of a connection from XDP
 * @ctx:	XDP context of the calling program
 * @tuple:	addresses and ports of the connection
 * @tuple__sz:	sizeof(*@tuple)
 * @opts:	lookup options, see struct bpf_flowmark_opts
 * @opts__sz:	sizeof(*@opts), must be NF_BPF_FLOWMARK_OPTS_SZ
 *
 * Return: a referenced flow mark to be released with bpf_flowmark_release(),
 * or NULL with @opts->error set.
 */
struct nf_flowmark *bpf_xdp_flowmark_lookup(struct xdp_md *ctx, struct bpf_flowmark_tuple *tuple,
					    u32 tuple__sz, struct bpf_flowmark_opts *opts,
					    u32 opts__sz)
{
	struct xdp_buff *xdp = (struct xdp_buff *)ctx;
	struct nf_flowmark *fm;

	fm = __bpf_flowmark_lookup(dev_net(xdp->rxq->dev), tuple, tuple__sz, opts, opts__sz);
	if (IS_ERR(fm)) {
		if (opts)
			opts->error = PTR_ERR(fm);
		return NULL;
	}
	return fm;
}

/**
 * bpf_skb_flowmark_lookup - look up the flow mark of a connection from TC
 * @skb_ctx:	TC context of the calling program
 * @tuple:	addresses and ports of the connection
 * @tuple__sz:	sizeof(*@tuple)
 * @opts:	lookup options, see struct bpf_flowmark_opts
 * @opts__sz:	sizeof(*@opts), must be NF_BPF_FLOWMARK_OPTS_SZ
 *
 * Return: as for bpf_xdp_flowmark_lookup().
 */
struct nf_flowmark *
bpf_skb_flowmark_lookup(struct __sk_buff *skb_ctx, struct bpf_flowmark_tuple *tuple,
			u32 tuple__sz, struct bpf_flowmark_opts *opts, u32 opts__sz)
{
	struct sk_buff *skb = (struct sk_buff *)skb_ctx;
	struct net *net = skb->dev ? dev_net(skb->dev) : sock_net(skb->sk);
	struct nf_flowmark *fm;

	fm = __bpf_flowmark_lookup(net, tuple, tuple__sz, opts, opts__sz);
	if (IS_ERR(fm)) {
		if (opts)
			opts->error = PTR_ERR(fm);
		return NULL;
	}
	return fm;
}

/**
 * bpf_flowmark_release - drop a reference taken by a lookup
 * @fm: the flow mark, which the program must not use afterwards
 */
void bpf_flowmark_release(struct nf_flowmark *fm)
{
	nf_flowmark_put(fm);
}

/**
 * bpf_flowmark_get - read the mark of a connection
 * @fm: a flow mark returned by a lookup
 */
u32 bpf_flowmark_get(const struct nf_flowmark *fm)
{
	return READ_ONCE(fm->mark);
}

/**
 * bpf_flowmark_set - change the mark of a connection
 * @fm:		a flow mark returned by a lookup
 * @mark:	the new mark
 *
 * Return: 0, or -EPERM if the mark of this connection is locked.
 */
int bpf_flowmark_set(struct nf_flowmark *fm, u32 mark)
{
	if (READ_ONCE(fm->locked))
		return -EPERM;

	WRITE_ONCE(fm->mark, mark);
	return 0;
}

__diag_pop();

BTF_SET8_START(nf_flowmark_kfunc_ids)
BTF_ID_FLAGS(func, bpf_xdp_flowmark_lookup, KF_ACQUIRE | KF_RET_NULL)
BTF_ID_FLAGS(func, bpf_skb_flowmark_lookup, KF_ACQUIRE | KF_RET_NULL)
BTF_ID_FLAGS(func, bpf_flowmark_release, KF_RELEASE)
#define NF_FLOWMARK_ACCESSOR(name) BTF_ID_FLAGS(func, name, KF_TRUSTED_ARGS)
FLOWMARK_KFUNCS(NF_FLOWMARK_ACCESSOR)
#undef NF_FLOWMARK_ACCESSOR
BTF_SET8_END(nf_flowmark_kfunc_ids)

static const struct btf_kfunc_id_set nf_flowmark_kfunc_set = {
	.owner = THIS_MODULE,
	.set   = &nf_flowmark_kfunc_ids,
};

/*
 * Types the verifier lets programs read through a flow mark.  The middle
 * slot held struct nf_conn_labels, which programs no longer see.
 */
BTF_ID_LIST(nf_flowmark_btf_ids)
BTF_ID(struct, nf_flowmark)
BTF_ID_UNUSED
BTF_ID(struct, nf_conn)

bool nf_flowmark_btf_readable(u32 btf_id)
{
	return btf_id == nf_flowmark_btf_ids[0] || btf_id == nf_flowmark_btf_ids[2];
}

int register_nf_flowmark_bpf(void)
{
	int ret;

	ret = register_btf_kfunc_id_set(BPF_PROG_TYPE_XDP, &nf_flowmark_kfunc_set);
	if (ret)
		return ret;

	return register_btf_kfunc_id_set(BPF_PROG_TYPE_SCHED_CLS, &nf_flowmark_kfunc_set);
}
