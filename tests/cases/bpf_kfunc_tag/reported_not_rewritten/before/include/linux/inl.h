#ifndef _LINUX_INL_H
#define _LINUX_INL_H
static inline int case_inline(int a)
{
	return a;
}
#endif
