// SPDX-License-Identifier: MIT
/*
 * The VM's device list: every device of the machine registered with its
 * name, type, a status function and its destructor, so that the control
 * socket's status, the teardown and the supervisors above iterate one list
 * instead of naming every type. Status functions fill the device's own
 * members; the list adds "name" and "type" first.
 */
#include <errno.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tap.h"
#include "virtio_balloon.h"
#include "virtio_blk.h"
#include "virtio_console.h"
#include "virtio_net.h"
#include "virtio_rng.h"
#include "vm.h"

int vm_device_add(struct vm *vm, const struct vm_device *d)
{
	if (vm->ndevices == VM_MAX_DEVICES)
		return -ENOSPC;
	vm->devices[vm->ndevices++] = *d;
	return 0;
}

void vm_devices_free(struct vm *vm)
{
	/* Newest first: a device may use what was there before it (the PCI host). */
	while (vm->ndevices) {
		struct vm_device *d = &vm->devices[--vm->ndevices];
		if (d->free)
			d->free(d->dev);
	}
}

struct json_object *vm_devices_status(struct vm *vm)
{
	struct json_object *a = json_object_new_array();
	for (size_t i = 0; a && i < vm->ndevices; i++) {
		const struct vm_device *d = &vm->devices[i];
		struct json_object *o = json_object_new_object();
		json_object_object_add(o, "name", json_object_new_string(d->name));
		json_object_object_add(o, "type", json_object_new_string(d->type));
		if (d->status)
			d->status(vm, d, o);
		json_object_array_add(a, o);
	}
	return a;
}

/* ---- status of each kind ---- */

static void add_u64(struct json_object *o, const char *k, uint64_t v)
{
	json_object_object_add(o, k, json_object_new_int64((int64_t)v));
}

void vm_device_status_legacy(struct vm *vm, const struct vm_device *d, struct json_object *o)
{
	if (d->address[0])
		json_object_object_add(o, "address", json_object_new_string(d->address));
	if (d->irq >= 0)
		json_object_object_add(o, "irq", json_object_new_int(d->irq));
}

void vm_device_status_blk(struct vm *vm, const struct vm_device *d, struct json_object *o)
{
	const struct disk_config *dc = &vm->cfg->disks[d->index];
	struct virtio_blk *b = d->dev;
	json_object_object_add(o, "path", json_object_new_string(dc->path));
	json_object_object_add(o, "format", json_object_new_string(vm_word(VM_WORDS_DISK_FORMAT,
		(int)dc->format)));
	json_object_object_add(o, "readonly", json_object_new_boolean(dc->readonly));
	json_object_object_add(o, "cache", json_object_new_string(vm_word(VM_WORDS_DISK_CACHE,
		(int)dc->cache)));
	unsigned nq = virtio_blk_num_queues(b);
	struct json_object *qs = json_object_new_array();
	for (unsigned q = 0; q <= nq; q++) {
		/* One object per request queue, then the sum over them ("total"). */
		struct virtio_blk_stats st;
		if (virtio_blk_get_stats(b, q < nq ? q : VIRTIO_BLK_ALL_QUEUES, &st) < 0)
			continue;
		struct json_object *qo = json_object_new_object();
		add_u64(qo, "requests", st.requests);
		add_u64(qo, "read_ops", st.read_ops);
		add_u64(qo, "write_ops", st.write_ops);
		add_u64(qo, "flush_ops", st.flush_ops);
		add_u64(qo, "discard_ops", st.discard_ops);
		add_u64(qo, "write_zeroes_ops", st.write_zeroes_ops);
		add_u64(qo, "bytes_read", st.bytes_read);
		add_u64(qo, "bytes_written", st.bytes_written);
		add_u64(qo, "errors", st.errors);
		if (q < nq)
			json_object_array_add(qs, qo);
		else
			json_object_object_add(o, "total", qo);
	}
	json_object_object_add(o, "queues", qs);
}

void vm_device_status_net(struct vm *vm, const struct vm_device *d, struct json_object *o)
{
	struct virtio_net *n = d->dev;
	const uint8_t *m = vm->macs[d->index];
	char mac[18];
	snprintf(mac, sizeof(mac), "%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2], m[3], m[4], m[5]);
	if (vm->taps[d->index])
		json_object_object_add(o, "tap", json_object_new_string(tap_name(vm->taps[d->index])));
	json_object_object_add(o, "mac", json_object_new_string(mac));
	json_object_object_add(o, "mac_spoofing", json_object_new_boolean(virtio_net_spoofing(n)));
	struct json_object *qs = json_object_new_array();
	for (unsigned q = 0; virtio_net_queue_name(q); q++) {
		struct virtio_net_queue_stats st;
		if (virtio_net_get_stats(n, q, &st) < 0)
			break;
		struct json_object *j = json_object_new_object();
		json_object_object_add(j, "queue", json_object_new_string(virtio_net_queue_name(q)));
		add_u64(j, "packets", st.packets);
		add_u64(j, "bytes", st.bytes);
		add_u64(j, "dropped", st.dropped);
		add_u64(j, "errors", st.errors);
		json_object_array_add(qs, j);
	}
	json_object_object_add(o, "queues", qs);
}

void vm_device_status_rng(struct vm *vm, const struct vm_device *d, struct json_object *o)
{
	add_u64(o, "bytes", virtio_rng_bytes(d->dev));
}

void vm_device_status_console(struct vm *vm, const struct vm_device *d, struct json_object *o)
{
	struct virtio_console_stats st;
	virtio_console_get_stats(d->dev, &st);
	add_u64(o, "bytes_out", st.bytes_out);
	add_u64(o, "bytes_in", st.bytes_in);
}

void vm_device_status_balloon(struct vm *vm, const struct vm_device *d, struct json_object *o)
{
	struct virtio_balloon_counters c;
	virtio_balloon_get_counters(d->dev, &c);
	add_u64(o, "target_pages", virtio_balloon_target(d->dev));
	add_u64(o, "actual_pages", virtio_balloon_actual(d->dev));
	add_u64(o, "inflated_pages", c.inflated_pages);
	add_u64(o, "deflated_pages", c.deflated_pages);
}
