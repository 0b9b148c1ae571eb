/* SPDX-License-Identifier: GPL-2.0 */
#ifndef _LINUX_BTF_H
#define _LINUX_BTF_H 1

/*
 * And the following kfunc:
 *
 *	BTF_ID_FLAGS(func, bpf_task_acquire, KF_ACQUIRE | KF_TRUSTED_ARGS)
 */
#define KF_ACQUIRE	(1 << 0) /* kfunc is an acquire function */
#define KF_TRUSTED_ARGS (1 << 4) /* kfunc only takes trusted pointer arguments */

#endif
