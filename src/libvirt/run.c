// SPDX-License-Identifier: MIT
/*
 * A running domain: one supervised vmm (include/supervise/supervise.h) in
 * STATE/run/NAME, started from the definition written as TOML, watched
 * through its pidfd and its subscribed control socket. Its events and its
 * exit give the domain's state, reason and lifecycle events; calls that wait
 * on it (start, destroy, a control-socket reply) are completed from here.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "supervise.h"
#include "util.h"
#include "vmm_internal.h"

/* libvirt-domain.h: reasons of the states, details of the events. */
enum { RUNNING_UNKNOWN = 0, RUNNING_BOOTED = 1, RUNNING_UNPAUSED = 5 };
enum { PAUSED_UNKNOWN = 0, PAUSED_USER = 1 };
enum { SHUTOFF_SHUTDOWN = 1, SHUTOFF_DESTROYED = 2, SHUTOFF_CRASHED = 3, SHUTOFF_FAILED = 6 };
enum { STOPPED_SHUTDOWN = 0, STOPPED_DESTROYED = 1, STOPPED_CRASHED = 2, STOPPED_FAILED = 5 };
enum { STARTED_BOOTED = 0, SUSPENDED_PAUSED = 0, RESUMED_UNPAUSED = 0 };

bool vd_active(const struct vd_dom *d)
{
	return d->vm != NULL;
}

void vd_req_free(struct vd_req *r)
{
	free(r);
}

static struct vd_req *req_new(struct vd_dom *d, struct lv_call *c, enum vd_wait kind)
{
	struct vd_req *r = calloc(1, sizeof(*r));
	if (!r)
		return NULL;
	r->dom = d;
	r->c = c;
	r->kind = kind;
	r->next = d->reqs;
	d->reqs = r;
	return r;
}

static void req_unlink(struct vd_req *r)
{
	for (struct vd_req **pp = &r->dom->reqs; *pp; pp = &(*pp)->next)
		if (*pp == r) {
			*pp = r->next;
			return;
		}
}

/* Completes every waiting call of kind with rc (the error in why when rc < 0). */
static void reqs_finish(struct vd_dom *d, enum vd_wait kind, int rc, int code, const char *why)
{
	struct vd_req **pp = &d->reqs;
	while (*pp) {
		struct vd_req *r = *pp;
		if (r->kind != kind) {
			pp = &r->next;
			continue;
		}
		*pp = r->next;
		int res = rc;
		if (r->c && res == 0 && r->out_dom && vd_dom_out(d, r->out_dom) < 0)
			res = vd_oom(r->c);
		if (r->c && res == 0 && r->stream)
			res = vd_console_open(d, r->c, r->stream);
		if (r->c && rc < 0)
			lv_call_error(r->c, code, LV_FROM_DOMAIN, "%s", why);
		if (r->c)
			lv_call_complete(r->c, res);
		vd_req_free(r);
	}
}

int vd_console_when_ready(struct vd_dom *d, struct lv_call *c, struct lv_stream *st)
{
	struct vd_req *r = req_new(d, c, VD_WAIT_START);
	if (!r)
		return vd_oom(c);
	r->stream = st;
	r->what = "console";
	return LV_DEFERRED;
}

void vd_reqs_fail(struct vd_dom *d, const char *why)
{
	char msg[512];
	while (d->reqs) {
		struct vd_req *r = d->reqs;
		d->reqs = r->next;
		if (r->c) {
			if (r->kind == VD_WAIT_STOP) {
				lv_call_complete(r->c, 0); /* it stopped: what was asked */
			} else {
				snprintf(msg, sizeof(msg), "operation failed: domain '%s': %s%s%s",
					d->cfg.name, r->what ? r->what : "", r->what ? ": " : "", why);
				lv_call_error(r->c, LV_ERR_OPERATION_FAILED, LV_FROM_DOMAIN, "%s", msg);
				lv_call_complete(r->c, -1);
			}
		}
		vd_req_free(r);
	}
}

static void forget_live(struct vd_dom *d)
{
	free(d->pty);
	d->pty = NULL;
	for (size_t i = 0; i < VM_MAX_NETS; i++) {
		free(d->taps[i]);
		d->taps[i] = NULL;
	}
	if (d->has_live_cfg)
		vm_config_free(&d->live_cfg);
	d->has_live_cfg = false;
}

/* ---- the status: console pty, taps, paused or running ---- */

static void take_status(struct vd_dom *d, struct json_object *ret)
{
	struct json_object *con, *pty, *devs, *st;
	if (json_object_object_get_ex(ret, "console", &con) &&
	    json_object_object_get_ex(con, "pty", &pty)) {
		free(d->pty);
		d->pty = strdup(json_object_get_string(pty));
	}
	size_t nic = 0;
	if (json_object_object_get_ex(ret, "devices", &devs) &&
	    json_object_is_type(devs, json_type_array))
		for (size_t i = 0; i < json_object_array_length(devs) && nic < VM_MAX_NETS; i++) {
			struct json_object *dev = json_object_array_get_idx(devs, i), *tap;
			if (!json_object_object_get_ex(dev, "tap", &tap))
				continue;
			free(d->taps[nic]);
			d->taps[nic++] = strdup(json_object_get_string(tap));
		}
	if (d->adopted && json_object_object_get_ex(ret, "state", &st)) {
		bool paused = !strcmp(json_object_get_string(st), "paused");
		d->state = paused ? LV_STATE_PAUSED : LV_STATE_RUNNING;
		d->reason = paused ? PAUSED_UNKNOWN : RUNNING_UNKNOWN;
	}
}

/* The control socket answered and the status is known: the start is done. */
static void became_ready(struct vd_dom *d, struct json_object *status)
{
	struct json_object *ret;
	if (status && json_object_object_get_ex(status, "return", &ret))
		take_status(d, ret);
	bool first = !d->ready && !d->adopted;
	d->ready = true;
	if (first) {
		vd_emit(d, LV_EVENT_STARTED, STARTED_BOOTED);
		if (d->start_paused)
			vd_emit(d, LV_EVENT_SUSPENDED, SUSPENDED_PAUSED);
	}
	reqs_finish(d, VD_WAIT_START, 0, 0, NULL);
}

static void on_status(void *opaque, int rc, struct json_object *reply)
{
	struct vd_req *r = opaque;
	struct vd_dom *d = r->dom;
	req_unlink(r);
	vd_req_free(r);
	became_ready(d, rc == 0 ? reply : NULL);
}

static void sv_ready(void *opaque, struct sv_vm *vm)
{
	struct vd_dom *d = opaque;
	struct vd_req *r = req_new(d, NULL, VD_WAIT_REPLY);
	if (r && sv_call(vm, "status", NULL, on_status, r) == 0)
		return;
	if (r) {
		req_unlink(r);
		vd_req_free(r);
	}
	became_ready(d, NULL);
}

/* ---- events ---- */

void vd_mark_paused(struct vd_dom *d, bool paused)
{
	if (paused && d->state != LV_STATE_PAUSED) {
		d->state = LV_STATE_PAUSED;
		d->reason = PAUSED_USER;
		if (d->ready)
			vd_emit(d, LV_EVENT_SUSPENDED, SUSPENDED_PAUSED);
	} else if (!paused && d->state == LV_STATE_PAUSED) {
		d->state = LV_STATE_RUNNING;
		d->reason = RUNNING_UNPAUSED;
		if (d->ready)
			vd_emit(d, LV_EVENT_RESUMED, RESUMED_UNPAUSED);
	}
}

static void sv_event(void *opaque, struct sv_vm *vm, struct json_object *ev)
{
	struct vd_dom *d = opaque;
	struct json_object *v;
	const char *name = json_object_object_get_ex(ev, "event", &v) ? json_object_get_string(v) : "";
	const char *why = json_object_object_get_ex(ev, "reason", &v) ? json_object_get_string(v) : "";
	if (!name || !why)
		return;
	vd_log(d->drv, 1, "domain %s: vmm event %s (%s)", d->cfg.name, name, why);
	if (!strcmp(name, "paused")) {
		vd_mark_paused(d, true);
	} else if (!strcmp(name, "running")) {
		vd_mark_paused(d, false);
	} else if (!strcmp(name, "stopped") || !strcmp(name, "crashed")) {
		snprintf(d->stop_event, sizeof(d->stop_event), "%s",
			!strcmp(name, "crashed") ? "crashed" : why);
	}
}

/* ---- the exit ---- */

/* exit.json's reason as libvirt's STOPPED detail and SHUTOFF reason. */
static void exit_reason(const char *why, bool requested, int32_t *detail, int32_t *reason)
{
	*detail = STOPPED_FAILED;
	*reason = SHUTOFF_FAILED;
	if (!strcmp(why, "poweroff") || !strcmp(why, "reset")) {
		*detail = STOPPED_SHUTDOWN;
		*reason = SHUTOFF_SHUTDOWN;
	} else if (!strcmp(why, "crashed")) {
		*detail = STOPPED_CRASHED;
		*reason = SHUTOFF_CRASHED;
	} else if (!strcmp(why, "destroyed") || !strcmp(why, "signal") || requested) {
		*detail = STOPPED_DESTROYED;
		*reason = SHUTOFF_DESTROYED;
	}
}

void vd_note_past_exit(struct vd_dom *d)
{
	struct sv_exit e = { .status = -1 };
	int32_t detail;
	char *dir = vd_path(d->drv, "run", d->cfg.name);
	if (dir && sv_read_exit(dir, &e) == 0)
		exit_reason(e.reason, false, &detail, &d->reason);
	free(dir);
}

static void sv_exited(void *opaque, struct sv_vm *vm, const struct sv_exit *e)
{
	struct vd_dom *d = opaque;
	const char *why = e->reason[0] ? e->reason : d->stop_event;
	int32_t detail = STOPPED_FAILED, reason = SHUTOFF_FAILED;
	bool was_up = d->ready;
	char msg[600];

	exit_reason(why, d->stop_requested, &detail, &reason);
	vd_log(d->drv, detail == STOPPED_FAILED ? 0 : 1, "domain %s: vmm (pid %d) ended: %s%s%s",
		d->cfg.name, (int)sv_pid(vm), why, e->detail[0] ? ": " : "", e->detail);
	d->vm = NULL;
	sv_free(vm); /* safe in its own callback: the loop reaps its handlers later */
	d->state = LV_STATE_SHUTOFF;
	d->reason = reason;
	d->ready = false;
	d->stop_requested = false;
	d->stop_event[0] = 0;
	if (!was_up) {
		/* It never came up: the start fails with vmm's own words. */
		bool input = !strcmp(why, "bad-input");
		snprintf(msg, sizeof(msg), "%s%s%s", input ? "unsupported configuration: " :
			"operation failed: vmm could not start domain: ", e->detail[0] ? e->detail : why,
			input ? "" : " (see its vmm.log)");
		reqs_finish(d, VD_WAIT_START, -1, input ? LV_ERR_CONFIG_UNSUPPORTED :
			LV_ERR_OPERATION_FAILED, msg);
	}
	d->id = -1;
	if (was_up)
		vd_emit(d, LV_EVENT_STOPPED, detail);
	vd_consoles_close(d);
	vd_reqs_fail(d, "the domain stopped");
	forget_live(d);
	if (!d->persistent)
		vd_dom_remove(d); /* undefined while it ran: UNDEFINED was sent then */
}

static const struct sv_ops ops = { sv_ready, sv_event, sv_exited };

/* ---- starting ---- */

/* The definition as vmm runs it: a deep copy through the TOML writer. */
static int live_copy(struct vd_dom *d, char **toml, char **err)
{
	struct diag dg;
	int r = vm_config_to_toml(&d->cfg, toml);
	if (r < 0) {
		*err = str_printf("cannot write the definition as TOML: %s", strerror(-r));
		return r;
	}
	diag_init(&dg);
	vm_config_init(&d->live_cfg);
	r = vm_config_load_buffer(&d->live_cfg, d->cfg.name, *toml, strlen(*toml), &dg);
	if (r < 0) {
		*err = str_printf("the definition does not read back: %s",
			dg.n ? dg.msgs[0] : strerror(-r));
		vm_config_free(&d->live_cfg);
	} else {
		d->has_live_cfg = true;
	}
	diag_free(&dg);
	return r;
}

int vd_start(struct vd_dom *d, struct lv_call *c, bool paused, struct lv_dom *out)
{
	struct vd_drv *drv = d->drv;
	char *toml = NULL, *dir = NULL, *err = NULL;
	struct vd_req *r = NULL;
	struct diag dg;
	int rc = -1;

	diag_init(&dg);
	if (live_copy(d, &toml, &err) < 0)
		goto cleanup;
	dir = vd_path(drv, "run", d->cfg.name);
	if (!dir || (c && !(r = req_new(d, c, VD_WAIT_START)))) {
		err = NULL;
		goto cleanup;
	}
	if (r)
		r->out_dom = out;
	struct sv_conf sc = { .vmm = drv->vmm, .dir = dir, .config = toml, .paused = paused };
	if (sv_start(drv->loop, &sc, &ops, d, &d->vm, &dg) < 0) {
		err = str_printf("cannot start vmm: %s", dg.n ? dg.msgs[0] : "failed");
		goto cleanup;
	}
	d->id = drv->next_id++;
	if (drv->next_id <= 0)
		drv->next_id = 1;
	vd_save_id(d);
	d->state = paused ? LV_STATE_PAUSED : LV_STATE_RUNNING;
	d->reason = paused ? PAUSED_USER : RUNNING_BOOTED;
	d->start_paused = paused;
	d->adopted = false;
	d->ready = false;
	d->stop_requested = false;
	d->stop_event[0] = 0;
	vd_log(drv, 1, "domain %s: vmm pid %d started (id %d)", d->cfg.name, (int)sv_pid(d->vm),
		(int)d->id);
	rc = c ? LV_DEFERRED : 0;
cleanup:
	if (rc < 0) {
		if (r) {
			req_unlink(r);
			vd_req_free(r);
		}
		forget_live(d);
		if (c)
			VD_E_FAILED(c, "domain '%s': %s", d->cfg.name, err ? err : "out of memory");
		else
			vd_log(drv, 0, "domain %s: %s", d->cfg.name, err ? err : "out of memory");
	}
	diag_free(&dg);
	free(err);
	free(dir);
	free(toml);
	return rc;
}

int vd_adopt(struct vd_dom *d)
{
	char *dir = vd_path(d->drv, "run", d->cfg.name);
	char *toml = NULL, *err = NULL;
	if (!dir)
		return -ENOMEM;
	int r = sv_adopt(d->drv->loop, d->drv->vmm, dir, &ops, d, &d->vm);
	free(dir);
	if (r < 0)
		return r;
	d->id = vd_read_id(d);
	if (d->id < 0 || vd_find_id(d->drv, d->id) != d) {
		d->id = d->drv->next_id++; /* its id file is gone: a new one */
		vd_save_id(d);
	}
	if (d->id >= d->drv->next_id)
		d->drv->next_id = d->id + 1;
	d->adopted = true;
	d->ready = false;
	d->state = LV_STATE_RUNNING;
	d->reason = RUNNING_UNKNOWN;
	/* Before the loop runs (the daemon's start): ask it now, so that the first
	 * client already sees paused or running; the session confirms later. */
	struct json_object *reply = NULL, *ret;
	if (api_call(sv_socket(d->vm), "status", NULL, 1000, &reply) == 0 &&
	    json_object_object_get_ex(reply, "return", &ret))
		take_status(d, ret);
	json_object_put(reply);
	/* The definition it runs is the one in its state directory. */
	char *run = vd_path(d->drv, "run", d->cfg.name);
	char *path = run ? str_printf("%s/vm.toml", run) : NULL;
	struct diag dg;
	diag_init(&dg);
	vm_config_init(&d->live_cfg);
	if (path && vm_config_load_file(&d->live_cfg, path, &dg) == 0) {
		d->has_live_cfg = true;
	} else {
		vm_config_free(&d->live_cfg);
		if (live_copy(d, &toml, &err) < 0)
			vd_log(d->drv, 0, "domain %s: %s", d->cfg.name, err);
	}
	diag_free(&dg);
	free(path);
	free(run);
	free(toml);
	free(err);
	vd_log(d->drv, 1, "domain %s: found its vmm again (pid %d, id %d)", d->cfg.name,
		(int)sv_pid(d->vm), (int)d->id);
	return 0;
}

int vd_stop(struct vd_dom *d, struct lv_call *c, int grace_ms)
{
	struct vd_req *r = c ? req_new(d, c, VD_WAIT_STOP) : NULL;
	if (c && !r)
		return vd_oom(c);
	d->stop_requested = true;
	int rc = sv_stop(d->vm, grace_ms);
	if (rc < 0) {
		if (r) {
			req_unlink(r);
			vd_req_free(r);
		}
		return c ? VD_E_FAILED(c, "cannot stop domain '%s': %s", d->cfg.name, strerror(-rc))
			 : rc;
	}
	return c ? LV_DEFERRED : 0;
}

/* ---- control-socket requests ---- */

static void info_from_stats(struct vd_dom *d, struct json_object *ret, struct lv_dom_info *info)
{
	struct json_object *v, *m;
	if (json_object_object_get_ex(ret, "cpu_time_ns", &v))
		info->cpu_time_ns = (uint64_t)json_object_get_int64(v);
	if (json_object_object_get_ex(ret, "memory", &m) &&
	    json_object_object_get_ex(m, "balloon_bytes", &v)) {
		uint64_t b = (uint64_t)json_object_get_int64(v) / 1024;
		info->mem_kib = b < info->max_mem_kib ? info->max_mem_kib - b : 0;
	}
}

static void on_reply(void *opaque, int rc, struct json_object *reply)
{
	struct vd_req *r = opaque;
	struct vd_dom *d = r->dom;
	struct json_object *e, *m, *ret;
	req_unlink(r);
	if (rc < 0) {
		lv_call_error(r->c, LV_ERR_OPERATION_FAILED, LV_FROM_DOMAIN,
			"operation failed: domain '%s': %s: the VM's control socket closed (%s)",
			d->cfg.name, r->what, strerror(-rc));
		rc = -1;
	} else if (json_object_object_get_ex(reply, "error", &e)) {
		const char *msg = json_object_object_get_ex(e, "message", &m) ?
			json_object_get_string(m) : "failed";
		lv_call_error(r->c, LV_ERR_OPERATION_FAILED, LV_FROM_DOMAIN,
			"operation failed: domain '%s': %s: %s", d->cfg.name, r->what, msg);
		rc = -1;
	} else if (r->out_info && json_object_object_get_ex(reply, "return", &ret)) {
		info_from_stats(d, ret, r->out_info);
	} else if (!strcmp(r->what, "pause") || !strcmp(r->what, "resume")) {
		vd_mark_paused(d, !strcmp(r->what, "pause"));
	}
	lv_call_complete(r->c, rc);
	vd_req_free(r);
}

int vd_request(struct vd_dom *d, struct lv_call *c, const char *command,
	struct json_object *args, struct lv_dom_info *info)
{
	struct vd_req *r = req_new(d, c, VD_WAIT_REPLY);
	if (!r)
		return vd_oom(c);
	r->what = command;
	r->out_info = info;
	int rc = sv_call(d->vm, command, args, on_reply, r);
	if (rc < 0) {
		req_unlink(r);
		vd_req_free(r);
		if (rc == -ENOTCONN)
			return VD_E_INVALID(c, "domain '%s' is still starting (its control socket does "
				"not answer yet)", d->cfg.name);
		return VD_E_FAILED(c, "domain '%s': %s: %s", d->cfg.name, command, strerror(-rc));
	}
	return LV_DEFERRED;
}
