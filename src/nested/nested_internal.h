/* SPDX-License-Identifier: MIT */
/* Shared inside src/nested: the fix texts that the policy, the probe and the rules print. */
#ifndef NV_NESTED_INTERNAL_H
#define NV_NESTED_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "nested.h"

/* "modprobe -r kvm_amd && modprobe kvm_amd nested=1; to keep it across reboots, add ..." (one line). */
char *nv_fix_nested_param(enum cpu_vendor v, char *buf, size_t cap);
/* How to get a usable KVM device, for errno e (ENOENT, EACCES, ...), one line. */
char *nv_fix_kvm_device(enum cpu_vendor v, int e, char *buf, size_t cap);
/* How to get VMX/SVM into the host CPU (firmware, or the outer hypervisor when is_vm). */
char *nv_fix_cpu_virt(enum cpu_vendor v, enum nested_tristate is_vm, char *buf, size_t cap);
/* "CPUID leaf 0x1 ECX bit 5 (VMX)" for the vendor; the SVM one for unknown vendors too. */
const char *nv_virt_bit_name(enum cpu_vendor v);
/* The same without the name: "CPUID leaf 0x1 ECX bit 5". */
const char *nv_virt_bit_where(enum cpu_vendor v);


#endif
