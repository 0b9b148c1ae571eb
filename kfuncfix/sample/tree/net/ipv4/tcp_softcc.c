// SPDX-License-Identifier: GPL-2.0-only
/*
 * TCP Soft: additive increase, gentle decrease.
 *
 * Slow start is Reno's.  In congestion avoidance the window grows by one
 * segment per window of acknowledged data; on loss it shrinks to
 * backoff_eighths/8 of its size instead of half.
 *
 * Part of the kfuncfix sample tree: an invented congestion control module
 * whose callbacks a BPF struct_ops congestion control may call as kfuncs.
 */

#include <linux/btf.h>
#include <linux/btf_ids.h>
#include <linux/module.h>
#include <net/tcp.h>

static int backoff_eighths __read_mostly = 7;
module_param(backoff_eighths, int, 0644);
MODULE_PARM_DESC(backoff_eighths, "on loss, keep this many eighths of cwnd (1-7)");

struct softcc {
	u32 loss_cwnd;	/* cwnd when the last loss was detected */
	u32 acked;		/* segments acked since cwnd last grew */
};

static void softcc_init(struct sock *sk)
{
	struct softcc *ca = inet_csk_ca(sk);

	ca->loss_cwnd = 0;
	ca->acked = 0;
}

static void softcc_cong_avoid(struct sock *sk, u32 ack, u32 acked)
{
	struct tcp_sock *tp = tcp_sk(sk);
	struct softcc *ca = inet_csk_ca(sk);

	if (!tcp_is_cwnd_limited(sk))
		return;

	if (tcp_in_slow_start(tp)) {
		acked = tcp_slow_start(tp, acked);
		if (!acked)
			return;
	}

	ca->acked += acked;
	if (ca->acked >= tcp_snd_cwnd(tp)) {
		ca->acked -= tcp_snd_cwnd(tp);
		if (tcp_snd_cwnd(tp) < tp->snd_cwnd_clamp)
			tcp_snd_cwnd_set(tp, tcp_snd_cwnd(tp) + 1);
	}
}

static u32 softcc_ssthresh(struct sock *sk)
{
	const struct tcp_sock *tp = tcp_sk(sk);
	struct softcc *ca = inet_csk_ca(sk);
	u32 eighths = clamp(backoff_eighths, 1, 7);

	ca->loss_cwnd = tcp_snd_cwnd(tp);
	return max(tcp_snd_cwnd(tp) * eighths / 8, 2U);
}

static u32 softcc_undo_cwnd(struct sock *sk)
{
	const struct softcc *ca = inet_csk_ca(sk);

	return max(tcp_snd_cwnd(tcp_sk(sk)), ca->loss_cwnd);
}

static struct tcp_congestion_ops tcp_softcc __read_mostly = {
	.init		= softcc_init,
	.ssthresh	= softcc_ssthresh,
	.cong_avoid	= softcc_cong_avoid,
	.undo_cwnd	= softcc_undo_cwnd,
	.owner		= THIS_MODULE,
	.name		= "soft",
};

BTF_SET8_START(tcp_softcc_check_kfunc_ids)
#ifdef CONFIG_X86
#ifdef CONFIG_DYNAMIC_FTRACE
BTF_ID_FLAGS(func, softcc_init)
BTF_ID_FLAGS(func, softcc_cong_avoid)
BTF_ID_FLAGS(func, softcc_ssthresh)
BTF_ID_FLAGS(func, softcc_undo_cwnd)
#endif
#endif
BTF_SET8_END(tcp_softcc_check_kfunc_ids)

static const struct btf_kfunc_id_set tcp_softcc_kfunc_set = {
	.owner = THIS_MODULE,
	.set   = &tcp_softcc_check_kfunc_ids,
};

static int __init softcc_register(void)
{
	int ret;

	BUILD_BUG_ON(sizeof(struct softcc) > ICSK_CA_PRIV_SIZE);

	ret = register_btf_kfunc_id_set(BPF_PROG_TYPE_STRUCT_OPS, &tcp_softcc_kfunc_set);
	if (ret < 0)
		return ret;

	return tcp_register_congestion_control(&tcp_softcc);
}

static void __exit softcc_unregister(void)
{
	tcp_unregister_congestion_control(&tcp_softcc);
}

module_init(softcc_register);
module_exit(softcc_unregister);

MODULE_AUTHOR("Ines Marchetti <ines.marchetti@example.org>");
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("TCP Soft: AIMD with a gentle decrease");
