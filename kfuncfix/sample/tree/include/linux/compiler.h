/* SPDX-License-Identifier: GPL-2.0 */
#ifndef _LINUX_COMPILER_H
#define _LINUX_COMPILER_H

/*
 * A much reduced compiler.h for the kfuncfix sample tree: only the
 * attributes and diagnostic helpers that the sample sources use.
 */

#ifndef __ASSEMBLY__

#define __used			__attribute__((__used__))
#define __maybe_unused		__attribute__((__unused__))
#define noinline			__attribute__((__noinline__))
#define __always_inline		inline __attribute__((__always_inline__))
#define __read_mostly		__attribute__((__section__(".data..read_mostly")))

#define likely(cond)		__builtin_expect(!!(cond), 1)
#define unlikely(cond)		__builtin_expect(!!(cond), 0)

#define barrier()			__asm__ __volatile__("" : : : "memory")

/*
 * Scoped control of compiler warnings.  A group of definitions that the
 * compiler would otherwise warn about is written as
 *
 *	__diag_push();
 *	__diag_ignore_all("-Wsome-warning", "why the warning is wrong here");
 *	... definitions ...
 *	__diag_pop();
 *
 * The second argument of __diag_ignore_all() is documentation only.
 */
#define __diag_to_string(text)	#text
#define __diag_pragma(text)		_Pragma(__diag_to_string(GCC diagnostic text))
#define __diag_push()			__diag_pragma(push)
#define __diag_pop()			__diag_pragma(pop)
#define __diag_ignore_all(option, reason)	__diag_pragma(ignored option)

#endif /* !__ASSEMBLY__ */

#endif /* _LINUX_COMPILER_H */
