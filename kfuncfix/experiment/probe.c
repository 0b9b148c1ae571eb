// SPDX-License-Identifier: GPL-2.0-only
/*
 * kfuncfix's probe: the eight shapes a kfunc definition takes, registered in a
 * kfunc id set the way the kernel's BTF_KFUNCS_START/BTF_ID_FLAGS do it.
 *
 * Compiled with `cc -O2 -g -c` and kernel-like flags, without a kernel tree:
 * what the compiler does to each shape under a marker, not the kernel's whole
 * build (no LTO, no -fpatchable-function-entry).  __kfunc_marker is the marker
 * under test, given on the command line with -D (a `__` word, so that
 * kfuncfix reads these definitions as it reads a kernel's).
 */

/* The kernel's own words where it defines them (--mode lto links this in). */
#ifndef __used
#define __used		__attribute__((__used__))
#endif
#ifndef __weak
#define __weak		__attribute__((__weak__))
#endif
#ifndef noinline
#define noinline	__attribute__((__noinline__))
#endif
#ifndef __retain
#define __retain	__attribute__((__retain__))
#endif
#ifndef noipa
#define noipa		__attribute__((__noipa__))
#endif

#ifndef __kfunc_marker
#define __kfunc_marker
#endif

struct probe_obj {
	long value;
	struct probe_obj *next;
};

/* A global BPF calls and no C code does. */
__kfunc_marker int probe_g1_no_caller(int a, int b)
{
	return a * 3 + b;
}

/* A global with an empty body (a hook point). */
__kfunc_marker void probe_g2_empty(struct probe_obj *obj)
{
}

/* A global with an unused parameter, called from C with a constant. */
__kfunc_marker int probe_g3_unused_param(int used, int unused)
{
	return used + 7;
}

/* A global returning a pointer. */
__kfunc_marker struct probe_obj *probe_g4_ptr_ret(struct probe_obj *obj)
{
	return obj ? obj->next : 0;
}

/* Keeps calls from being folded away: the callee has an effect. */
long probe_sink;

/* A static called once, with a constant. */
__kfunc_marker static int probe_s1_called_once(int limit)
{
	probe_sink += limit;
	return (int)probe_sink;
}

/* A static with an unused parameter and three callers. */
__kfunc_marker static long probe_s2_unused_param(struct probe_obj *obj, int flags)
{
	return obj->value + 1;
}

/* A static only BPF calls. */
__kfunc_marker static int probe_s3_no_caller(int a)
{
	return a ^ 0x5a;
}

/* A static whose address is taken. */
__kfunc_marker static int probe_s4_addr_taken(int a)
{
	return a - 1;
}

int probe_caller(struct probe_obj *obj, int x);
int probe_caller(struct probe_obj *obj, int x)
{
	int (*fn)(int) = x > 4 ? probe_s4_addr_taken : 0;

	return probe_g3_unused_param(x, 0) + probe_s1_called_once(100) +
	       (int)probe_s2_unused_param(obj, 1) + (int)probe_s2_unused_param(obj->next, 2) +
	       (int)probe_s2_unused_param(obj->next->next, 3) + (fn ? fn(x) : 0);
}

/*
 * The kfunc set, as BTF_KFUNCS_START(probe_kfunc_ids) ... BTF_KFUNCS_END
 * emit it: an 8-byte header (count, flags = BTF_SET8_KFUNCS) and one
 * __BTF_ID__func__NAME__N symbol per entry, which resolve_btfids would fill.
 */
#define PROBE_ID(name, n)						\
	".globl __BTF_ID__func__" #name "__" #n "\n"			\
	"__BTF_ID__func__" #name "__" #n ":\n"				\
	".zero 4\n.long 0\n"

__asm__(".pushsection .BTF_ids,\"a\"\n"
	".local __BTF_ID__set8__probe_kfunc_ids\n"
	"__BTF_ID__set8__probe_kfunc_ids:\n"
	".long 8\n.long 1\n"
	PROBE_ID(probe_g1_no_caller, 1)
	PROBE_ID(probe_g2_empty, 2)
	PROBE_ID(probe_g3_unused_param, 3)
	PROBE_ID(probe_g4_ptr_ret, 4)
	PROBE_ID(probe_s1_called_once, 5)
	PROBE_ID(probe_s2_unused_param, 6)
	PROBE_ID(probe_s3_no_caller, 7)
	PROBE_ID(probe_s4_addr_taken, 8)
	".size __BTF_ID__set8__probe_kfunc_ids, . - __BTF_ID__set8__probe_kfunc_ids\n"
	".popsection\n");
