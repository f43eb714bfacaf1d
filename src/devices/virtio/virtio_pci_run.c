// SPDX-License-Identifier: MIT
/*
 * Queue notifications of the virtio PCI transport: one eventfd per queue
 * (registered as an ioeventfd on the queue's notify address when the
 * platform can), consumed by the device's worker thread or by the evloop;
 * or, in INLINE mode, no eventfd and processing in the notifier's thread.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "evloop.h"
#include "util.h"
#include "virtio_pci_internal.h"

static void process_once(struct virtio_dev *d, unsigned q)
{
	struct vpci_queue *vq = &d->q[q];
	vq_lock(&vq->vq);
	uint8_t st = __atomic_load_n(&d->status, __ATOMIC_ACQUIRE);
	if ((st & VIRTIO_STATUS_DRIVER_OK) && !(st & VIRTIO_STATUS_DEVICE_NEEDS_RESET) &&
	    vq->vq.ready && !vq->vq.broken && d->p.ops->queue_notify &&
	    !__atomic_load_n(&d->halted, __ATOMIC_ACQUIRE))
		d->p.ops->queue_notify(d->p.opaque, q);
	vq_unlock(&vq->vq);
}

void vpci_process(struct virtio_dev *d, unsigned q)
{
	/* INLINE has no later turn to defer to: the notifier's thread goes on
	 * until the device stops asking (unit tests and fuzzers only). */
	do {
		__atomic_store_n(&d->q[q].again_inline, false, __ATOMIC_RELAXED);
		process_once(d, q);
	} while (d->p.run == VIRTIO_RUN_INLINE &&
		 __atomic_load_n(&d->q[q].again_inline, __ATOMIC_RELAXED) &&
		 !__atomic_load_n(&d->halted, __ATOMIC_ACQUIRE));
}

static void again_cb(void *opaque)
{
	struct vpci_queue *vq = opaque;
	vpci_process(vq->dev, vq->vq.index);
}

void virtio_queue_again(struct virtio_dev *d, unsigned q)
{
	if (q >= d->nq || __atomic_load_n(&d->halted, __ATOMIC_ACQUIRE))
		return;
	switch (d->p.run) {
	case VIRTIO_RUN_EVLOOP:
		evloop_defer(d->p.loop, &d->q[q].again);
		break;
	case VIRTIO_RUN_WORKER:
		vpci_kick(d, q); /* the worker finds its own kick on its next epoll_wait */
		break;
	case VIRTIO_RUN_INLINE:
		__atomic_store_n(&d->q[q].again_inline, true, __ATOMIC_RELAXED);
		break;
	}
}

void vpci_kick(struct virtio_dev *d, unsigned q)
{
	if (d->q[q].kick_fd < 0) {
		vpci_process(d, q);
		return;
	}
	uint64_t one = 1;
	if (write(d->q[q].kick_fd, &one, sizeof(one)) < 0)
		nv_debug("%s: queue %u kick: %s", d->name, q, strerror(errno));
}

/* Drains the eventfd; true if it had been signalled. */
static bool drain(int fd)
{
	uint64_t v;
	return read(fd, &v, sizeof(v)) == (ssize_t)sizeof(v);
}

static void loop_cb(void *opaque, int fd, uint32_t events)
{
	struct vpci_queue *vq = opaque;
	if (drain(fd))
		vpci_process(vq->dev, vq->vq.index);
}

static void *worker_main(void *opaque)
{
	struct virtio_dev *d = opaque;
	struct epoll_event ev[16];
	const struct pci_platform *p = pci_host_platform(d->host);
	if (p->thread_start && p->thread_start(p->thread_opaque, d->name) < 0) {
		nv_err("%s: its worker thread could not be confined: the device stays idle", d->name);
		return NULL;
	}
	for (;;) {
		int n = epoll_wait(d->epfd, ev, (int)ARRAY_SIZE(ev), -1);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			nv_err("%s: worker epoll: %s", d->name, strerror(errno));
			return NULL;
		}
		for (int i = 0; i < n; i++) {
			uint64_t key = ev[i].data.u64;
			if (key == UINT64_MAX)
				return NULL; /* stop_fd */
			if (key < d->nq && drain(d->q[key].kick_fd))
				vpci_process(d, (unsigned)key);
		}
	}
}

void virtio_pci_poll(struct virtio_dev *d)
{
	for (unsigned q = 0; q < d->nq; q++) {
		bool again = d->q[q].again.queued;
		if (again)
			evloop_defer_cancel(d->p.loop, &d->q[q].again);
		if (d->q[q].kick_fd < 0 || drain(d->q[q].kick_fd) || again)
			vpci_process(d, q);
	}
}

int vpci_run_start(struct virtio_dev *d)
{
	d->epfd = d->stop_fd = -1;
	for (unsigned q = 0; q < d->nq; q++) {
		d->q[q].kick_fd = -1;
		d->q[q].ioev_addr = UINT64_MAX;
		d->q[q].again = EV_DEFERRED_INIT(again_cb, &d->q[q]);
	}
	if (d->p.run == VIRTIO_RUN_INLINE)
		return 0;
	for (unsigned q = 0; q < d->nq; q++) {
		d->q[q].kick_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		if (d->q[q].kick_fd < 0)
			return -errno;
	}
	if (d->p.run == VIRTIO_RUN_EVLOOP) {
		for (unsigned q = 0; q < d->nq; q++) {
			int r = evloop_add(d->p.loop, d->q[q].kick_fd, EPOLLIN, loop_cb, &d->q[q]);
			if (r < 0)
				return r;
			d->q[q].on_loop = true;
		}
		return 0;
	}
	d->epfd = epoll_create1(EPOLL_CLOEXEC);
	d->stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (d->epfd < 0 || d->stop_fd < 0)
		return -errno;
	struct epoll_event ev = { .events = EPOLLIN, .data.u64 = UINT64_MAX };
	if (epoll_ctl(d->epfd, EPOLL_CTL_ADD, d->stop_fd, &ev) < 0)
		return -errno;
	for (unsigned q = 0; q < d->nq; q++) {
		ev.data.u64 = q;
		if (epoll_ctl(d->epfd, EPOLL_CTL_ADD, d->q[q].kick_fd, &ev) < 0)
			return -errno;
	}
	int r = pthread_create(&d->worker, NULL, worker_main, d);
	if (r)
		return -r;
	d->worker_started = true;
	char tn[16];
	snprintf(tn, sizeof(tn), "%.15s", d->name);
	pthread_setname_np(d->worker, tn);
	return 0;
}

void vpci_run_halt(struct virtio_dev *d)
{
	__atomic_store_n(&d->halted, true, __ATOMIC_RELEASE);
	/* A device loop in progress stops after the chain in hand. */
	for (unsigned q = 0; q < d->nq; q++)
		vq_halt(&d->q[q].vq);
	if (d->worker_started) {
		uint64_t one = 1;
		if (write(d->stop_fd, &one, sizeof(one)) < 0)
			nv_err("%s: worker stop: %s", d->name, strerror(errno));
		pthread_join(d->worker, NULL);
		d->worker_started = false;
	}
	for (unsigned q = 0; q < d->nq; q++) {
		if (d->q[q].on_loop)
			evloop_del(d->p.loop, d->q[q].kick_fd);
		d->q[q].on_loop = false;
		if (d->p.loop)
			evloop_defer_cancel(d->p.loop, &d->q[q].again);
	}
}

void vpci_run_close(struct virtio_dev *d)
{
	for (unsigned q = 0; q < d->nq; q++)
		close_fd(&d->q[q].kick_fd);
	close_fd(&d->epfd);
	close_fd(&d->stop_fd);
}

void vpci_bar_map(void *opaque, unsigned bar, uint64_t addr)
{
	struct virtio_dev *d = opaque;
	if (bar != 0)
		return;
	for (unsigned q = 0; q < d->nq; q++) {
		struct vpci_queue *vq = &d->q[q];
		if (vq->kick_fd < 0)
			continue;
		struct pci_ioeventfd e = { .len = 2, .fd = vq->kick_fd };
		if (vq->ioev_addr != UINT64_MAX) {
			e.addr = vq->ioev_addr;
			pci_dev_ioeventfd(d->pci, &e, false);
			vq->ioev_addr = UINT64_MAX;
		}
		if (addr == PCI_BAR_UNMAPPED)
			continue;
		e.addr = addr + VIRTIO_PCI_NOTIFY_OFF + (uint64_t)q * VIRTIO_PCI_NOTIFY_MULT;
		if (pci_dev_ioeventfd(d->pci, &e, true) == 0)
			vq->ioev_addr = e.addr;
	}
}
