// SPDX-License-Identifier: MIT
/* The control socket commands of a running VM: status, pause, resume, destroy. */
#include <errno.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "api.h"
#include "console.h"
#include "virtio_balloon.h"
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

static void add_u64(struct json_object *o, const char *k, uint64_t v)
{
	json_object_object_add(o, k, json_object_new_int64((int64_t)v));
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
	struct json_object *con = json_object_new_object();
	json_object_object_add(con, "mode", json_object_new_string(console_mode_name(cfg->console)));
	if (console_pty_path(vm->console))
		json_object_object_add(con, "pty", json_object_new_string(console_pty_path(vm->console)));
	if (cfg->console == CONSOLE_FILE && cfg->console_path)
		json_object_object_add(con, "path", json_object_new_string(cfg->console_path));
	json_object_object_add(o, "console", con);
	json_object_object_add(o, "devices", vm_devices_status(vm));
	*reply = o;
	return 0;
}

static int cmd_pause(void *opaque, struct json_object *args, struct json_object **reply, char **err)
{
	struct vm *vm = opaque;
	pthread_mutex_lock(&vm->lock);
	bool was = vm->state == VM_PAUSED;
	pthread_mutex_unlock(&vm->lock);
	int r = vm_pause(opaque);
	if (r == 0 && !was)
		vm_publish(vm, "paused", "api", NULL);
	if (r < 0 && asprintf(err, "cannot pause: %s", r == -ETIMEDOUT ? "vCPUs did not stop in time"
									 : "the VM is shutting down") < 0)
		*err = NULL;
	return r;
}

static int cmd_resume(void *opaque, struct json_object *args, struct json_object **reply, char **err)
{
	struct vm *vm = opaque;
	pthread_mutex_lock(&vm->lock);
	bool was = vm->state == VM_PAUSED;
	pthread_mutex_unlock(&vm->lock);
	int r = vm_resume(opaque);
	if (r == 0 && was)
		vm_publish(vm, "running", "resumed", NULL);
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

/* The process's resident memory in bytes, from /proc/self/statm; 0 when unknown. */
static uint64_t rss_bytes(void)
{
	unsigned long size = 0, resident = 0;
	FILE *f = fopen("/proc/self/statm", "re");
	if (f) {
		if (fscanf(f, "%lu %lu", &size, &resident) != 2)
			resident = 0;
		fclose(f);
	}
	return (uint64_t)resident * (uint64_t)sysconf(_SC_PAGESIZE);
}

static uint64_t clock_ns(clockid_t c)
{
	struct timespec ts;
	if (clock_gettime(c, &ts) < 0)
		return 0;
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* stats: CPU time per vCPU and of the process, memory, and every device's counters. */
static int cmd_stats(void *opaque, struct json_object *args, struct json_object **reply, char **err)
{
	struct vm *vm = opaque;
	struct json_object *o = json_object_new_object(), *vcpus = json_object_new_array();
	uint64_t sum = 0;
	for (unsigned i = 0; vm->vcpus && i < vm->ncpus; i++) {
		struct json_object *v = json_object_new_object();
		clockid_t c;
		uint64_t ns = 0;
		if (vm->vcpus[i].started && pthread_getcpuclockid(vm->vcpus[i].thread, &c) == 0)
			ns = clock_ns(c);
		sum += ns;
		json_object_object_add(v, "id", json_object_new_int((int)i));
		add_u64(v, "cpu_time_ns", ns);
		json_object_array_add(vcpus, v);
	}
	json_object_object_add(o, "vcpus", vcpus);
	add_u64(o, "vcpu_time_ns", sum);
	add_u64(o, "cpu_time_ns", clock_ns(CLOCK_PROCESS_CPUTIME_ID));
	struct json_object *m = json_object_new_object();
	add_u64(m, "guest_bytes", vm->cfg->memory);
	add_u64(m, "rss_bytes", rss_bytes());
	if (vm->balloon)
		add_u64(m, "balloon_bytes", (uint64_t)virtio_balloon_actual(vm->balloon) * 4096);
	json_object_object_add(o, "memory", m);
	add_u64(o, "uptime_ms", (now_ns() - vm->started_ns) / 1000000);
	json_object_object_add(o, "devices", vm_devices_status(vm));
	*reply = o;
	return 0;
}

/* A non-negative integer argument (absent: dflt). 0, or -EINVAL with *err set. */
static int uint_arg(struct json_object *args, const char *key, uint64_t max, uint64_t dflt,
	uint64_t *out, char **err)
{
	struct json_object *v;
	*out = dflt;
	if (!args || !json_object_object_get_ex(args, key, &v))
		return 0;
	int64_t n = json_object_get_int64(v);
	if (!json_object_is_type(v, json_type_int) || n < 0 || (uint64_t)n > max) {
		if (asprintf(err, "%s must be an integer between 0 and %llu", key,
			     (unsigned long long)max) < 0)
			*err = NULL;
		return -EINVAL;
	}
	*out = (uint64_t)n;
	return 0;
}

/* shutdown {"timeout_ms": N}: the power button, and a hard stop after N ms (0: never). */
static int cmd_shutdown(void *opaque, struct json_object *args, struct json_object **reply,
	char **err)
{
	uint64_t tmo;
	int r = uint_arg(args, "timeout_ms", 24ull * 3600 * 1000, 0, &tmo, err);
	if (r < 0)
		return r;
	r = vm_shutdown(opaque, tmo, false);
	if (r == -ENOTSUP)
		*err = strdup("the guest has no ACPI (acpi = false): it has no power button; use destroy");
	return r;
}

/* reboot {"mode": "reset" (default) | "acpi"}: a hard reset, or the power button then a restart. */
static int cmd_reboot(void *opaque, struct json_object *args, struct json_object **reply,
	char **err)
{
	struct json_object *m = NULL;
	const char *mode = "reset";
	uint64_t tmo;
	if (args && json_object_object_get_ex(args, "mode", &m))
		mode = json_object_get_string(m);
	if (!mode || (strcmp(mode, "reset") && strcmp(mode, "acpi"))) {
		*err = strdup("mode must be \"reset\" or \"acpi\"");
		return -EINVAL;
	}
	if (!strcmp(mode, "reset")) {
		vm_reboot(opaque);
		return 0;
	}
	int r = uint_arg(args, "timeout_ms", 24ull * 3600 * 1000, 0, &tmo, err);
	if (r == 0)
		r = vm_shutdown(opaque, tmo, true);
	if (r == -ENOTSUP)
		*err = strdup("the guest has no ACPI (acpi = false): use mode \"reset\"");
	return r;
}

static void console_taken(void *opaque, int fd, const void *typed, size_t len)
{
	struct vm *vm = opaque;
	if (console_attach(vm->console, fd, typed, len, NULL) < 0)
		close(fd); /* checked in cmd_console: only a race with another attach gets here */
}

/*
 * console: once the reply is sent, the connection is the console, both ways:
 * the recent output first (ring_bytes of it), then everything the guest
 * prints; what the client sends is typed on the console.
 */
static int cmd_console(void *opaque, struct api_caller *caller, struct json_object *args,
	struct json_object **reply, char **err)
{
	struct vm *vm = opaque;
	if (console_attachments(vm->console) >= CONSOLE_MAX_ATTACH) {
		if (asprintf(err, "the console has %d attachments already", CONSOLE_MAX_ATTACH) < 0)
			*err = NULL;
		return -EBUSY;
	}
	int r = api_caller_take(caller, console_taken, vm);
	if (r < 0)
		return r;
	*reply = json_object_new_object();
	json_object_object_add(*reply, "attached", json_object_new_boolean(true));
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
		r = api_register(vm->api, "stats", cmd_stats, vm);
	if (!r)
		r = api_register(vm->api, "shutdown", cmd_shutdown, vm);
	if (!r)
		r = api_register(vm->api, "reboot", cmd_reboot, vm);
	if (!r)
		r = api_register_caller(vm->api, "console", cmd_console, vm);
	if (!r)
		r = api_register(vm->api, "balloon", cmd_balloon, vm);
	if (!r)
		r = api_register(vm->api, "balloon-stats", cmd_balloon_stats, vm);
	return r;
}
