/* SPDX-License-Identifier: MIT */
/* Shared by seccomp.c and seccomp_lists.c. */
#ifndef NV_SECCOMP_INTERNAL_H
#define NV_SECCOMP_INTERNAL_H

#include "vmm_seccomp.h"

struct sc_list {
	const char *const *syscalls;  /* names; "ioctl" means: the requests below only */
	const unsigned long *ioctls;  /* 0-terminated */
};

extern const struct sc_list sc_lists[VMM_THREAD_KINDS];
extern const char *const *sc_common;
extern const char *const *sc_sanitizer; /* empty but in sanitizer builds */

#endif
