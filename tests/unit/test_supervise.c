// SPDX-License-Identifier: MIT
/*
 * The supervisor with the real vmm: a VM started paused in its state
 * directory answers on its socket, is stopped by `destroy` and ends
 * "destroyed" (exit 0); a bad definition ends "bad-input" with vmm's own
 * message; a detached VM is found again by sv_adopt and, SIGKILLed, ends
 * "killed"; a second start in a live directory is refused. Where this
 * machine has no usable /dev/kvm, the start itself must end "bad-input"
 * naming the device. The guest never runs (a synthetic bzImage, --paused).
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <json-c/json.h>

#include "evloop.h"
#include "supervise.h"
#include "util.h"

static char dir[64], kernel[128], vmm[4096];
static bool kvm_usable;

/* A 64-bit bzImage header (boot protocol 2.15) with a small payload: enough for vmm's checks. */
static void write_bzimage(const char *path)
{
	static uint8_t img[5 * 512 + 4096];
	memset(img, 0, sizeof(img));
	img[0x1f1] = 4;
	le_put(img + 0x1fe, 0xAA55, 2);
	img[0x200] = 0xEB;
	img[0x201] = 0x66;
	memcpy(img + 0x202, "HdrS", 4);
	le_put(img + 0x206, 0x020f, 2);
	img[0x211] = 0x01;
	le_put(img + 0x214, 0x100000, 4);
	le_put(img + 0x22c, 0x7fffffff, 4);
	le_put(img + 0x230, 0x200000, 4);
	img[0x234] = 1;
	le_put(img + 0x236, 0x1, 2);
	le_put(img + 0x238, 2047, 4);
	le_put(img + 0x258, 0x1000000, 8);
	le_put(img + 0x260, 0x1000000, 4);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	assert_true(fd >= 0);
	assert_int_equal(write_full(fd, img, sizeof(img)), 0);
	close(fd);
}

static int setup(void **state)
{
	const char *v = getenv("VMM");
	if (!v || !realpath(v, vmm))
		return -1;
	snprintf(dir, sizeof(dir), "/tmp/nv-sv-XXXXXX");
	if (!mkdtemp(dir))
		return -1;
	snprintf(kernel, sizeof(kernel), "%s/bzImage", dir);
	write_bzimage(kernel);
	int fd = open(getenv("VMM_KVM_DEVICE") ? getenv("VMM_KVM_DEVICE") : "/dev/kvm",
		O_RDWR | O_CLOEXEC);
	kvm_usable = fd >= 0;
	if (fd >= 0)
		close(fd);
	return 0;
}

static int teardown(void **state)
{
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

struct seen {
	int ready, exited, events;
	struct sv_exit e;
	char state[32];
	int replies;
};

static void on_ready(void *o, struct sv_vm *vm)
{
	((struct seen *)o)->ready++;
}

static void on_event(void *o, struct sv_vm *vm, struct json_object *ev)
{
	((struct seen *)o)->events++;
}

static void on_exited(void *o, struct sv_vm *vm, const struct sv_exit *e)
{
	struct seen *s = o;
	s->exited++;
	s->e = *e;
}

static const struct sv_ops ops = { on_ready, on_event, on_exited };

static void on_status(void *o, int rc, struct json_object *r)
{
	struct seen *s = o;
	struct json_object *ret, *st;
	if (rc == 0 && json_object_object_get_ex(r, "return", &ret) &&
	    json_object_object_get_ex(ret, "state", &st))
		snprintf(s->state, sizeof(s->state), "%s", json_object_get_string(st));
	s->replies++;
}

static void spin(struct evloop *l, const int *what, int want, int secs)
{
	for (int i = 0; i < secs * 20 && *what < want; i++)
		evloop_run_once(l, 50);
	assert_int_equal(*what, want);
}

static char *definition(const char *extra)
{
	return str_printf("name = \"sv\"\nmemory = \"64M\"\n%s\n[boot]\nkernel = \"%s\"\n"
		"[console]\nmode = \"none\"\n", extra, kernel);
}

static bool exists(const char *d, const char *name)
{
	char p[256];
	snprintf(p, sizeof(p), "%s/%s", d, name);
	return access(p, F_OK) == 0;
}

static void test_start_stop(void **state)
{
	struct evloop *l = evloop_new();
	struct seen s = { 0 };
	struct sv_vm *vm = NULL;
	struct diag d;
	char vmdir[128], *def = definition("");
	diag_init(&d);
	snprintf(vmdir, sizeof(vmdir), "%s/vm1", dir);
	struct sv_conf c = { .vmm = vmm, .dir = vmdir, .config = def, .paused = true };
	assert_int_equal(sv_start(l, &c, &ops, &s, &vm, &d), 0);
	assert_true(sv_pid(vm) > 0);
	assert_true(exists(vmdir, "vm.toml"));
	assert_true(exists(vmdir, "vmm.pid"));
	if (!kvm_usable) {
		spin(l, &s.exited, 1, 30);
		assert_string_equal(s.e.reason, "bad-input");
		assert_int_equal(s.e.status, 2);
		assert_non_null(strstr(s.e.detail, "kvm"));
		goto out;
	}
	spin(l, &s.ready, 1, 30);
	/* A second vmm for the same directory is refused while this one lives. */
	struct sv_vm *twin = NULL;
	assert_int_equal(sv_start(l, &c, &ops, &s, &twin, &d), -EEXIST);
	assert_null(twin);
	assert_non_null(strstr(d.msgs[d.n - 1], "runs for this state directory already"));
	assert_int_equal(sv_call(vm, "status", NULL, on_status, &s), 0);
	spin(l, &s.replies, 1, 10);
	assert_string_equal(s.state, "paused");
	assert_false(exists(vmdir, "exit.json"));
	assert_int_equal(sv_stop(vm, 5000), 0);
	spin(l, &s.exited, 1, 30);
	assert_string_equal(s.e.reason, "destroyed");
	assert_int_equal(s.e.status, 0);
	assert_true(exists(vmdir, "exit.json"));
	assert_false(sv_alive(vm));
	assert_int_equal(sv_call(vm, "status", NULL, on_status, &s), -ENOTCONN);
out:
	sv_free(vm);
	free(def);
	diag_free(&d);
	evloop_free(l);
}

static void test_bad_definition(void **state)
{
	struct evloop *l = evloop_new();
	struct seen s = { 0 };
	struct sv_vm *vm = NULL;
	struct diag d;
	char vmdir[128], *def = definition("cpus = 0");
	diag_init(&d);
	snprintf(vmdir, sizeof(vmdir), "%s/vm2", dir);
	struct sv_conf c = { .vmm = vmm, .dir = vmdir, .config = def };
	assert_int_equal(sv_start(l, &c, &ops, &s, &vm, &d), 0);
	spin(l, &s.exited, 1, 30);
	assert_int_equal(s.ready, 0);
	assert_int_equal(s.e.status, 2);
	assert_string_equal(s.e.reason, "bad-input");
	assert_non_null(strstr(s.e.detail, "cpus: must be between 1 and 255 (got 0)"));
	sv_free(vm);
	/* Bad arguments are refused before anything runs. */
	struct sv_conf rel = { .vmm = "vmm", .dir = vmdir, .config = def };
	assert_int_equal(sv_start(l, &rel, &ops, &s, &vm, &d), -EINVAL);
	free(def);
	diag_free(&d);
	evloop_free(l);
}

static void test_adopt_and_kill(void **state)
{
	struct evloop *l = evloop_new();
	struct seen s = { 0 }, s2 = { 0 };
	struct sv_vm *vm = NULL, *again = NULL;
	struct diag d;
	char vmdir[128], *def = definition("");
	if (!kvm_usable) {
		print_message("no usable /dev/kvm: adoption needs a running vmm; skipped\n");
		free(def);
		evloop_free(l);
		skip();
	}
	diag_init(&d);
	snprintf(vmdir, sizeof(vmdir), "%s/vm3", dir);
	struct sv_conf c = { .vmm = vmm, .dir = vmdir, .config = def, .paused = true };
	assert_int_equal(sv_start(l, &c, &ops, &s, &vm, &d), 0);
	spin(l, &s.ready, 1, 30);
	pid_t pid = sv_pid(vm);
	sv_free(vm); /* the supervisor "restarts": the VM runs on */
	assert_int_equal(kill(pid, 0), 0);
	assert_int_equal(sv_adopt(l, vmm, vmdir, &ops, &s2, &again), 0);
	assert_int_equal(sv_pid(again), pid);
	spin(l, &s2.ready, 1, 30);
	/* Another program's pid file does not adopt: wrong binary. */
	struct sv_vm *wrong = NULL;
	assert_int_equal(sv_adopt(l, "/bin/sh", vmdir, &ops, &s2, &wrong), -ESRCH);
	assert_int_equal(sv_kill(again, SIGKILL), 0);
	spin(l, &s2.exited, 1, 30);
	assert_string_equal(s2.e.reason, "killed");
	assert_int_equal(s2.e.status, -1); /* not its parent any more: no wait status */
	waitpid(pid, NULL, 0);          /* this test process is the real parent */
	sv_free(again);
	/* Dead: nothing to adopt, and it left no exit file. */
	assert_int_equal(sv_adopt(l, vmm, vmdir, &ops, &s2, &again), -ESRCH);
	struct sv_exit e;
	assert_int_equal(sv_read_exit(vmdir, &e), -ENOENT);
	free(def);
	diag_free(&d);
	evloop_free(l);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_start_stop),
		cmocka_unit_test(test_bad_definition),
		cmocka_unit_test(test_adopt_and_kill),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
