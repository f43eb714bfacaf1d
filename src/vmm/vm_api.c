// SPDX-License-Identifier: MIT
/* The control socket commands of a running VM: status, pause, resume, destroy. */
#include <errno.h>
#include <json-c/json.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "api.h"
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
	return r;
}
