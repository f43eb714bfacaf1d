// SPDX-License-Identifier: MIT
/*
 * The VM's control socket commands (src/vmm/vm_api.c) on a VM with no KVM:
 * a struct vm holding only what the commands read (its configuration and a
 * virtio-balloon on a test PCI host), served on an evloop thread, with
 * requests through the real socket code. Issue S, point 5: the balloon
 * target is range-checked before any arithmetic (target_mib * 256 used to
 * overflow, target_pages * 4096 to wrap: 2^52 + 1 pages was accepted and
 * the device set to 1 page).
 */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <json-c/json.h>

#include "api.h"
#include "evloop.h"
#include "virtio_balloon.h"
#include "virtio_test_driver.h"
#include "vm.h"

#define MEM_MIB 512u

struct fx {
	char dir[64], path[128];
	struct vm_config cfg;
	struct vm vm;
	struct vd d;
	pthread_t th;
	bool stop;
};

static int discard(void *o, uint64_t gpa, uint64_t len) { return 0; }

static void *loop_main(void *p)
{
	struct fx *f = p;
	while (!f->stop)
		if (evloop_run_once(f->vm.loop, -1) < 0)
			break;
	return NULL;
}

static void stop_cb(void *p) { ((struct fx *)p)->stop = true; }

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	assert_non_null(f);
	strcpy(f->dir, "/tmp/nv-vmapi-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->path, sizeof(f->path), "%s/vmm.sock", f->dir);
	vm_config_init(&f->cfg);
	f->cfg.memory = (uint64_t)MEM_MIB << 20;
	f->cfg.kernel = strdup("bzImage");
	f->cfg.balloon = true;
	struct vm *vm = &f->vm;
	vm->cfg = &f->cfg;
	vm->ncpus = 1;
	pthread_mutex_init(&vm->lock, NULL);
	vm->started_ns = now_ns();
	vm->loop = evloop_new();
	assert_non_null(vm->loop);
	assert_int_equal(vd_init(&f->d, false), 0);
	struct virtio_balloon_conf bc = { .run = VIRTIO_RUN_INLINE, .mem = &f->d.mem,
					  .discard = discard };
	assert_int_equal(virtio_balloon_new(f->d.host, &bc, -1, &vm->balloon), 0);
	/* Registered as devices.c does; the fixture frees it itself (free NULL). */
	struct vm_device dev = { .name = "virtio-balloon", .type = "virtio-balloon",
				 .dev = vm->balloon, .irq = -1, .status = vm_device_status_balloon };
	assert_int_equal(vm_device_add(vm, &dev), 0);
	char *err = NULL;
	if (api_new(vm->loop, f->path, &vm->api, &err) < 0)
		fail_msg("api_new: %s", err);
	assert_int_equal(vm_api_register(vm), 0);
	assert_int_equal(pthread_create(&f->th, NULL, loop_main, f), 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;
	assert_int_equal(evloop_call(f->vm.loop, stop_cb, f), 0);
	pthread_join(f->th, NULL);
	api_free(f->vm.api);
	virtio_balloon_free(f->vm.balloon);
	vd_fini(&f->d);
	evloop_free(f->vm.loop);
	pthread_mutex_destroy(&f->vm.lock);
	vm_config_free(&f->cfg);
	unlink(f->path);
	rmdir(f->dir);
	free(f);
	return 0;
}

/* One request; returns the reply (caller puts it). */
static struct json_object *call(struct fx *f, const char *cmd, const char *args)
{
	struct json_object *r = NULL;
	char *err = NULL;
	int rc = api_call_json(f->path, cmd, args, 5000, &r, &err);
	if (rc < 0)
		fail_msg("api_call %s: %s", cmd, err);
	return r;
}

/* The error code of a reply, or NULL for a success. */
static const char *code(struct json_object *r)
{
	struct json_object *e, *c;
	if (!json_object_object_get_ex(r, "error", &e) || !json_object_object_get_ex(e, "code", &c))
		return NULL;
	return json_object_get_string(c);
}

static int64_t ret_int(struct json_object *r, const char *key)
{
	struct json_object *ret, *v;
	assert_true(json_object_object_get_ex(r, "return", &ret));
	assert_true(json_object_object_get_ex(ret, key, &v));
	return json_object_get_int64(v);
}

/* A target that is refused leaves the device's target as it was. */
static void expect_refused(struct fx *f, const char *args)
{
	uint32_t before = virtio_balloon_target(f->vm.balloon);
	struct json_object *r = call(f, "balloon", args);
	const char *c = code(r);
	if (!c)
		fail_msg("balloon %s was accepted: %s", args, json_object_to_json_string(r));
	assert_string_equal(c, "EINVAL");
	json_object_put(r);
	assert_int_equal(virtio_balloon_target(f->vm.balloon), before);
}

static void expect_target(struct fx *f, const char *args, uint64_t pages)
{
	struct json_object *r = call(f, "balloon", args);
	if (code(r))
		fail_msg("balloon %s refused: %s", args, json_object_to_json_string(r));
	assert_int_equal(ret_int(r, "target_pages"), pages);
	json_object_put(r);
	assert_int_equal(virtio_balloon_target(f->vm.balloon), pages);
}

static void test_balloon_targets(void **state)
{
	struct fx *f = *state;
	const uint64_t all = (uint64_t)MEM_MIB * 256;
	expect_target(f, "{\"target_mib\": 64}", 64 * 256);
	expect_target(f, "{\"target_mib\": 0}", 0);
	expect_target(f, "{\"target_mib\": " "512" "}", all);
	expect_target(f, "{\"target_pages\": 1234}", 1234);
	expect_target(f, "{\"target_pages\": 131072}", all);
	/* Beyond the guest's memory, negative, absent, not an integer. */
	expect_refused(f, "{\"target_mib\": 513}");
	expect_refused(f, "{\"target_pages\": 131073}");
	expect_refused(f, "{\"target_mib\": -1}");
	expect_refused(f, "{\"target_pages\": -1}");
	expect_refused(f, "{}");
	expect_refused(f, "{\"target_mib\": 1.5}");
	expect_refused(f, "{\"target_pages\": \"12\"}");
	/* What used to wrap or overflow: 2^52 + 1 pages (* 4096 wraps to 4096,
	 * and the device was set to 1 page), 2^62 MiB (* 256 overflows int64),
	 * INT64_MAX, and more than int64 holds. */
	expect_refused(f, "{\"target_pages\": 4503599627370497}");
	expect_refused(f, "{\"target_pages\": 4294967297}");
	expect_refused(f, "{\"target_mib\": 4611686018427387904}");
	expect_refused(f, "{\"target_mib\": 36028797018963969}");
	expect_refused(f, "{\"target_mib\": 9223372036854775807}");
	expect_refused(f, "{\"target_pages\": 18446744073709551615}");
	/* status reports the target in force. */
	struct json_object *r = call(f, "status", NULL);
	assert_null(code(r));
	struct json_object *ret, *devs;
	assert_true(json_object_object_get_ex(r, "return", &ret));
	assert_true(json_object_object_get_ex(ret, "devices", &devs));
	bool seen = false;
	for (size_t i = 0; i < json_object_array_length(devs); i++) {
		struct json_object *d = json_object_array_get_idx(devs, i), *t, *v;
		if (json_object_object_get_ex(d, "type", &t) &&
		    !strcmp(json_object_get_string(t), "virtio-balloon")) {
			assert_true(json_object_object_get_ex(d, "target_pages", &v));
			assert_int_equal(json_object_get_int64(v), all);
			seen = true;
		}
	}
	assert_true(seen);
	json_object_put(r);
}

/* A VM whose guest sees VMX/SVM has no balloon to drive. */
static void test_balloon_nested_refused(void **state)
{
	struct fx *f = *state;
	f->vm.nested_exposed = true; /* read on the loop thread by the next request */
	struct json_object *r = call(f, "balloon", "{\"target_mib\": 1}");
	assert_non_null(code(r));
	assert_string_equal(code(r), "EPERM");
	json_object_put(r);
	assert_int_equal(virtio_balloon_target(f->vm.balloon), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_balloon_targets, setup, teardown),
		cmocka_unit_test_setup_teardown(test_balloon_nested_refused, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
