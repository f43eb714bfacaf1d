// SPDX-License-Identifier: MIT
/*
 * The host as virtvmmd reports it: NODE_GET_INFO from /proc/cpuinfo,
 * /proc/meminfo and the sysfs CPU topology; the capabilities XML (host CPU
 * arch, model, vendor, topology; guest hvm x86_64 with domain type kvm) written
 * with libxml2's xmlTextWriter.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <libxml/xmlwriter.h>

#include "lv_host.h"
#include "util.h"

#define MAX_CPUS 8192

struct cpuinfo {
	char vendor[64];
	char model[128];
	int family, model_num, stepping;
	double mhz;
	bool vmx, svm;
};

static FILE *open_at(const char *root, const char *path)
{
	char p[4096];
	snprintf(p, sizeof(p), "%s%s", root ? root : "", path);
	return fopen(p, "re");
}

static void copy_value(char *dst, size_t n, const char *line)
{
	const char *v = strchr(line, ':');
	v = v ? v + 1 : line;
	while (*v == ' ' || *v == '\t')
		v++;
	snprintf(dst, n, "%s", v);
	dst[strcspn(dst, "\n")] = '\0';
}

static bool has_flag(const char *flags, const char *name)
{
	size_t n = strlen(name);
	for (const char *p = flags; (p = strstr(p, name)); p += n)
		if ((p == flags || p[-1] == ' ' || p[-1] == ':' || p[-1] == '\t') &&
		    (p[n] == ' ' || p[n] == '\n' || p[n] == '\0'))
			return true;
	return false;
}

/* The first processor's fields (they are the same on every one). */
static int read_cpuinfo(const char *root, struct cpuinfo *ci)
{
	FILE *f = open_at(root, "/proc/cpuinfo");
	char *line = NULL;
	size_t cap = 0;
	int procs = 0;
	memset(ci, 0, sizeof(*ci));
	if (!f)
		return -errno;
	while (getline(&line, &cap, f) > 0) {
		if (!strncmp(line, "processor", 9) && ++procs > 1)
			break;
		char tmp[64];
		if (!strncmp(line, "vendor_id", 9))
			copy_value(ci->vendor, sizeof(ci->vendor), line);
		else if (!strncmp(line, "model name", 10))
			copy_value(ci->model, sizeof(ci->model), line);
		else if (!strncmp(line, "cpu family", 10))
			copy_value(tmp, sizeof(tmp), line), ci->family = atoi(tmp);
		else if (!strncmp(line, "model\t", 6) || !strncmp(line, "model :", 7))
			copy_value(tmp, sizeof(tmp), line), ci->model_num = atoi(tmp);
		else if (!strncmp(line, "stepping", 8))
			copy_value(tmp, sizeof(tmp), line), ci->stepping = atoi(tmp);
		else if (!strncmp(line, "cpu MHz", 7))
			copy_value(tmp, sizeof(tmp), line), ci->mhz = atof(tmp);
		else if (!strncmp(line, "flags", 5)) {
			ci->vmx = has_flag(line, "vmx");
			ci->svm = has_flag(line, "svm");
		}
	}
	free(line);
	fclose(f);
	return procs ? 0 : -ENOENT;
}

static long read_long(const char *root, const char *fmt, int cpu)
{
	char p[256];
	snprintf(p, sizeof(p), fmt, cpu);
	FILE *f = open_at(root, p);
	long v = -1;
	if (!f)
		return -1;
	if (fscanf(f, "%ld", &v) != 1)
		v = -1;
	fclose(f);
	return v;
}

/* Online CPUs from a list like "0-3,8-11". */
static int parse_cpu_list(const char *s, bool *on, int max)
{
	int n = 0;
	while (*s && *s != '\n') {
		char *end;
		long a = strtol(s, &end, 10), b = a;
		if (end == s)
			return -EINVAL;
		if (*end == '-')
			b = strtol(end + 1, &end, 10);
		for (long i = a; i <= b && i < max; i++)
			if (i >= 0 && !on[i])
				on[i] = true, n++;
		s = *end == ',' ? end + 1 : end;
	}
	return n;
}

struct topo {
	int cpus, nodes, sockets, cores, threads;
};

static void read_topology(const char *root, struct topo *t)
{
	static const char base[] = "/sys/devices/system/cpu/cpu%d/topology/";
	char line[4096] = "";
	bool *on = calloc(MAX_CPUS, sizeof(bool));
	FILE *f = open_at(root, "/sys/devices/system/cpu/online");
	memset(t, 0, sizeof(*t));
	if (f) {
		if (!fgets(line, sizeof(line), f))
			line[0] = '\0';
		fclose(f);
	}
	if (on && line[0])
		t->cpus = parse_cpu_list(line, on, MAX_CPUS);
	if (t->cpus <= 0) {
		long n = sysconf(_SC_NPROCESSORS_ONLN);
		t->cpus = n > 0 ? (int)n : 1;
		free(on);
		on = NULL;
	}
	/* Distinct packages and cores; threads per core from the first CPU. */
	int packages = 0, cores = 0;
	long pkg_seen[256], core_seen[1024];
	for (int i = 0; on && i < MAX_CPUS; i++) {
		if (!on[i])
			continue;
		char p[128];
		snprintf(p, sizeof(p), "%sphysical_package_id", base);
		long pkg = read_long(root, p, i);
		snprintf(p, sizeof(p), "%score_id", base);
		long core = read_long(root, p, i);
		long key = pkg * 100000 + core;
		bool seen = false;
		for (int j = 0; j < packages; j++)
			seen |= pkg_seen[j] == pkg;
		if (!seen && packages < 256)
			pkg_seen[packages++] = pkg;
		seen = false;
		for (int j = 0; j < cores; j++)
			seen |= core_seen[j] == key;
		if (!seen && cores < 1024)
			core_seen[cores++] = key;
	}
	free(on);
	char nodes[4096];
	snprintf(nodes, sizeof(nodes), "%s/sys/devices/system/node", root ? root : "");
	DIR *d = opendir(nodes);
	for (struct dirent *e; d && (e = readdir(d));)
		if (!strncmp(e->d_name, "node", 4) && e->d_name[4] >= '0' && e->d_name[4] <= '9')
			t->nodes++;
	if (d)
		closedir(d);
	if (t->nodes <= 0)
		t->nodes = 1;
	if (packages <= 0 || cores <= 0) {
		packages = 1;
		cores = t->cpus;
	}
	t->sockets = packages / t->nodes > 0 ? packages / t->nodes : 1;
	t->cores = cores / packages > 0 ? cores / packages : 1;
	t->threads = t->cpus / cores > 0 ? t->cpus / cores : 1;
	/* libvirt's rule: a topology that does not multiply out is reported flat. */
	if (t->nodes * t->sockets * t->cores * t->threads != t->cpus) {
		t->nodes = t->sockets = t->threads = 1;
		t->cores = t->cpus;
	}
}

static int64_t meminfo_kib(const char *root, const char *key)
{
	FILE *f = open_at(root, "/proc/meminfo");
	char line[256];
	int64_t v = -1;
	size_t n = strlen(key);
	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, key, n) && line[n] == ':') {
			v = strtoll(line + n + 1, NULL, 10);
			break;
		}
	fclose(f);
	return v < 0 ? -ENOENT : v;
}

int lv_host_node_info(const char *root, struct lv_node_info *out)
{
	struct cpuinfo ci;
	struct topo t;
	struct utsname u;
	memset(out, 0, sizeof(*out));
	int r = read_cpuinfo(root, &ci);
	if (r < 0)
		return r;
	int64_t mem = meminfo_kib(root, "MemTotal");
	if (mem < 0)
		return (int)mem;
	read_topology(root, &t);
	snprintf(out->model, sizeof(out->model), "%.32s", uname(&u) == 0 ? u.machine : "x86_64");
	out->memory_kib = (uint64_t)mem;
	out->cpus = t.cpus;
	long khz = read_long(root, "/sys/devices/system/cpu/cpu%d/cpufreq/cpuinfo_max_freq", 0);
	out->mhz = khz > 0 ? (int32_t)(khz / 1000) : (int32_t)(ci.mhz + 0.5);
	out->nodes = t.nodes;
	out->sockets = t.sockets;
	out->cores = t.cores;
	out->threads = t.threads;
	return 0;
}

char *lv_host_hostname(void)
{
	char h[256];
	if (gethostname(h, sizeof(h)) < 0)
		return NULL;
	h[sizeof(h) - 1] = '\0';
	return strdup(h);
}

static const char *vendor_name(const char *id)
{
	if (!strcmp(id, "GenuineIntel"))
		return "Intel";
	if (!strcmp(id, "AuthenticAMD"))
		return "AMD";
	return id;
}

#define W(call)                       \
	do {                          \
		if ((call) < 0)       \
			goto cleanup; \
	} while (0)

static int write_caps(xmlTextWriterPtr w, const struct cpuinfo *ci, const struct topo *t,
		      const char *arch)
{
	int rc = -EIO;
	W(xmlTextWriterSetIndent(w, 1));
	W(xmlTextWriterSetIndentString(w, BAD_CAST "  "));
	W(xmlTextWriterStartElement(w, BAD_CAST "capabilities"));
	W(xmlTextWriterStartElement(w, BAD_CAST "host"));
	W(xmlTextWriterStartElement(w, BAD_CAST "cpu"));
	W(xmlTextWriterWriteElement(w, BAD_CAST "arch", BAD_CAST arch));
	if (ci->model[0])
		W(xmlTextWriterWriteElement(w, BAD_CAST "model", BAD_CAST ci->model));
	if (ci->vendor[0])
		W(xmlTextWriterWriteElement(w, BAD_CAST "vendor", BAD_CAST vendor_name(ci->vendor)));
	if (ci->family > 0) {
		W(xmlTextWriterStartElement(w, BAD_CAST "signature"));
		W(xmlTextWriterWriteFormatAttribute(w, BAD_CAST "family", "%d", ci->family));
		W(xmlTextWriterWriteFormatAttribute(w, BAD_CAST "model", "%d", ci->model_num));
		W(xmlTextWriterWriteFormatAttribute(w, BAD_CAST "stepping", "%d", ci->stepping));
		W(xmlTextWriterEndElement(w));
	}
	W(xmlTextWriterStartElement(w, BAD_CAST "topology"));
	W(xmlTextWriterWriteFormatAttribute(w, BAD_CAST "sockets", "%d", t->sockets * t->nodes));
	W(xmlTextWriterWriteAttribute(w, BAD_CAST "dies", BAD_CAST "1"));
	W(xmlTextWriterWriteFormatAttribute(w, BAD_CAST "cores", "%d", t->cores));
	W(xmlTextWriterWriteFormatAttribute(w, BAD_CAST "threads", "%d", t->threads));
	W(xmlTextWriterEndElement(w));
	/* What nesting needs to know: the host's virtualization extension. */
	if (ci->vmx || ci->svm) {
		W(xmlTextWriterStartElement(w, BAD_CAST "feature"));
		W(xmlTextWriterWriteAttribute(w, BAD_CAST "name", BAD_CAST(ci->vmx ? "vmx" : "svm")));
		W(xmlTextWriterEndElement(w));
	}
	W(xmlTextWriterStartElement(w, BAD_CAST "pages"));
	W(xmlTextWriterWriteAttribute(w, BAD_CAST "unit", BAD_CAST "KiB"));
	W(xmlTextWriterWriteFormatAttribute(w, BAD_CAST "size", "%ld", sysconf(_SC_PAGESIZE) / 1024));
	W(xmlTextWriterEndElement(w));
	W(xmlTextWriterEndElement(w)); /* cpu */
	W(xmlTextWriterStartElement(w, BAD_CAST "iommu"));
	W(xmlTextWriterWriteAttribute(w, BAD_CAST "support", BAD_CAST "no"));
	W(xmlTextWriterEndElement(w));
	W(xmlTextWriterEndElement(w)); /* host */
	W(xmlTextWriterStartElement(w, BAD_CAST "guest"));
	W(xmlTextWriterWriteElement(w, BAD_CAST "os_type", BAD_CAST "hvm"));
	W(xmlTextWriterStartElement(w, BAD_CAST "arch"));
	W(xmlTextWriterWriteAttribute(w, BAD_CAST "name", BAD_CAST "x86_64"));
	W(xmlTextWriterWriteElement(w, BAD_CAST "wordsize", BAD_CAST "64"));
	W(xmlTextWriterStartElement(w, BAD_CAST "domain"));
	W(xmlTextWriterWriteAttribute(w, BAD_CAST "type", BAD_CAST "kvm"));
	W(xmlTextWriterEndElement(w));
	W(xmlTextWriterEndElement(w)); /* arch */
	W(xmlTextWriterStartElement(w, BAD_CAST "features"));
	static const char *const toggles[] = { "acpi", "apic" };
	for (size_t i = 0; i < ARRAY_SIZE(toggles); i++) {
		W(xmlTextWriterStartElement(w, BAD_CAST toggles[i]));
		W(xmlTextWriterWriteAttribute(w, BAD_CAST "default", BAD_CAST "on"));
		W(xmlTextWriterWriteAttribute(w, BAD_CAST "toggle", BAD_CAST "no"));
		W(xmlTextWriterEndElement(w));
	}
	W(xmlTextWriterEndElement(w)); /* features */
	W(xmlTextWriterEndElement(w)); /* guest */
	W(xmlTextWriterEndElement(w)); /* capabilities */
	W(xmlTextWriterEndDocument(w));
	rc = 0;
cleanup:
	return rc;
}

int lv_host_capabilities(const char *root, char **xml)
{
	struct cpuinfo ci;
	struct topo t;
	struct utsname u;
	xmlBufferPtr buf = NULL;
	xmlTextWriterPtr w = NULL;
	int rc = read_cpuinfo(root, &ci);

	*xml = NULL;
	if (rc < 0)
		goto cleanup;
	read_topology(root, &t);
	rc = -ENOMEM;
	buf = xmlBufferCreate();
	if (!buf)
		goto cleanup;
	w = xmlNewTextWriterMemory(buf, 0);
	if (!w)
		goto cleanup;
	rc = write_caps(w, &ci, &t, uname(&u) == 0 ? u.machine : "x86_64");
	xmlFreeTextWriter(w); /* flushes into buf */
	w = NULL;
	if (rc < 0)
		goto cleanup;
	/* No XML declaration: libvirt's capabilities start at <capabilities>. */
	const char *s = (const char *)xmlBufferContent(buf);
	*xml = strdup(s);
	rc = *xml ? 0 : -ENOMEM;
cleanup:
	if (w)
		xmlFreeTextWriter(w);
	if (buf)
		xmlBufferFree(buf);
	return rc;
}
