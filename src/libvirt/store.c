// SPDX-License-Identifier: MIT
/*
 * The vmm driver's domains: the list in memory, the definitions on disk
 * (STATE/domains/NAME.xml written atomically with the canonical XML of the
 * definition, STATE/autostart/NAME), a running domain's id in its state
 * directory.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lv_server.h"
#include "supervise.h"
#include "util.h"
#include "vmm_internal.h"

char *vd_path(const struct vd_drv *drv, const char *sub, const char *name)
{
	if (!name)
		return str_printf("%s/%s", drv->state_dir, sub);
	if (!strcmp(sub, "domains"))
		return str_printf("%s/domains/%s.xml", drv->state_dir, name);
	return str_printf("%s/%s/%s", drv->state_dir, sub, name);
}

struct vd_dom *vd_find_uuid(struct vd_drv *drv, const uint8_t uuid[LV_UUID_LEN])
{
	for (struct vd_dom *d = drv->doms; d; d = d->next)
		if (!memcmp(d->cfg.uuid, uuid, LV_UUID_LEN))
			return d;
	return NULL;
}

struct vd_dom *vd_find_name(struct vd_drv *drv, const char *name)
{
	for (struct vd_dom *d = drv->doms; d; d = d->next)
		if (!strcmp(d->cfg.name, name))
			return d;
	return NULL;
}

struct vd_dom *vd_find_id(struct vd_drv *drv, int32_t id)
{
	for (struct vd_dom *d = drv->doms; d && id >= 0; d = d->next)
		if (d->id == id)
			return d;
	return NULL;
}

struct vd_dom *vd_lookup(struct vd_drv *drv, struct lv_call *c, const struct lv_dom *dom)
{
	struct vd_dom *d = vd_find_uuid(drv, dom->uuid);
	if (!d) {
		char u[37];
		lv_uuid_format(dom->uuid, u);
		lv_call_error(c, LV_ERR_NO_DOMAIN, LV_FROM_DOMAIN,
			"Domain not found: no domain with matching uuid '%s' (%s)", u,
			dom->name ? dom->name : "");
	}
	return d;
}

int vd_dom_out(const struct vd_dom *d, struct lv_dom *out)
{
	return lv_dom_set(out, d->cfg.name, d->cfg.uuid, d->id);
}

void vd_emit(struct vd_dom *d, int32_t event, int32_t detail)
{
	struct lv_dom dom = { .name = d->cfg.name, .id = d->id };
	memcpy(dom.uuid, d->cfg.uuid, LV_UUID_LEN);
	if (d->drv->srv)
		lv_server_emit_lifecycle(d->drv->srv, &dom, event, detail);
}

static int mkdir_sub(const struct vd_drv *drv, const char *sub)
{
	char *p = vd_path(drv, sub, NULL);
	int r = 0;
	if (!p)
		return -ENOMEM;
	if (mkdir(p, 0700) < 0 && errno != EEXIST)
		r = -errno;
	free(p);
	return r;
}

static const struct stat private_file = { .st_mode = S_IFREG | 0600 };

int vd_save(struct vd_dom *d, char **err)
{
	char *xml = NULL, *path = NULL;
	struct stat like = private_file;
	int r = vm_config_to_domain_xml(&d->cfg, NULL, DOMAIN_XML_INACTIVE, &xml);
	if (r < 0) {
		*err = str_printf("cannot write the definition as XML: %s", strerror(-r));
		goto cleanup;
	}
	r = mkdir_sub(d->drv, "domains");
	path = vd_path(d->drv, "domains", d->cfg.name);
	if (r == 0 && !path)
		r = -ENOMEM;
	like.st_uid = geteuid();
	like.st_gid = getegid();
	if (r == 0)
		r = write_atomic(path, xml, strlen(xml), &like);
	if (r < 0)
		*err = str_printf("cannot save %s: %s", path ? path : "the definition", strerror(-r));
cleanup:
	free(xml);
	free(path);
	return r;
}

int vd_save_autostart(struct vd_dom *d, bool on)
{
	struct stat like = private_file;
	char *path = vd_path(d->drv, "autostart", d->cfg.name);
	int r = path ? mkdir_sub(d->drv, "autostart") : -ENOMEM;
	like.st_uid = geteuid();
	like.st_gid = getegid();
	if (r == 0 && on)
		r = write_atomic(path, "", 0, &like);
	else if (r == 0 && unlink(path) < 0 && errno != ENOENT)
		r = -errno;
	free(path);
	return r;
}

void vd_remove_files(struct vd_dom *d)
{
	char *p = vd_path(d->drv, "domains", d->cfg.name);
	if (p)
		unlink(p);
	free(p);
	vd_save_autostart(d, false);
}

int vd_save_id(const struct vd_dom *d)
{
	char *path = vd_path(d->drv, "run", d->cfg.name), *file = NULL, line[16];
	struct stat like = private_file;
	int r = -ENOMEM;
	if (path)
		file = str_printf("%s/domain.id", path);
	like.st_uid = geteuid();
	like.st_gid = getegid();
	snprintf(line, sizeof(line), "%d\n", (int)d->id);
	if (file)
		r = write_atomic(file, line, strlen(line), &like);
	free(file);
	free(path);
	return r;
}

int32_t vd_read_id(const struct vd_dom *d)
{
	char *path = vd_path(d->drv, "run", d->cfg.name), *file = NULL;
	int id = -1;
	if (path)
		file = str_printf("%s/domain.id", path);
	FILE *f = file ? fopen(file, "re") : NULL;
	if (f && fscanf(f, "%d", &id) != 1)
		id = -1;
	if (f)
		fclose(f);
	free(file);
	free(path);
	return id > 0 ? id : -1;
}

struct vd_dom *vd_dom_add(struct vd_drv *drv, struct vm_config *cfg)
{
	struct vd_dom *d = calloc(1, sizeof(*d));
	if (!d)
		return NULL;
	d->drv = drv;
	d->cfg = *cfg;
	vm_config_init(cfg); /* moved */
	d->persistent = true;
	d->id = -1;
	d->state = LV_STATE_SHUTOFF;
	d->reason = 0; /* VIR_DOMAIN_SHUTOFF_UNKNOWN */
	struct vd_dom **pp = &drv->doms;
	while (*pp)
		pp = &(*pp)->next;
	*pp = d;
	drv->ndoms++;
	return d;
}

void vd_dom_remove(struct vd_dom *d)
{
	if (!d)
		return;
	for (struct vd_dom **pp = &d->drv->doms; *pp; pp = &(*pp)->next)
		if (*pp == d) {
			*pp = d->next;
			d->drv->ndoms--;
			break;
		}
	vd_reqs_fail(d, "the domain is gone");
	vd_consoles_close(d);
	sv_free(d->vm);
	vm_config_free(&d->cfg);
	if (d->has_live_cfg)
		vm_config_free(&d->live_cfg);
	free(d->pty);
	for (size_t i = 0; i < VM_MAX_NETS; i++)
		free(d->taps[i]);
	free(d);
}

static int read_file(const char *path, char **out, size_t *len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat st;
	int r = 0;
	*out = NULL;
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0 || st.st_size > (off_t)LV_STRING_MAX) {
		r = fd < 0 ? -errno : -EFBIG;
		goto cleanup;
	}
	*out = malloc((size_t)st.st_size + 1);
	if (!*out) {
		r = -ENOMEM;
		goto cleanup;
	}
	r = pread_full(fd, *out, (size_t)st.st_size, 0);
	if (r < 0) {
		free(*out);
		*out = NULL;
		goto cleanup;
	}
	(*out)[st.st_size] = 0;
	*len = (size_t)st.st_size;
cleanup:
	close(fd);
	return r;
}

/* One definition file: a domain, or a logged complaint. */
static void load_one(struct vd_drv *drv, const char *dir, const char *file)
{
	char *path = str_printf("%s/%s", dir, file), *xml = NULL, *as = NULL;
	struct vm_config cfg;
	struct diag dg;
	size_t len = 0;
	vm_config_init(&cfg);
	diag_init(&dg);
	int r = path ? read_file(path, &xml, &len) : -ENOMEM;
	if (r < 0) {
		vd_log(drv, 0, "%s: cannot read it: %s", path ? path : file, strerror(-r));
		goto cleanup;
	}
	vm_config_free(&cfg);
	if (vm_config_from_domain_xml(&cfg, xml, len, path, &dg) < 0) {
		vd_log(drv, 0, "%s: not loaded: %s", path, dg.n ? dg.msgs[0] : "out of memory");
		goto cleanup;
	}
	size_t nl = strlen(file) - 4;
	if (strlen(cfg.name) != nl || strncmp(cfg.name, file, nl)) {
		vd_log(drv, 0, "%s: not loaded: it defines '%s', not '%.*s'", path, cfg.name, (int)nl,
			file);
		goto cleanup;
	}
	if (vd_find_name(drv, cfg.name) || vd_find_uuid(drv, cfg.uuid)) {
		vd_log(drv, 0, "%s: not loaded: its name or uuid is another domain's", path);
		goto cleanup;
	}
	struct vd_dom *d = vd_dom_add(drv, &cfg);
	if (!d)
		goto cleanup;
	as = vd_path(drv, "autostart", d->cfg.name);
	d->autostart = as && access(as, F_OK) == 0;
cleanup:
	diag_free(&dg);
	vm_config_free(&cfg);
	free(xml);
	free(path);
	free(as);
}

int vd_load_all(struct vd_drv *drv)
{
	char *dir = vd_path(drv, "domains", NULL);
	int r = dir ? mkdir_sub(drv, "domains") : -ENOMEM;
	if (r == 0)
		r = mkdir_sub(drv, "run");
	DIR *dh = r == 0 ? opendir(dir) : NULL;
	if (r == 0 && !dh)
		r = -errno;
	for (struct dirent *e; dh && (e = readdir(dh));) {
		size_t n = strlen(e->d_name);
		if (e->d_name[0] != '.' && n > 4 && !strcmp(e->d_name + n - 4, ".xml"))
			load_one(drv, dir, e->d_name);
	}
	if (dh)
		closedir(dh);
	free(dir);
	return r;
}
