/* SPDX-License-Identifier: GPL-2.0 */
#ifndef _LINUX_SOFTLOCKUP_DUMP_H
#define _LINUX_SOFTLOCKUP_DUMP_H

/*
 * All-CPU state dumps for suspected soft lockups (kernel/softlockup_dump.c).
 * A dump is bracketed by softlockup_dump_prepare() and
 * softlockup_dump_finish(); softlockup_dump_now() may also be called on
 * its own, from the watchdog or from a BPF tracing program.
 */

#ifdef CONFIG_SOFTLOCKUP_DUMP
void softlockup_dump_prepare(void);
void softlockup_dump_now(void);
void softlockup_dump_finish(void);
#else
static inline void softlockup_dump_prepare(void) { }
static inline void softlockup_dump_now(void) { }
static inline void softlockup_dump_finish(void) { }
#endif

#endif /* _LINUX_SOFTLOCKUP_DUMP_H */
