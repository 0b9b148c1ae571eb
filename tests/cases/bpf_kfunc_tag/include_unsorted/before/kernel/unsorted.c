// SPDX-License-Identifier: GPL-2.0

#include <linux/capability.h>
#include <linux/mm.h>
#include <linux/file.h>
#include "internal.h"

/* Defined here, listed by the set in kernel/bpf/sets.c. */
void case_elsewhere(void)
{
}
