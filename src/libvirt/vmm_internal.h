/* SPDX-License-Identifier: MIT */
/*
 * The vmm driver's insides, shared by its files: the domains (store.c: the
 * definitions on disk; driver_vmm.c: the procedures; run.c: the supervised
 * vmm of a running domain and its events; console.c: virsh console through
 * a vmm console attachment).
 */
#ifndef NV_LV_VMM_INTERNAL_H
#define NV_LV_VMM_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>

#include "domain_xml.h"
#include "lv_driver.h"
#include "lv_vmm.h"
#include "vm_config.h"

struct evloop;
struct sv_vm;
struct vd_console;
struct json_object;

/* A call waiting on the VM: for its start, its exit, or a control-socket reply. */
enum vd_wait { VD_WAIT_START, VD_WAIT_STOP, VD_WAIT_REPLY };

struct vd_req {
	struct vd_dom *dom;
	struct lv_call *c;
	enum vd_wait kind;
	struct lv_dom *out_dom;       /* start: the domain with its id */
	struct lv_dom_info *out_info; /* get_info: filled from stats */
	struct lv_stream *stream;     /* a console asked for while the VM was starting */
	const char *what;             /* the vmm command, for messages */
	struct vd_req *next;
};

struct vd_dom {
	struct vd_drv *drv;
	struct vm_config cfg;      /* the persistent definition */
	struct vm_config live_cfg; /* what the running VM was started with */
	bool has_live_cfg;
	bool persistent;           /* false: undefined while running, gone when it stops */
	bool autostart;
	/* running */
	struct sv_vm *vm;          /* NULL while shut off */
	int32_t id;                /* -1 while shut off */
	int32_t state;             /* LV_STATE_* */
	int32_t reason;            /* the state's reason (VIR_DOMAIN_*_REASON) */
	bool ready;                /* its control socket answered and the status is known */
	bool start_paused;
	bool adopted;              /* found again after a daemon restart */
	bool stop_requested;       /* destroy asked: the exit is DESTROYED */
	char stop_event[32];       /* the reason of vmm's "stopped" event */
	char *pty;                 /* the console's pty */
	char *taps[VM_MAX_NETS];   /* each NIC's tap as the VM opened it */
	struct vd_req *reqs;
	struct vd_console *consoles;
	struct vd_dom *next;
};

struct vd_drv {
	struct lv_vmm_config conf;
	char *state_dir, *vmm, *marker, *schema;
	struct lv_server *srv;
	struct evloop *loop;
	struct vd_dom *doms;
	unsigned ndoms;
	int32_t next_id;
};

/* ---- messages (libvirt's prefixes are part of the text the client prints) ---- */
#define VD_E_INVALID(c, ...) lv_call_error(c, LV_ERR_OPERATION_INVALID, LV_FROM_DOMAIN, \
	"Requested operation is not valid: " __VA_ARGS__)
#define VD_E_FAILED(c, ...) lv_call_error(c, LV_ERR_OPERATION_FAILED, LV_FROM_DOMAIN, \
	"operation failed: " __VA_ARGS__)
#define VD_E_UNSUPPORTED(c, ...) lv_call_error(c, LV_ERR_CONFIG_UNSUPPORTED, LV_FROM_DOMAIN, \
	"unsupported configuration: " __VA_ARGS__)
#define VD_E_INTERNAL(c, ...) lv_call_error(c, LV_ERR_INTERNAL_ERROR, LV_FROM_DOMAIN, \
	"internal error: " __VA_ARGS__)
int vd_bad_flags(struct lv_call *c, const char *api, unsigned flags);
int vd_oom(struct lv_call *c);
void vd_log(const struct vd_drv *drv, int level, const char *fmt, ...) NV_PRINTF(3, 4);

/* ---- define.c ---- */
int vd_define(void *priv, struct lv_call *c, const char *xml, unsigned flags, struct lv_dom *out);
/* -1 with the error when cfg requires vmx/svm and breaks a nested rule (all named); 0 else. */
int vd_nested_refusal(struct lv_call *c, const struct vm_config *cfg);

/* ---- store.c: domains in memory and on disk ---- */

/* DIR/domains/NAME.xml, DIR/autostart/NAME, DIR/run/NAME (the VM's state directory). */
char *vd_path(const struct vd_drv *drv, const char *sub, const char *name);
struct vd_dom *vd_find_uuid(struct vd_drv *drv, const uint8_t uuid[LV_UUID_LEN]);
struct vd_dom *vd_find_name(struct vd_drv *drv, const char *name);
struct vd_dom *vd_find_id(struct vd_drv *drv, int32_t id);
/* The domain the client named (by uuid), or -1 with VIR_ERR_NO_DOMAIN. */
struct vd_dom *vd_lookup(struct vd_drv *drv, struct lv_call *c, const struct lv_dom *dom);
int vd_dom_out(const struct vd_dom *d, struct lv_dom *out);
/* Writes the definition (DIR/domains/NAME.xml, atomically). 0 or -errno. */
int vd_save(struct vd_dom *d, char **err);
int vd_save_autostart(struct vd_dom *d, bool on);
/* Removes the definition and autostart files. */
void vd_remove_files(struct vd_dom *d);
/* A new domain for cfg (moved in: cfg is cleared), linked into the list. */
struct vd_dom *vd_dom_add(struct vd_drv *drv, struct vm_config *cfg);
void vd_dom_remove(struct vd_dom *d);
/* Reads every definition from DIR/domains; unreadable ones are logged and skipped. */
int vd_load_all(struct vd_drv *drv);
/* The id of a running domain, kept in its state directory for a daemon restart. */
int vd_save_id(const struct vd_dom *d);
int32_t vd_read_id(const struct vd_dom *d);
void vd_emit(struct vd_dom *d, int32_t event, int32_t detail);

/* ---- run.c: the supervised vmm ---- */

/* Starts d (its cfg): 0 (waiting: c completes when it is up) or -1 with c's error.
 * c may be NULL (autostart). */
int vd_start(struct vd_dom *d, struct lv_call *c, bool paused, struct lv_dom *out);
/* Finds the vmm of d again after a restart; 0 (adopted), -ESRCH (not running). */
int vd_adopt(struct vd_dom *d);
/* A domain whose vmm ended while no daemon watched: its shut-off reason from exit.json. */
void vd_note_past_exit(struct vd_dom *d);
/* Stops d (destroy, SIGTERM, SIGKILL after grace_ms each); c completes at its exit. */
int vd_stop(struct vd_dom *d, struct lv_call *c, int grace_ms);
/* A control-socket request whose reply completes c (info: fills it from stats). */
int vd_request(struct vd_dom *d, struct lv_call *c, const char *command,
	struct json_object *args, struct lv_dom_info *info);
bool vd_active(const struct vd_dom *d);
/* A console asked for before the VM's socket answered: opened once it does. */
int vd_console_when_ready(struct vd_dom *d, struct lv_call *c, struct lv_stream *st);
/* Paused or running again (a reply or an event): the state and, once, the event. */
void vd_mark_paused(struct vd_dom *d, bool paused);
/* Fails every waiting call of d and forgets its live state. */
void vd_reqs_fail(struct vd_dom *d, const char *why);
void vd_req_free(struct vd_req *r);

/* ---- console.c ---- */
int vd_console_open(struct vd_dom *d, struct lv_call *c, struct lv_stream *st);
/* The VM is gone: every console of d gets EOF. */
void vd_consoles_close(struct vd_dom *d);

#endif
