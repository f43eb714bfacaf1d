// SPDX-License-Identifier: MIT
/*
 * The vmm driver's procedures (include/libvirt/lv_vmm.h): lists and lookups,
 * define (the nested rules, --validate against libvirt's schema), undefine,
 * autostart, and the calls that ask something of a running domain, which
 * wait (LV_DEFERRED) for its vmm in run.c.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <json-c/json.h>

#include "lv_server.h"
#include "util.h"
#include "vmm_internal.h"

/* libvirt-domain.h flags. */
#define CREATE_PAUSED 1u
#define CREATE_FORCE_BOOT 8u
#define DESTROY_GRACEFUL 1u
#define POWER_ACPI 1u /* VIR_DOMAIN_SHUTDOWN_ACPI_POWER_BTN, VIR_DOMAIN_REBOOT_ACPI_POWER_BTN */
#define UNDEFINE_KNOWN 127u /* managed save, snapshots, nvram, keep nvram, checkpoints, tpm */
#define XML_KNOWN 15u       /* secure, inactive, update cpu, migratable */
#define MEM_LIVE 1u
#define MEM_CONFIG 2u
#define MEM_MAXIMUM 4u
#define CONSOLE_KNOWN 3u    /* force, safe */
enum {
	L_ACTIVE = 1 << 0, L_INACTIVE = 1 << 1, L_PERSISTENT = 1 << 2, L_TRANSIENT = 1 << 3,
	L_RUNNING = 1 << 4, L_PAUSED = 1 << 5, L_SHUTOFF = 1 << 6, L_OTHER = 1 << 7,
	L_MANAGEDSAVE = 1 << 8, L_NO_MANAGEDSAVE = 1 << 9, L_AUTOSTART = 1 << 10,
	L_NO_AUTOSTART = 1 << 11, L_SNAPSHOT = 1 << 12, L_NO_SNAPSHOT = 1 << 13,
	L_CHECKPOINT = 1 << 14, L_NO_CHECKPOINT = 1 << 15,
};
enum { UNDEFINED_REMOVED = 0 };

int vd_bad_flags(struct lv_call *c, const char *api, unsigned flags)
{
	return lv_call_error(c, LV_ERR_INVALID_ARG, LV_FROM_DOMAIN,
		"invalid argument: unsupported flags (0x%x) in function %s", flags, api);
}

int vd_oom(struct lv_call *c)
{
	return lv_call_error(c, LV_ERR_NO_MEMORY, LV_FROM_NONE, "out of memory");
}

void vd_log(const struct vd_drv *drv, int level, const char *fmt, ...)
{
	va_list ap;
	if (level > drv->conf.verbose)
		return;
	va_start(ap, fmt);
	fputs("virtvmmd: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}

static int not_running(struct lv_call *c, const struct vd_dom *d)
{
	return VD_E_INVALID(c, "domain '%s' is not running", d->cfg.name);
}

/* ---- lists and lookups ---- */

static bool listed(const struct vd_dom *d, unsigned f)
{
	bool on = vd_active(d);
	if ((f & (L_ACTIVE | L_INACTIVE)) && !((f & L_ACTIVE && on) || (f & L_INACTIVE && !on)))
		return false;
	if ((f & (L_PERSISTENT | L_TRANSIENT)) &&
	    !((f & L_PERSISTENT && d->persistent) || (f & L_TRANSIENT && !d->persistent)))
		return false;
	if (f & (L_RUNNING | L_PAUSED | L_SHUTOFF | L_OTHER)) {
		bool ok = (f & L_RUNNING && on && d->state == LV_STATE_RUNNING) ||
			(f & L_PAUSED && on && d->state == LV_STATE_PAUSED) ||
			(f & L_SHUTOFF && !on);
		if (!ok)
			return false;
	}
	if ((f & (L_AUTOSTART | L_NO_AUTOSTART)) &&
	    !((f & L_AUTOSTART && d->autostart) || (f & L_NO_AUTOSTART && !d->autostart)))
		return false;
	/* No managed save images, snapshots or checkpoints exist. */
	if ((f & (L_MANAGEDSAVE | L_NO_MANAGEDSAVE)) && !(f & L_NO_MANAGEDSAVE))
		return false;
	if ((f & (L_SNAPSHOT | L_NO_SNAPSHOT)) && !(f & L_NO_SNAPSHOT))
		return false;
	if ((f & (L_CHECKPOINT | L_NO_CHECKPOINT)) && !(f & L_NO_CHECKPOINT))
		return false;
	return true;
}

static int v_list_all(void *priv, struct lv_call *c, unsigned flags, struct lv_dom_list *out)
{
	struct vd_drv *drv = priv;
	out->n = 0;
	out->v = calloc(drv->ndoms ? drv->ndoms : 1, sizeof(*out->v));
	if (!out->v)
		return vd_oom(c);
	for (struct vd_dom *d = drv->doms; d; d = d->next)
		if (listed(d, flags) && vd_dom_out(d, &out->v[out->n++]) < 0)
			return vd_oom(c);
	return 0;
}

static int v_by_name(void *priv, struct lv_call *c, const char *name, struct lv_dom *out)
{
	struct vd_dom *d = vd_find_name(priv, name);
	if (!d)
		return lv_err_no_domain_name(lv_call_err(c), name);
	return vd_dom_out(d, out) < 0 ? vd_oom(c) : 0;
}

static int v_by_uuid(void *priv, struct lv_call *c, const uint8_t uuid[LV_UUID_LEN],
	struct lv_dom *out)
{
	struct vd_dom *d = vd_find_uuid(priv, uuid);
	if (!d)
		return lv_err_no_domain_uuid(lv_call_err(c), uuid);
	return vd_dom_out(d, out) < 0 ? vd_oom(c) : 0;
}

static int v_by_id(void *priv, struct lv_call *c, int32_t id, struct lv_dom *out)
{
	struct vd_dom *d = vd_find_id(priv, id);
	if (!d)
		return lv_err_no_domain_id(lv_call_err(c), id);
	return vd_dom_out(d, out) < 0 ? vd_oom(c) : 0;
}

static int v_undefine(void *priv, struct lv_call *c, const struct lv_dom *dom, unsigned flags)
{
	struct vd_dom *d = vd_lookup(priv, c, dom);
	if (!d)
		return -1;
	if (flags & ~UNDEFINE_KNOWN)
		return vd_bad_flags(c, "virDomainUndefineFlags", flags);
	if (!d->persistent)
		return VD_E_INVALID(c, "cannot undefine transient domain");
	vd_remove_files(d);
	vd_emit(d, LV_EVENT_UNDEFINED, UNDEFINED_REMOVED);
	if (vd_active(d)) {
		d->persistent = false; /* goes when it stops */
		d->autostart = false;
	} else {
		vd_dom_remove(d);
	}
	return 0;
}

static int v_get_autostart(void *priv, struct lv_call *c, const struct lv_dom *dom,
	int32_t *autostart)
{
	struct vd_dom *d = vd_lookup(priv, c, dom);
	if (!d)
		return -1;
	*autostart = d->autostart;
	return 0;
}

static int v_set_autostart(void *priv, struct lv_call *c, const struct lv_dom *dom,
	int32_t autostart)
{
	struct vd_dom *d = vd_lookup(priv, c, dom);
	if (!d)
		return -1;
	if (!d->persistent)
		return VD_E_INVALID(c, "cannot set autostart for transient domain");
	int r = vd_save_autostart(d, autostart != 0);
	if (r < 0)
		return VD_E_FAILED(c, "cannot %s autostart of domain '%s': %s",
			autostart ? "set" : "unset", d->cfg.name, strerror(-r));
	d->autostart = autostart != 0;
	return 0;
}

static int v_is_persistent(void *priv, struct lv_call *c, const struct lv_dom *dom,
	int32_t *persistent)
{
	struct vd_dom *d = vd_lookup(priv, c, dom);
	if (!d)
		return -1;
	*persistent = d->persistent;
	return 0;
}

/* ---- the life cycle ---- */

static int v_create(void *priv, struct lv_call *c, const struct lv_dom *dom, unsigned flags,
	struct lv_dom *out)
{
	struct vd_dom *d = vd_lookup(priv, c, dom);
	if (!d)
		return -1;
	if (flags & ~(CREATE_PAUSED | CREATE_FORCE_BOOT))
		return vd_bad_flags(c, "virDomainCreateWithFlags", flags);
	if (vd_active(d))
		return VD_E_INVALID(c, "domain '%s' is already running", d->cfg.name);
	if (vd_nested_refusal(c, &d->cfg) < 0)
		return -1;
	return vd_start(d, c, flags & CREATE_PAUSED, out);
}

static int v_destroy(void *priv, struct lv_call *c, const struct lv_dom *dom, unsigned flags)
{
	struct vd_dom *d = vd_lookup(priv, c, dom);
	if (!d)
		return -1;
	if (flags & ~DESTROY_GRACEFUL)
		return vd_bad_flags(c, "virDomainDestroyFlags", flags);
	if (!vd_active(d))
		return not_running(c, d);
	/* destroy on its control socket, then SIGTERM, then (not graceful) SIGKILL. */
	return vd_stop(d, c, flags & DESTROY_GRACEFUL ? 30000 : 2000);
}

static int v_shutdown(void *priv, struct lv_call *c, const struct lv_dom *dom, unsigned flags)
{
	struct vd_drv *drv = priv;
	struct vd_dom *d = vd_lookup(priv, c, dom);
	if (!d)
		return -1;
	if (flags && !(flags & POWER_ACPI))
		return lv_call_error(c, LV_ERR_ARGUMENT_UNSUPPORTED, LV_FROM_DOMAIN,
			"argument unsupported: shutdown mode 0x%x: nestvmm has the ACPI power "
			"button only (--mode acpi)", flags);
	if (!vd_active(d))
		return not_running(c, d);
	struct json_object *args = json_object_new_object();
	json_object_object_add(args, "timeout_ms",
		json_object_new_int64((int64_t)drv->conf.shutdown_timeout_s * 1000));
	int rc = vd_request(d, c, "shutdown", args, NULL);
	json_object_put(args);
	return rc;
}

static int v_reboot(void *priv, struct lv_call *c, const struct lv_dom *dom, unsigned flags)
{
	struct vd_drv *drv = priv;
	struct vd_dom *d = vd_lookup(priv, c, dom);
	if (!d)
		return -1;
	if (flags && !(flags & POWER_ACPI))
		return lv_call_error(c, LV_ERR_ARGUMENT_UNSUPPORTED, LV_FROM_DOMAIN,
			"argument unsupported: reboot mode 0x%x: nestvmm has the ACPI power button "
			"only (--mode acpi)", flags);
	if (!vd_active(d))
		return not_running(c, d);
	bool acpi = d->has_live_cfg ? d->live_cfg.acpi : d->cfg.acpi;
	struct json_object *args = json_object_new_object();
	json_object_object_add(args, "mode", json_object_new_string(acpi ? "acpi" : "reset"));
	if (acpi)
		json_object_object_add(args, "timeout_ms",
			json_object_new_int64((int64_t)drv->conf.shutdown_timeout_s * 1000));
	int rc = vd_request(d, c, "reboot", args, NULL);
	json_object_put(args);
	return rc;
}

static int v_suspend(void *priv, struct lv_call *c, const struct lv_dom *dom)
{
	struct vd_dom *d = vd_lookup(priv, c, dom);
	if (!d)
		return -1;
	if (!vd_active(d))
		return not_running(c, d);
	if (d->state == LV_STATE_PAUSED)
		return 0;
	return vd_request(d, c, "pause", NULL, NULL);
}

static int v_resume(void *priv, struct lv_call *c, const struct lv_dom *dom)
{
	struct vd_dom *d = vd_lookup(priv, c, dom);
	if (!d)
		return -1;
	if (!vd_active(d))
		return not_running(c, d);
	if (d->state != LV_STATE_PAUSED)
		return VD_E_INVALID(c, "domain '%s' is already running", d->cfg.name);
	return vd_request(d, c, "resume", NULL, NULL);
}

/* ---- state and description ---- */

static const struct vm_config *running_cfg(const struct vd_dom *d)
{
	return vd_active(d) && d->has_live_cfg ? &d->live_cfg : &d->cfg;
}

static int v_get_info(void *priv, struct lv_call *c, const struct lv_dom *dom,
	struct lv_dom_info *out)
{
	struct vd_dom *d = vd_lookup(priv, c, dom);
	if (!d)
		return -1;
	const struct vm_config *cfg = running_cfg(d);
	out->state = (uint8_t)d->state;
	out->max_mem_kib = cfg->memory / 1024;
	out->mem_kib = (cfg->current_memory ? cfg->current_memory : cfg->memory) / 1024;
	out->nr_vcpus = (uint16_t)cfg->cpus;
	out->cpu_time_ns = 0;
	if (!vd_active(d) || !d->ready)
		return 0;
	return vd_request(d, c, "stats", NULL, out);
}

static int v_get_state(void *priv, struct lv_call *c, const struct lv_dom *dom, unsigned flags,
	int32_t *state, int32_t *reason)
{
	struct vd_dom *d = vd_lookup(priv, c, dom);
	if (!d)
		return -1;
	if (flags)
		return vd_bad_flags(c, "virDomainGetState", flags);
	*state = d->state;
	*reason = d->reason;
	return 0;
}

static int v_get_xml(void *priv, struct lv_call *c, const struct lv_dom *dom, unsigned flags,
	char **xml)
{
	struct vd_dom *d = vd_lookup(priv, c, dom);
	if (!d)
		return -1;
	if (flags & ~XML_KNOWN)
		return vd_bad_flags(c, "virDomainGetXMLDesc", flags);
	struct domain_xml_live live = { .id = d->id, .console_pty = d->pty };
	for (size_t i = 0; i < VM_MAX_NETS; i++)
		live.taps[i] = d->taps[i];
	bool inactive = (flags & LV_XML_INACTIVE) || !vd_active(d);
	int r = vm_config_to_domain_xml(inactive ? &d->cfg : running_cfg(d), inactive ? NULL : &live,
		(flags & LV_XML_SECURE) | (inactive ? DOMAIN_XML_INACTIVE : 0), xml);
	if (r < 0)
		return VD_E_INTERNAL(c, "cannot describe domain '%s': %s", d->cfg.name,
			strerror(-r));
	return 0;
}

/* ---- memory ---- */

static int v_set_memory(void *priv, struct lv_call *c, const struct lv_dom *dom, uint64_t kib,
	unsigned flags)
{
	struct vd_dom *d = vd_lookup(priv, c, dom);
	char why[256], *err = NULL;
	if (!d)
		return -1;
	if (flags & ~(MEM_LIVE | MEM_CONFIG | MEM_MAXIMUM))
		return vd_bad_flags(c, "virDomainSetMemoryFlags", flags);
	bool live = flags & MEM_LIVE || (!(flags & MEM_CONFIG) && vd_active(d));
	if (live && !vd_active(d))
		return not_running(c, d);
	if (kib > UINT64_MAX / 2048)
		return lv_call_error(c, LV_ERR_INVALID_ARG, LV_FROM_DOMAIN,
			"invalid argument: memory %llu KiB is too large", (unsigned long long)kib);
	uint64_t bytes = kib * 1024;
	if (flags & MEM_MAXIMUM) {
		if (live)
			return VD_E_INVALID(c, "cannot resize the maximum memory on an active domain");
		if (!vm_check_memory(bytes, why, sizeof(why)))
			return lv_call_error(c, LV_ERR_INVALID_ARG, LV_FROM_DOMAIN,
				"invalid argument: memory: %s", why);
	}
	const struct vm_config *cfg = running_cfg(d);
	if (!(flags & MEM_MAXIMUM) && bytes > cfg->memory)
		return lv_call_error(c, LV_ERR_INVALID_ARG, LV_FROM_DOMAIN,
			"invalid argument: cannot set memory higher than max memory");
	if (live) {
		if (cfg->nested == NESTED_ON)
			return VD_E_UNSUPPORTED(c, "domain '%s' requires vmx/svm: its memory cannot "
				"change while it runs (a nested hypervisor's memory must stay)",
				d->cfg.name);
		if (!cfg->balloon)
			return VD_E_INVALID(c, "domain '%s' has no memballoon: its memory cannot "
				"change while it runs", d->cfg.name);
		struct json_object *args = json_object_new_object();
		json_object_object_add(args, "target_mib",
			json_object_new_int64((int64_t)((cfg->memory - bytes) >> 20)));
		int rc = vd_request(d, c, "balloon", args, NULL);
		json_object_put(args);
		return rc;
	}
	/* The definition: used from the next start. */
	uint64_t mem = d->cfg.memory, cur = d->cfg.current_memory;
	if (flags & MEM_MAXIMUM) {
		d->cfg.memory = bytes;
		if (d->cfg.current_memory > bytes)
			d->cfg.current_memory = 0;
	} else {
		if (!vm_check_current_memory(bytes == mem ? 0 : bytes, mem, d->cfg.balloon, why,
			    sizeof(why)))
			return lv_call_error(c, LV_ERR_INVALID_ARG, LV_FROM_DOMAIN,
				"invalid argument: currentMemory: %s", why);
		d->cfg.current_memory = bytes == mem ? 0 : bytes;
	}
	if (vd_save(d, &err) < 0) {
		d->cfg.memory = mem;
		d->cfg.current_memory = cur;
		VD_E_FAILED(c, "%s", err ? err : "out of memory");
		free(err);
		return -1;
	}
	return 0;
}

static int v_open_console(void *priv, struct lv_call *c, const struct lv_dom *dom,
	const char *dev, unsigned flags, struct lv_stream *st)
{
	struct vd_dom *d = vd_lookup(priv, c, dom);
	if (!d)
		return -1;
	if (flags & ~CONSOLE_KNOWN)
		return vd_bad_flags(c, "virDomainOpenConsole", flags);
	if (dev && strcmp(dev, "serial0") && strcmp(dev, "console0"))
		return lv_call_error(c, LV_ERR_INTERNAL_ERROR, LV_FROM_DOMAIN,
			"internal error: character device %s is not using a PTY (nestvmm has "
			"serial0 = console0)", dev);
	if (!vd_active(d))
		return not_running(c, d);
	if (!d->ready)
		return vd_console_when_ready(d, c, st);
	return vd_console_open(d, c, st);
}

/* ---- the driver ---- */

static void v_attach(void *priv, struct lv_server *srv)
{
	struct vd_drv *drv = priv;
	drv->srv = srv;
	drv->loop = lv_server_loop(srv);
}

static bool v_busy(void *priv)
{
	struct vd_drv *drv = priv;
	for (struct vd_dom *d = drv->doms; d; d = d->next)
		if (vd_active(d))
			return true;
	return false;
}

static void v_free(void *priv)
{
	struct vd_drv *drv = priv;
	if (!drv)
		return;
	/* The VMs go on running: the next daemon finds them again. */
	while (drv->doms)
		vd_dom_remove(drv->doms);
	free(drv->state_dir);
	free(drv->vmm);
	free(drv->marker);
	free(drv->schema);
	free(drv);
}

struct lv_driver *lv_driver_vmm_new(const struct lv_vmm_config *conf, char **err)
{
	struct lv_driver *d = calloc(1, sizeof(*d));
	struct vd_drv *drv = calloc(1, sizeof(*drv));
	*err = NULL;
	if (!d || !drv)
		goto fail;
	drv->conf = *conf;
	drv->state_dir = strdup(conf->state_dir);
	drv->vmm = strdup(conf->vmm);
	drv->schema = strdup(conf->schema ? conf->schema : DOMAIN_XML_SCHEMA);
	drv->marker = conf->autostart_marker ? strdup(conf->autostart_marker) : NULL;
	if (!drv->state_dir || !drv->vmm || !drv->schema ||
	    (conf->autostart_marker && !drv->marker))
		goto fail;
	drv->conf.state_dir = drv->state_dir;
	drv->conf.vmm = drv->vmm;
	drv->conf.schema = drv->schema;
	drv->conf.autostart_marker = drv->marker;
	drv->next_id = 1;
	d->name = "vmm";
	d->priv = drv;
	d->attach = v_attach;
	d->free = v_free;
	d->busy = v_busy;
	d->list_all = v_list_all;
	d->lookup_by_name = v_by_name;
	d->lookup_by_uuid = v_by_uuid;
	d->lookup_by_id = v_by_id;
	d->define_xml = vd_define;
	d->undefine = v_undefine;
	d->create = v_create;
	d->destroy = v_destroy;
	d->shutdown = v_shutdown;
	d->reboot = v_reboot;
	d->suspend = v_suspend;
	d->resume = v_resume;
	d->get_info = v_get_info;
	d->get_state = v_get_state;
	d->get_xml = v_get_xml;
	d->get_autostart = v_get_autostart;
	d->set_autostart = v_set_autostart;
	d->set_memory = v_set_memory;
	d->is_persistent = v_is_persistent;
	d->open_console = v_open_console;
	return d;
fail:
	if (drv)
		v_free(drv);
	free(d);
	*err = str_printf("virtvmmd: out of memory");
	return NULL;
}

int lv_driver_vmm_load(struct lv_driver *ld, char **err)
{
	struct vd_drv *drv = ld->priv;
	*err = NULL;
	if (!drv->loop) {
		*err = str_printf("the vmm driver is not attached to a server");
		return -EINVAL;
	}
	int r = vd_load_all(drv);
	if (r < 0) {
		*err = str_printf("%s: cannot read the definitions: %s", drv->state_dir, strerror(-r));
		return r;
	}
	/* Running VMs first, so that their ids are taken before any new start. */
	for (struct vd_dom *d = drv->doms; d; d = d->next) {
		r = vd_adopt(d);
		if (r == -ESRCH)
			vd_note_past_exit(d);
		else if (r < 0)
			vd_log(drv, 0, "domain %s: cannot find its vmm again: %s", d->cfg.name,
				strerror(-r));
	}
	bool autostart = !drv->marker || access(drv->marker, F_OK) < 0;
	for (struct vd_dom *d = drv->doms; d && autostart; d = d->next)
		if (d->autostart && !vd_active(d)) {
			vd_log(drv, 0, "domain %s: autostart", d->cfg.name);
			vd_start(d, NULL, false, NULL);
		}
	if (drv->marker && autostart) {
		r = write_atomic(drv->marker, "", 0, NULL);
		if (r < 0)
			vd_log(drv, 0, "%s: cannot write it: %s", drv->marker, strerror(-r));
	}
	return 0;
}
