// SPDX-License-Identifier: MIT
/*
 * src/vmm/irq.c's irqfd bookkeeping against a fake KVM VM (issue S, point
 * 6). The test defines ioctl(): calls on FAKE_VM_FD are answered here the
 * way KVM answers them (KVM_IRQFD refuses a second assignment of an
 * eventfd that is already assigned, with EBUSY, as kvm_irqfd_assign does;
 * deassign matches eventfd and GSI); every other fd goes to the kernel.
 *
 * The defect: when the guest reprograms an MSI-X vector whose irqfd is
 * bound and the new routing table fails to commit, the slot was freed but
 * the irqfd left assigned in KVM, so every later bind of that eventfd got
 * EBUSY (the vector stayed on KVM_SIGNAL_MSI for good) and the release
 * never deassigned it.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cmocka.h>
#include <linux/kvm.h>

#include "irq.h"
#include "pci.h"

#define FAKE_VM_FD 0x7ffffff0

static struct {
	bool fail_routing;
	unsigned routing_calls;
	struct { uint32_t gsi; uint64_t addr; uint32_t data; } msi[16];
	unsigned nmsi;                     /* MSI routes in the last table committed */
	struct { int fd; uint32_t gsi; } irqfd[16];
	unsigned nirqfd;
	unsigned signal_msi;
} K;

int ioctl(int fd, unsigned long req, ...)
{
	va_list ap;
	va_start(ap, req);
	void *arg = va_arg(ap, void *);
	va_end(ap);
	if (fd != FAKE_VM_FD)
		return (int)syscall(SYS_ioctl, fd, req, arg);
	if (req == KVM_SET_GSI_ROUTING) {
		K.routing_calls++;
		if (K.fail_routing) {
			errno = ENOMEM;
			return -1;
		}
		const struct kvm_irq_routing *r = arg;
		K.nmsi = 0;
		for (unsigned i = 0; i < r->nr; i++) {
			const struct kvm_irq_routing_entry *e = &r->entries[i];
			if (e->type != KVM_IRQ_ROUTING_MSI)
				continue;
			assert_true(K.nmsi < 16);
			K.msi[K.nmsi].gsi = e->gsi;
			K.msi[K.nmsi].addr = e->u.msi.address_lo | (uint64_t)e->u.msi.address_hi << 32;
			K.msi[K.nmsi].data = e->u.msi.data;
			K.nmsi++;
		}
		return 0;
	}
	if (req == KVM_IRQFD) {
		const struct kvm_irqfd *f = arg;
		if (f->flags & KVM_IRQFD_FLAG_DEASSIGN) {
			for (unsigned i = 0; i < K.nirqfd; i++)
				if (K.irqfd[i].fd == (int)f->fd && K.irqfd[i].gsi == f->gsi)
					K.irqfd[i] = K.irqfd[--K.nirqfd];
			return 0;
		}
		for (unsigned i = 0; i < K.nirqfd; i++)
			if (K.irqfd[i].fd == (int)f->fd) {
				errno = EBUSY; /* "This fd is used for another irq already." */
				return -1;
			}
		assert_true(K.nirqfd < 16);
		K.irqfd[K.nirqfd].fd = (int)f->fd;
		K.irqfd[K.nirqfd].gsi = f->gsi;
		K.nirqfd++;
		return 0;
	}
	if (req == KVM_SIGNAL_MSI) {
		K.signal_msi++;
		return 1;
	}
	errno = ENOTTY;
	return -1;
}

/* The GSI KVM has fd bound to, or -1. */
static int bound_gsi(int fd)
{
	for (unsigned i = 0; i < K.nirqfd; i++)
		if (K.irqfd[i].fd == fd)
			return (int)K.irqfd[i].gsi;
	return -1;
}

/* The address the committed table routes gsi to, or 0. */
static uint64_t routed(int gsi)
{
	for (unsigned i = 0; i < K.nmsi; i++)
		if ((int)K.msi[i].gsi == gsi)
			return K.msi[i].addr;
	return 0;
}

static void test_rebind_after_failed_commit(void **state)
{
	memset(&K, 0, sizeof(K));
	struct kvm kvm = { .fd = -1, .vm_fd = FAKE_VM_FD };
	struct irq q;
	assert_int_equal(irq_init(&q, &kvm), 0);
	struct pci_platform p;
	irq_pci_platform(&q, &p);
	int efd = eventfd(0, EFD_CLOEXEC), other = eventfd(0, EFD_CLOEXEC);
	assert_true(efd >= 0 && other >= 0);

	/* Bound: a GSI, its route, the irqfd. */
	assert_int_equal(p.msi_irqfd(p.opaque, efd, 0xfee00000, 0x41), 0);
	int gsi = bound_gsi(efd);
	assert_true(gsi >= IRQ_FIRST_MSI_GSI);
	assert_int_equal(routed(gsi), 0xfee00000);
	assert_int_equal(p.msi_irqfd(p.opaque, other, 0xfee01000, 0x42), 0);

	/* The guest reprograms the vector; the new table does not commit. The
	 * slot is freed, so KVM must not keep the irqfd either. */
	K.fail_routing = true;
	assert_true(p.msi_irqfd(p.opaque, efd, 0xfee02000, 0x43) < 0);
	K.fail_routing = false;
	assert_int_equal(bound_gsi(efd), -1);
	assert_int_not_equal(bound_gsi(other), -1); /* the other vector is untouched */

	/* The next change binds it again (it got EBUSY forever before). */
	assert_int_equal(p.msi_irqfd(p.opaque, efd, 0xfee03000, 0x44), 0);
	gsi = bound_gsi(efd);
	assert_true(gsi >= IRQ_FIRST_MSI_GSI);
	assert_int_equal(routed(gsi), 0xfee03000);
	assert_int_equal(routed(bound_gsi(other)), 0xfee01000);

	/* A reprogramming that commits keeps the binding and moves the route. */
	assert_int_equal(p.msi_irqfd(p.opaque, efd, 0xfee04000, 0x45), 0);
	assert_int_equal(bound_gsi(efd), gsi);
	assert_int_equal(routed(gsi), 0xfee04000);

	/* Release deassigns; irq_free the rest: nothing stays in KVM. */
	p.msi_irqfd_release(p.opaque, efd);
	assert_int_equal(bound_gsi(efd), -1);
	assert_int_equal(routed(gsi), 0);
	irq_free(&q);
	assert_int_equal(K.nirqfd, 0);
	close(efd);
	close(other);
}

/* A first bind whose irqfd KVM refuses leaves no route and no slot behind. */
static void test_fresh_bind_refused(void **state)
{
	memset(&K, 0, sizeof(K));
	struct kvm kvm = { .fd = -1, .vm_fd = FAKE_VM_FD };
	struct irq q;
	assert_int_equal(irq_init(&q, &kvm), 0);
	struct pci_platform p;
	irq_pci_platform(&q, &p);
	int efd = eventfd(0, EFD_CLOEXEC);
	K.irqfd[0].fd = efd; /* someone else's irqfd already */
	K.irqfd[0].gsi = 5;
	K.nirqfd = 1;
	assert_int_equal(p.msi_irqfd(p.opaque, efd, 0xfee00000, 0x41), -EBUSY);
	assert_int_equal(K.nmsi, 0);
	K.nirqfd = 0;
	assert_int_equal(p.msi_irqfd(p.opaque, efd, 0xfee00000, 0x41), 0);
	assert_int_equal(K.nmsi, 1);
	irq_free(&q);
	assert_int_equal(K.nirqfd, 0);
	close(efd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rebind_after_failed_commit),
		cmocka_unit_test(test_fresh_bind_refused),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
