// SPDX-License-Identifier: GPL-2.0-only
/*
 * Dump the state of every CPU when a soft lockup is suspected.
 *
 * Part of the kfuncfix sample tree: invented code in the shape of a small
 * core kernel file, built only with CONFIG_SOFTLOCKUP_DUMP=y.
 */

#define pr_fmt(fmt) "softlockup_dump: " fmt

#include <linux/atomic.h>
#include <linux/export.h>
#include <linux/kernel.h>
#include <linux/nmi.h>
#include <linux/printk.h>
#include <linux/sched/debug.h>
#include <linux/softlockup_dump.h>
#include <linux/spinlock.h>

static DEFINE_RAW_SPINLOCK(dump_lock);
static atomic_t dump_depth = ATOMIC_INIT(0);
static unsigned long dump_serial;

/**
 * softlockup_dump_prepare - get ready to dump
 *
 * Makes the console verbose so that the dump is not filtered, and takes the
 * dump lock so that two dumps do not interleave.  Must be paired with
 * softlockup_dump_finish().
 */
void softlockup_dump_prepare(void)
{
	raw_spin_lock(&dump_lock);
	atomic_inc(&dump_depth);
	console_verbose();
}

/**
 * softlockup_dump_now - print the backtrace of every CPU and the blocked tasks
 *
 * May be called between softlockup_dump_prepare() and
 * softlockup_dump_finish(), or on its own.  BPF tracing programs reach it
 * through the tracing kfunc set; since it can hold up every CPU for a long
 * time, it is flagged as destructive there.
 */
void softlockup_dump_now(void)
{
	unsigned long flags;

	local_irq_save(flags);
	pr_emerg("dump %lu requested on CPU %d (depth %d)\n", ++dump_serial,
		 raw_smp_processor_id(), atomic_read(&dump_depth));
	if (!trigger_all_cpu_backtrace())
		pr_emerg("no NMI backtrace support, dumping this CPU only\n");
	show_state_filter(TASK_UNINTERRUPTIBLE);
	local_irq_restore(flags);
}
EXPORT_SYMBOL_GPL(softlockup_dump_now);

/**
 * softlockup_dump_finish - end a dump started by softlockup_dump_prepare()
 */
void softlockup_dump_finish(void)
{
	atomic_dec(&dump_depth);
	raw_spin_unlock(&dump_lock);
}
