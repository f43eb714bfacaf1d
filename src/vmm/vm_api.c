// SPDX-License-Identifier: MIT
/* The control socket commands of a running VM: status, pause, resume, destroy. */
#include <errno.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "api.h"
#include "tap.h"
#include "virtio_balloon.h"
#include "virtio_blk.h"
#include "virtio_console.h"
#include "virtio_net.h"
#include "virtio_rng.h"
#include "vm.h"

static const char *state_name(enum vm_state s)
{
	switch (s) {
	case VM_RUNNING:
		return "running";
	case VM_PAUSED:
		return "paused";
	default:
		return "stopping";
	}
}

static struct json_object *device(const char *name, const char *type, const char *where, int irq)
{
	struct json_object *o = json_object_new_object();
	json_object_object_add(o, "name", json_object_new_string(name));
	json_object_object_add(o, "type", json_object_new_string(type));
	if (where)
		json_object_object_add(o, "address", json_object_new_string(where));
	if (irq >= 0)
		json_object_object_add(o, "irq", json_object_new_int(irq));
	return o;
}

static void add_u64(struct json_object *o, const char *k, uint64_t v)
{
	json_object_object_add(o, k, json_object_new_int64((int64_t)v));
}

static struct json_object *blk_json(struct vm *vm, size_t i)
{
	const struct disk_config *dc = &vm->cfg->disks[i];
	struct json_object *o = json_object_new_object();
	char name[32];
	snprintf(name, sizeof(name), "virtio-blk%zu", i);
	json_object_object_add(o, "name", json_object_new_string(name));
	json_object_object_add(o, "type", json_object_new_string("virtio-blk"));
	json_object_object_add(o, "path", json_object_new_string(dc->path));
	json_object_object_add(o, "readonly", json_object_new_boolean(dc->readonly));
	json_object_object_add(o, "cache",
		json_object_new_string(dc->cache == DISK_CACHE_UNSAFE ? "unsafe" : "writeback"));
	if (!vm->blk[i])
		return o;
	unsigned nq = virtio_blk_num_queues(vm->blk[i]);
	struct json_object *qs = json_object_new_array();
	for (unsigned q = 0; q <= nq; q++) {
		/* One object per request queue, then the sum over them ("total"). */
		struct virtio_blk_stats st;
		if (virtio_blk_get_stats(vm->blk[i], q < nq ? q : VIRTIO_BLK_ALL_QUEUES, &st) < 0)
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
	return o;
}

static struct json_object *net_json(struct vm *vm, size_t i)
{
	struct json_object *o = json_object_new_object();
	char name[32], mac[18];
	const uint8_t *m = vm->macs[i];
	snprintf(name, sizeof(name), "virtio-net%zu", i);
	snprintf(mac, sizeof(mac), "%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2], m[3], m[4], m[5]);
	json_object_object_add(o, "name", json_object_new_string(name));
	json_object_object_add(o, "type", json_object_new_string("virtio-net"));
	if (vm->taps[i])
		json_object_object_add(o, "tap", json_object_new_string(tap_name(vm->taps[i])));
	json_object_object_add(o, "mac", json_object_new_string(mac));
	json_object_object_add(o, "mac_spoofing",
		json_object_new_boolean(vm->nets[i] ? virtio_net_spoofing(vm->nets[i])
						    : vm->cfg->nets[i].mac_spoofing));
	struct json_object *qs = json_object_new_array();
	for (unsigned q = 0; vm->nets[i] && virtio_net_queue_name(q); q++) {
		struct virtio_net_queue_stats st;
		if (virtio_net_get_stats(vm->nets[i], q, &st) < 0)
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
	return o;
}

static void add_virtio_devices(struct vm *vm, struct json_object *devs)
{
	for (size_t i = 0; i < vm->cfg->ndisks; i++)
		json_object_array_add(devs, blk_json(vm, i));
	for (size_t i = 0; i < vm->cfg->nnets; i++)
		json_object_array_add(devs, net_json(vm, i));
	if (vm->rng) {
		struct json_object *o = device("virtio-rng", "virtio-rng", NULL, -1);
		add_u64(o, "bytes", virtio_rng_bytes(vm->rng));
		json_object_array_add(devs, o);
	}
	if (vm->vcon) {
		struct virtio_console_stats st;
		virtio_console_get_stats(vm->vcon, &st);
		struct json_object *o = device("virtio-console", "virtio-console", NULL, -1);
		add_u64(o, "bytes_out", st.bytes_out);
		add_u64(o, "bytes_in", st.bytes_in);
		json_object_array_add(devs, o);
	}
	if (vm->balloon) {
		struct virtio_balloon_counters c;
		virtio_balloon_get_counters(vm->balloon, &c);
		struct json_object *o = device("virtio-balloon", "virtio-balloon", NULL, -1);
		add_u64(o, "target_pages", virtio_balloon_target(vm->balloon));
		add_u64(o, "actual_pages", virtio_balloon_actual(vm->balloon));
		add_u64(o, "inflated_pages", c.inflated_pages);
		add_u64(o, "deflated_pages", c.deflated_pages);
		json_object_array_add(devs, o);
	}
}

static int cmd_status(void *opaque, struct json_object *args, struct json_object **reply, char **err)
{
	struct vm *vm = opaque;
	const struct vm_config *cfg = vm->cfg;
	struct json_object *o = json_object_new_object();
	pthread_mutex_lock(&vm->lock);
	const char *state = state_name(vm->state);
	pthread_mutex_unlock(&vm->lock);
	json_object_object_add(o, "state", json_object_new_string(state));
	if (cfg->name)
		json_object_object_add(o, "name", json_object_new_string(cfg->name));
	json_object_object_add(o, "pid", json_object_new_int(getpid()));
	json_object_object_add(o, "vcpus", json_object_new_int((int)vm->ncpus));
	json_object_object_add(o, "memory_bytes", json_object_new_int64((int64_t)cfg->memory));
	json_object_object_add(o, "memory_mib", json_object_new_int64((int64_t)(cfg->memory >> 20)));
	json_object_object_add(o, "nested", json_object_new_string(nested_mode_name(cfg->nested)));
	json_object_object_add(o, "acpi", json_object_new_boolean(cfg->acpi));
	json_object_object_add(o, "resets", json_object_new_int((int)vm->resets));
	json_object_object_add(o, "uptime_ms",
		json_object_new_int64((int64_t)((now_ns() - vm->started_ns) / 1000000)));
	json_object_object_add(o, "kernel", json_object_new_string(cfg->kernel));
	struct json_object *devs = json_object_new_array();
	json_object_array_add(devs, device("serial0", "uart-16550a", "io:0x3f8", 4));
	json_object_array_add(devs, device("i8042", "i8042", "io:0x60,0x64", 1));
	json_object_array_add(devs, device("pvpanic", "pvpanic", "io:0x505", -1));
	if (cfg->acpi)
		json_object_array_add(devs, device("acpi-sleep", "acpi-hw-reduced", "io:0x600", -1));
	add_virtio_devices(vm, devs);
	json_object_object_add(o, "devices", devs);
	*reply = o;
	return 0;
}

static int cmd_pause(void *opaque, struct json_object *args, struct json_object **reply, char **err)
{
	int r = vm_pause(opaque);
	if (r < 0 && asprintf(err, "cannot pause: %s", r == -ETIMEDOUT ? "vCPUs did not stop in time"
									 : "the VM is shutting down") < 0)
		*err = NULL;
	return r;
}

static int cmd_resume(void *opaque, struct json_object *args, struct json_object **reply, char **err)
{
	int r = vm_resume(opaque);
	if (r < 0 && asprintf(err, "cannot resume: the VM is shutting down") < 0)
		*err = NULL;
	return r;
}

/*
 * The balloon target from the arguments, in 4 KiB pages: {"target_mib": N}
 * or {"target_pages": N}, each between 0 and the guest's memory (and what the
 * device's le32 num_pages can say). Range-checked before any arithmetic, so
 * a huge N is refused, never wrapped into a small target. 0 or -EINVAL.
 */
static int balloon_target(const struct vm *vm, struct json_object *args, uint32_t *pages)
{
	struct json_object *v;
	uint64_t max = vm->cfg->memory / VIRTIO_BALLOON_PAGE_SIZE;
	if (max > UINT32_MAX)
		max = UINT32_MAX;
	const uint64_t per_mib = (1u << 20) / VIRTIO_BALLOON_PAGE_SIZE;
	if (args && json_object_object_get_ex(args, "target_mib", &v) &&
	    json_object_is_type(v, json_type_int)) {
		int64_t mib = json_object_get_int64(v);
		if (mib < 0 || (uint64_t)mib > max / per_mib)
			return -EINVAL;
		*pages = (uint32_t)((uint64_t)mib * per_mib);
		return 0;
	}
	if (args && json_object_object_get_ex(args, "target_pages", &v) &&
	    json_object_is_type(v, json_type_int)) {
		int64_t n = json_object_get_int64(v);
		if (n < 0 || (uint64_t)n > max)
			return -EINVAL;
		*pages = (uint32_t)n;
		return 0;
	}
	return -EINVAL;
}

/*
 * balloon {"target_mib": N} (or "target_pages"): how much memory the guest
 * should give back. Refused on a VM whose guest sees VMX/SVM.
 */
static int cmd_balloon(void *opaque, struct json_object *args, struct json_object **reply, char **err)
{
	struct vm *vm = opaque;
	const char *why = nested_op_refusal(NESTED_OP_BALLOON, vm->nested_exposed,
		vm->kvm.nested_state_size, false);
	if (why) {
		*err = strdup(why);
		return -EPERM;
	}
	if (!vm->balloon) {
		*err = strdup("this VM has no balloon device (start it with --balloon or [balloon])");
		return -ENODEV;
	}
	uint32_t pages;
	if (balloon_target(vm, args, &pages) < 0) {
		*err = strdup("balloon: arguments need target_mib (or target_pages), between 0 and the "
			      "guest's memory");
		return -EINVAL;
	}
	virtio_balloon_set_target(vm->balloon, pages);
	struct json_object *o = json_object_new_object();
	add_u64(o, "target_pages", pages);
	add_u64(o, "actual_pages", virtio_balloon_actual(vm->balloon));
	*reply = o;
	return 0;
}

static int cmd_balloon_stats(void *opaque, struct json_object *args, struct json_object **reply,
	char **err)
{
	static const char *const names[VIRTIO_BALLOON_S_NR] = { "swap_in", "swap_out", "major_faults",
		"minor_faults", "free_memory", "total_memory", "available_memory", "disk_caches",
		"hugetlb_allocations", "hugetlb_failures" };
	struct vm *vm = opaque;
	if (!vm->balloon) {
		*err = strdup("this VM has no balloon device");
		return -ENODEV;
	}
	struct virtio_balloon_stats st;
	virtio_balloon_get_stats(vm->balloon, &st);
	struct json_object *o = json_object_new_object();
	for (int i = 0; i < VIRTIO_BALLOON_S_NR; i++)
		add_u64(o, names[i], st.val[i]);
	add_u64(o, "target_pages", virtio_balloon_target(vm->balloon));
	add_u64(o, "actual_pages", virtio_balloon_actual(vm->balloon));
	*reply = o;
	return 0;
}

static int cmd_destroy(void *opaque, struct json_object *args, struct json_object **reply, char **err)
{
	vm_request_stop(opaque, STOP_DESTROY, "control socket request");
	return 0;
}

int vm_api_register(struct vm *vm)
{
	int r = 0;
	if (!r)
		r = api_register(vm->api, "status", cmd_status, vm);
	if (!r)
		r = api_register(vm->api, "pause", cmd_pause, vm);
	if (!r)
		r = api_register(vm->api, "resume", cmd_resume, vm);
	if (!r)
		r = api_register(vm->api, "destroy", cmd_destroy, vm);
	if (!r)
		r = api_register(vm->api, "balloon", cmd_balloon, vm);
	if (!r)
		r = api_register(vm->api, "balloon-stats", cmd_balloon_stats, vm);
	return r;
}
