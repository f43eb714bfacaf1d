/* SPDX-License-Identifier: MIT */
/* Shared inside src/nested: the fix texts that the policy, the probe and the rules print. */
#ifndef NV_NESTED_INTERNAL_H
#define NV_NESTED_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "nested.h"

/* "modprobe -r kvm_amd && modprobe kvm_amd nested=1; to keep it across reboots, add ..." (one line). */
char *nv_fix_nested_param(enum nested_vendor v, char *buf, size_t cap);
/* How to get a usable KVM device, for errno e (ENOENT, EACCES, ...), one line. */
char *nv_fix_kvm_device(enum nested_vendor v, int e, char *buf, size_t cap);
/* How to get VMX/SVM into the host CPU (firmware, or the outer hypervisor when is_vm). */
char *nv_fix_cpu_virt(enum nested_vendor v, enum nested_tristate is_vm, char *buf, size_t cap);
/* "CPUID leaf 0x1 ECX bit 5 (VMX)" for the vendor; the SVM one for unknown vendors too. */
const char *nv_virt_bit_name(enum nested_vendor v);
/* The same without the name: "CPUID leaf 0x1 ECX bit 5". */
const char *nv_virt_bit_where(enum nested_vendor v);

/* Leaf function, subleaf 0 of t, like cpuid_find() of the vmm layer; NULL if absent. */
struct cpuid_entry *nv_cpuid_leaf(const struct cpuid_table *t, uint32_t function);

#endif
