// SPDX-License-Identifier: MIT
/*
 * Domain XML refusals: each with its XPath and why, all of a document's
 * problems at once, parse errors with their positions; and the rules every
 * front end shares, fed through TOML, the validator the command line's flags
 * go through, and XML, each giving the same phrase.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "domain_xml.h"
#include "vm_config.h"

static void print_diag(const struct diag *d)
{
	for (size_t i = 0; i < d->n; i++)
		print_message("  %s\n", d->msgs[i]);
}

static int define(struct vm_config *cfg, const char *xml, struct diag *d)
{
	diag_init(d);
	return vm_config_from_domain_xml(cfg, xml, strlen(xml), "t.xml", d);
}

static void expect_msgs(const struct diag *d, const char *const *want, size_t n)
{
	if (d->n != n) {
		print_diag(d);
		fail_msg("%zu messages, expected %zu", d->n, n);
	}
	for (size_t i = 0; i < n; i++)
		if (strcmp(d->msgs[i], want[i]))
			fail_msg("message %zu:\n got: %s\nwant: %s", i, d->msgs[i], want[i]);
}

#define DOM_HEAD "<domain type='kvm'><name>t</name>"
#define DOM_OS "<os><type>hvm</type><kernel>/k</kernel></os>"
#define DOM(x) DOM_HEAD "<memory>65536</memory>" DOM_OS x "</domain>"
#define DEV(x) DOM("<devices>" x "</devices>")
#define T "t.xml: "
#define NOT_HONOURED "not supported by nestvmm (docs/domain-xml.md lists what it honours)"

static const struct refusal {
	const char *xml;
	const char *want[8];
} refusals[] = {
	/* the document */
	{ "<domain type='xen'><name>t</name><memory>65536</memory>" DOM_OS "</domain>",
		{ T "/domain/@type: 'xen' is not supported (nestvmm is a KVM hypervisor: type='kvm')" } },
	{ "<domain><name>t</name><memory>65536</memory>" DOM_OS "</domain>",
		{ T "/domain: no type: nestvmm runs type='kvm' domains" } },
	{ "<domain type='kvm' foo='1'><name>t</name><memory>65536</memory>" DOM_OS "</domain>",
		{ T "/domain/@foo: " NOT_HONOURED } },
	{ "<domain type='kvm'><memory>65536</memory>" DOM_OS "</domain>",
		{ T "/domain: no <name>: a domain needs one" } },
	{ "<domain type='kvm'><name>t</name>" DOM_OS "</domain>",
		{ T "/domain: no <memory>: a domain needs one" } },
	{ DOM_HEAD "<memory>65536</memory></domain>",
		{ T "/domain: no <os>: nestvmm boots a Linux kernel directly, so it needs "
			"<os><type>hvm</type><kernel>PATH</kernel></os>" } },
	{ DOM_HEAD "<memory>65536</memory><os><type>hvm</type><kernel></kernel></os></domain>",
		{ T "/domain/os/kernel: empty: nestvmm boots a Linux kernel directly (it has no "
			"firmware), so it needs the path of a bzImage" } },
	{ DOM_HEAD "<memory>65536</memory><os><type>hvm</type><loader>/ovmf</loader><kernel>/k"
		"</kernel></os></domain>",
		{ T "/domain/os/loader: firmware is not supported (nestvmm boots a Linux kernel "
			"directly: give <kernel>)" } },
	{ DOM_HEAD "<memory>65536</memory><os><type arch='aarch64'>xen</type><kernel>k</kernel>"
		"</os></domain>",
		{ T "/domain/os/type: 'xen' is not supported (nestvmm runs hardware-virtualized "
			"guests: hvm)", T "/domain/os/type/@arch: 'aarch64' is not supported (nestvmm runs "
			"x86_64 guests)", T "/domain/os/kernel: 'k' is not an absolute path (the daemon's "
			"working directory means nothing to a domain)" } },
	{ DOM("<name>u</name>"), { T "/domain/name[2]: a second <name> (there can be only one)" } },
	{ DOM("<memory unit='parsec'>1</memory>"),
		{ T "/domain/memory[2]: a second <memory> (there can be only one)" } },
	{ DOM_HEAD "<memory unit='parsec'>1</memory>" DOM_OS "</domain>",
		{ T "/domain/memory/@unit: 'parsec' is not a unit (b, KiB, MiB, GiB, TiB, KB, MB, ...)" } },
	{ DOM_HEAD "<memory unit='EiB'>16</memory>" DOM_OS "</domain>",
		{ T "/domain/memory: '16' is too large" } },
	{ DOM_HEAD "<memory>1.5</memory>" DOM_OS "</domain>",
		{ T "/domain/memory: '1.5' is not a whole number (of KiB; say another unit with "
			"unit='MiB' or 'GiB')" } },
	{ DOM("<vcpu placement='auto' current='1'>2</vcpu>"),
		{ T "/domain/vcpu/@placement: 'auto' is not supported (nestvmm places nothing: "
			"placement='static')", T "/domain/vcpu/@current: '1' is not supported: every vCPU "
			"is online from the start (no vCPU hotplug); leave it out or make it 2" } },
	{ DOM("<on_reboot>preserve</on_reboot><on_crash>restart</on_crash>"),
		{ T "/domain/on_reboot: 'preserve' is not supported (nestvmm restarts the guest in "
			"place or stops: restart or destroy)", T "/domain/on_crash: 'restart' is not "
			"supported (a guest panic stops a nestvmm VM, which exits 3: destroy)" } },
	{ DOM("<on_poweroff>restart</on_poweroff>"), { T "/domain/on_poweroff: 'restart' is not "
		"supported (a guest power-off stops a nestvmm VM: destroy)" } },
	/* cpu */
	{ DOM("<cpu mode='host-passthrough'><feature policy='require' name='vmx'/>"
		"<feature policy='optional' name='svm'/></cpu>"),
		{ T "/domain/cpu/feature[2]: policy 'optional' contradicts vmx's 'require' (nestvmm "
			"has one nested setting for both: give them the same policy)" } },
	{ DOM("<cpu mode='maximum' check='full'><feature policy='maybe' name='vmx'/></cpu>"),
		{ T "/domain/cpu/@mode: 'maximum' is not supported (nestvmm gives the guest the host's "
			"CPU as KVM supports it: host-passthrough or host-model)", T "/domain/cpu/@check: "
			"'full' is not supported (nestvmm does not compare the guest CPU with a model: none "
			"or partial)", T "/domain/cpu/feature/@policy: 'maybe' is not a policy (force, "
			"require, optional, disable, forbid)" } },
	{ DOM("<vcpu>4</vcpu><cpu><topology sockets='2' cores='2' threads='1'/></cpu>"),
		{ T "/domain/cpu/topology: sockets=2 dies=1 cores=2 threads=1 is not supported "
			"(nestvmm's guests have one socket of 4 single-thread cores: sockets='1' cores='4' "
			"threads='1')" } },
	{ DOM("<cpu><numa><cell id='0' cpus='0' memory='64'/></numa></cpu>"),
		{ T "/domain/cpu/numa: <numa> is not supported by nestvmm (docs/domain-xml.md lists "
			"what it honours)" } },
	/* features, clock, pm */
	{ DOM("<features><acpi/><kvm><hidden state='on'/></kvm><vmport state='on'/></features>"),
		{ T "/domain/features/vmport: nestvmm has no VMware I/O port (only state='off' is "
			"accepted)", T "/domain/features/kvm: <kvm> is not supported: nestvmm has no KVM "
			"tweaks (hidden, hint-dedicated, ...)" } },
	{ DOM("<clock offset='utc'><timer name='hpet' present='yes'/></clock>"),
		{ T "/domain/clock/timer: timer 'hpet' present='yes' is not supported (nestvmm's "
			"timers are KVM's PIT and local APIC timer and kvm-clock, without settings; no "
			"HPET, no RTC)" } },
	{ DOM("<pm><suspend-to-mem enabled='yes'/></pm>"),
		{ T "/domain/pm/suspend-to-mem: nestvmm has no ACPI sleep states (S3, S4): only "
			"enabled='no'" } },
	/* disks */
	{ DEV("<disk type='file' device='disk'><driver name='qemu' type='raw'/><source "
		"file='/a'/><target dev='vda'/></disk><disk type='file' device='disk'><driver "
		"name='qemu' type='vmdk'/><source file='/b'/><target dev='vdb'/></disk>"),
		{ T "/domain/devices/disk[2]/driver/@type: 'vmdk' is not supported (nestvmm serves "
			"raw and qcow2 images)" } },
	{ DEV("<disk type='network' device='cdrom'><driver cache='none' io='native'/><target "
		"dev='hdc' bus='ide'/></disk>"),
		{ T "/domain/devices/disk/@type: 'network' is not supported (nestvmm serves image "
			"files: type='file')", T "/domain/devices/disk/@device: 'cdrom' is not supported "
			"(nestvmm's disks are virtio-blk disks: device='disk')", T "/domain/devices/disk/"
			"driver/@cache: 'none' is not supported (nestvmm's virtio-blk caches writeback or "
			"unsafe)", T "/domain/devices/disk/target/@bus: 'ide' is not supported (nestvmm's "
			"disks are virtio-blk: bus='virtio')", T "/domain/devices/disk/target/@dev: 'hdc' "
			"is not a virtio disk name (vda, vdb, ...)", T "/domain/devices/disk: no <source "
			"file='...'/>: nestvmm's disks are image files", T "/domain/devices/disk/driver/@io: "
			NOT_HONOURED } },
	{ DEV("<disk><source file='/a'/></disk><disk><target dev='vda'/><source file='x'/>"
		"<address type='pci' slot='0x05'/></disk>"),
		{ T "/domain/devices/disk[1]: no <target dev='vdX' bus='virtio'/>",
			T "/domain/devices/disk[2]/source/@file: 'x' is not an absolute path (the daemon's "
			"working directory means nothing to a domain)", T "/domain/devices/disk[2]/address: "
			"<address> is not supported: nestvmm places devices itself, leave it out" } },
	{ DEV("<disk><source file='/a'/><target dev='vdb'/></disk><disk><source file='/b'/>"
		"<target dev='vdb'/><shareable/><backingStore type='file'/></disk>"),
		{ T "/domain/devices/disk[2]/shareable: a shared disk is not supported (nestvmm "
			"caches writes in the host's page cache)", T "/domain/devices/disk[2]/backingStore: "
			"a backing chain in the XML is not supported (a qcow2 image names its own backing "
			"file: an empty <backingStore/> only)", T "/domain/devices/disk[2]: target 'vdb' is already disk "
			"1's" } },
	/* interfaces */
	{ DEV("<interface type='network'><source network='default'/><model type='virtio'/>"
		"</interface>"),
		{ T "/domain/devices/interface/@type: 'network' is not supported (nestvmm has no "
			"libvirt networks: use type='bridge' with <source bridge='...'/>)" } },
	{ DEV("<interface type='ethernet'><mac address='52:54:00:zz:00:01'/><filterref "
		"filter='clean-traffic'/><driver queues='4'/></interface>"),
		{ T "/domain/devices/interface/mac/@address: '52:54:00:zz:00:01' is not a MAC "
			"address (xx:xx:xx:xx:xx:xx)", T "/domain/devices/interface/filterref/@filter: "
			"filter 'clean-traffic' is not supported (nestvmm implements only no-mac-spoofing)",
			T "/domain/devices/interface: no <model type='virtio'/>: nestvmm's NICs are "
			"virtio-net (libvirt would give the guest an emulated NIC here)",
			T "/domain/devices/interface/driver: <driver> is not supported: nestvmm's device "
			"drivers have no settings (queues, vhost, iommu, ...)" } },
	{ DEV("<interface type='bridge'><target dev='mytap' managed='yes'/><model "
		"type='e1000'/><link state='down'/></interface>"),
		{ T "/domain/devices/interface/target/@managed: 'yes' is not supported (nestvmm opens "
			"an existing tap by name: managed='no')", T "/domain/devices/interface/model/@type: "
			"'e1000' is not supported (nestvmm's NICs are modern virtio-net: type='virtio')",
			T "/domain/devices/interface/link/@state: 'down' is not supported (a nestvmm NIC's "
			"link is up)", T "/domain/devices/interface: no <source bridge='...'/>: a bridge "
			"interface needs one", T "/domain/devices/interface: a named tap on a bridge is not "
			"supported: nestvmm creates the bridge's tap itself (leave out <target dev>, or use "
			"a vnetN name)" } },
	{ DEV("<interface type='bridge'><source bridge='br0'/><target dev='mytap'/><model "
		"type='virtio'/></interface>"),
		{ T "/domain/devices/interface: a named tap on a bridge is not supported: nestvmm "
			"creates the bridge's tap itself (leave out <target dev>, or use a vnetN name)" } },
	/* serial, console */
	{ DEV("<serial type='tcp'><source mode='bind' service='4555'/></serial><serial "
		"type='pty'/>"),
		{ T "/domain/devices/serial[1]/@type: 'tcp' is not supported (nestvmm's console is a "
			"pty, a file, stdio or null)", T "/domain/devices/serial[2]: a second serial port "
			"is not supported (nestvmm has one: COM1, ttyS0)" } },
	{ DEV("<serial type='file'><source path='/log'/><target port='1'/></serial>"),
		{ T "/domain/devices/serial/source: nestvmm appends to the file, keeping what is "
			"there: say append='on'", T "/domain/devices/serial/target/@port: '1' is not "
			"supported (nestvmm has one serial port: port='0')" } },
	{ DEV("<serial type='pty'/><console type='file'><source path='/l' append='on'/></console>"),
		{ T "/domain/devices/console: its type differs from the serial port's (the console "
			"is serial port 0: give both the same)" } },
	{ DEV("<console type='pty'><target type='virtio'/></console>"),
		{ T "/domain/devices/console: nestvmm's virtio console shares the serial port's "
			"stream: add <serial type='pty'/>" } },
	{ DEV("<serial type='pty'><log file='/l'/></serial>"),
		{ T "/domain/devices/serial/log: <log> is not supported by nestvmm (docs/"
			"domain-xml.md lists what it honours)" } },
	/* the rest of the devices */
	{ DEV("<memballoon model='xen'/>"), { T "/domain/devices/memballoon/@model: 'xen' is not "
		"supported (nestvmm's balloon is modern virtio: model='virtio' or 'none')" } },
	{ DEV("<memballoon model='virtio'><stats period='10'/></memballoon>"),
		{ T "/domain/devices/memballoon/stats: <stats> is not supported by nestvmm "
			"(docs/domain-xml.md lists what it honours)" } },
	{ DEV("<rng model='virtio'><backend model='random'>/dev/hwrng</backend></rng><rng "
		"model='virtio'/>"),
		{ T "/domain/devices/rng[1]/backend: backend model 'random' /dev/hwrng is not "
			"supported (nestvmm's virtio-rng reads the host kernel's random source, getrandom: "
			"model='random' with /dev/urandom or /dev/random, or model='builtin')",
			T "/domain/devices/rng[2]: a second rng device is not supported (nestvmm has one "
			"virtio-rng)" } },
	{ DEV("<graphics type='vnc' port='-1'/><video><model type='cirrus'/></video>"),
		{ T "/domain/devices/video: nestvmm has no display device (only <video><model "
			"type='none'/></video>)", T "/domain/devices/graphics: <graphics> is not "
			"supported: nestvmm has no display; the guest's console is the serial port (virsh "
			"console)" } },
	{ DEV("<input type='tablet' bus='usb'/><controller type='scsi' model='virtio-scsi'/>"),
		{ T "/domain/devices/input: input type 'tablet' bus 'usb' is not supported (nestvmm "
			"has a PS/2 controller and nothing else: only ps2 mouse and keyboard, which do "
			"nothing)", T "/domain/devices/controller: controller type 'scsi' model "
			"virtio-scsi is not supported (nestvmm has one conventional PCI bus, pci-root, and "
			"no SCSI, PCIe or xenbus)" } },
	{ DEV("<panic model='hyperv'/><sound model='ich9'/>"),
		{ T "/domain/devices/panic/@model: 'hyperv' is not supported (nestvmm's panic device "
			"is pvpanic on I/O port 0x505: model='isa')", T "/domain/devices/sound: <sound> is "
			"not supported: nestvmm has no sound device" } },
	/* everything else */
	{ "<domain type='kvm' xmlns:qemu='http://libvirt.org/schemas/domain/qemu/1.0'><name>t"
		"</name><memory>65536</memory>" DOM_OS "<qemu:commandline><qemu:arg value='-s'/>"
		"</qemu:commandline></domain>",
		{ T "/domain/qemu:commandline: <qemu:commandline> is not supported: QEMU command-line "
			"passthrough means nothing to nestvmm" } },
	{ DOM("<seclabel type='dynamic' model='apparmor'/><metadata/>stray"),
		{ T "/domain/seclabel: security labels are not supported (nestvmm does not confine "
			"guests with SELinux, AppArmor or DAC labels: only type='none')",
			T "/domain/metadata: <metadata> is not supported: nestvmm does not keep "
			"application metadata", T "/domain: unexpected text 'stray'" } },
};

static void test_refusals(void **state)
{
	unsigned bad = 0;

	for (size_t i = 0; i < ARRAY_SIZE(refusals); i++) {
		const struct refusal *r = &refusals[i];
		size_t n = 0;
		struct vm_config c;
		struct diag d;

		while (n < ARRAY_SIZE(r->want) && r->want[n])
			n++;
		if (define(&c, r->xml, &d) != -EINVAL) {
			print_diag(&d);
			fail_msg("refusal %zu is accepted:\n%s", i, r->xml);
		}
		bool same = d.n == n;
		for (size_t j = 0; same && j < n; j++)
			same = !strcmp(d.msgs[j], r->want[j]);
		if (!same) {
			print_message("refusal %zu, of:\n%s\n", i, r->xml);
			for (size_t j = 0; j < n; j++)
				print_message(" want: %s\n", r->want[j]);
			print_diag(&d);
			bad++;
		}
		diag_free(&d);
		vm_config_free(&c);
	}
	if (bad)
		fail_msg("%u of %zu refusals gave other messages", bad, ARRAY_SIZE(refusals));
}

/* More than nestvmm has room for: said once, at the first one too many. */
static void test_too_many(void **state)
{
	char xml[16384], *p = xml;
	struct vm_config c;
	struct diag d;

	p += sprintf(p, DOM_HEAD "<memory>65536</memory>" DOM_OS "<devices>");
	for (int i = 0; i < VM_MAX_DISKS + 2; i++)
		p += sprintf(p, "<disk><source file='/d%d'/><target dev='vd%c'/></disk>", i, 'a' + i);
	for (int i = 0; i < VM_MAX_NETS + 1; i++)
		p += sprintf(p, "<interface type='ethernet'><model type='virtio'/></interface>");
	sprintf(p, "</devices></domain>");
	assert_int_equal(define(&c, xml, &d), -EINVAL);
	static const char *const want[] = {
		T "/domain/devices/disk[17]: too many disks (at most 16)",
		T "/domain/devices/interface[9]: too many network interfaces (at most 8)",
	};
	expect_msgs(&d, want, 2);
	diag_free(&d);
	vm_config_free(&c);
}

static void test_parse_errors(void **state)
{
	static const struct {
		const char *xml, *want;
	} bad[] = {
		{ "", "t.xml:1:1: Document is empty" },
		{ "<domain type='kvm'>\n<name>t</nam>", "t.xml:2:14: Opening and ending tag mismatch: "
			"name line 2 and nam" },
		{ "<?xml version='1.0'?>\n<!DOCTYPE domain [<!ENTITY e 'x'>]>\n<domain/>",
			"t.xml:1:1: a DOCTYPE is not accepted in domain XML" },
		{ "<network><name>n</name></network>", "t.xml: /network: the document is not a "
			"<domain>" },
		{ "<x:domain xmlns:x='urn:x'/>", "t.xml: /domain: the document is not a <domain>" },
	};
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		struct vm_config c;
		struct diag d;

		assert_int_equal(define(&c, bad[i].xml, &d), -EINVAL);
		expect_msgs(&d, &bad[i].want, 1);
		diag_free(&d);
		vm_config_free(&c);
	}
	/* without a name: libvirt's "(domain_definition)" for positions, XPaths alone */
	struct vm_config c;
	struct diag d;
	diag_init(&d);
	assert_int_equal(vm_config_from_domain_xml(&c, "<a>", 3, NULL, &d), -EINVAL);
	assert_int_equal(d.n, 1);
	assert_non_null(strstr(d.msgs[0], "(domain_definition):1:4: "));
	diag_free(&d);
	vm_config_free(&c);
	diag_init(&d);
	const char *x = DOM("<vcpu>0</vcpu>");
	assert_int_equal(vm_config_from_domain_xml(&c, x, strlen(x), NULL, &d), -EINVAL);
	assert_int_equal(d.n, 1);
	assert_string_equal(d.msgs[0], "/domain/vcpu: must be between 1 and 255 (got 0)");
	diag_free(&d);
	vm_config_free(&c);
}

/* ---- the shared rules: one phrase from TOML, the validator (flags) and XML ---- */

static void bad_name(struct vm_config *c) { c->name = strdup("a b"); }
static void bad_cpus(struct vm_config *c) { c->cpus = 256; }
static void bad_memory(struct vm_config *c) { c->memory = 8 * MiB; }
static void bad_align(struct vm_config *c) { c->memory = 16781313; }
static void bad_uuid(struct vm_config *c) { c->has_uuid = true; }
static void bad_title(struct vm_config *c) { c->title = strdup("a\nb"); }
static void bad_current(struct vm_config *c) { c->current_memory = GiB; }
static void bad_current_balloon(struct vm_config *c) { c->current_memory = 256 * MiB; }
static void one_net(struct vm_config *c) { c->nnets = 1; }
static void bad_tap(struct vm_config *c) { one_net(c); c->nets[0].tap = strdup("a/b"); }
static void bad_bridge(struct vm_config *c) { one_net(c); c->nets[0].bridge = strdup("br:0"); }
static void bad_mac(struct vm_config *c)
{
	one_net(c);
	c->nets[0].has_mac = true;
	c->nets[0].mac[0] = 1;
}
static void zero_mac(struct vm_config *c) { one_net(c); c->nets[0].has_mac = true; }
static void one_disk(struct vm_config *c) { c->ndisks = 1; c->disks[0].path = strdup("/d"); }
static void long_serial(struct vm_config *c)
{
	one_disk(c);
	c->disks[0].serial = strdup("123456789012345678901");
}
static void tab_serial(struct vm_config *c) { one_disk(c); c->disks[0].serial = strdup("a\tb"); }
static void bad_alias(struct vm_config *c) { one_disk(c); c->disks[0].alias = strdup("ua-a b"); }

#define NIC(x) "<devices><interface type='ethernet'>" x "<model type='virtio'/></interface></devices>"
#define DISK(x) "<devices><disk type='file' device='disk'><source file='/d'/><target dev='vda'/>" x \
	"</disk></devices>"

static const struct shared_rule {
	const char *toml, *key;     /* the TOML (top-level keys first), its key in messages */
	void (*set)(struct vm_config *c); /* the value as the command line would set it */
	const char *xml, *xpath;    /* the domain XML (after <name>, or with its own) */
	const char *why;
} rules[] = {
	{ "name = \"a b\"", "name", bad_name, "<name>a b</name><memory>65536</memory>",
		"/domain/name", "may only use A-Z a-z 0-9 . _ - (found ' ')" },
	{ "cpus = 256", "cpus", bad_cpus, "<vcpu>256</vcpu>", "/domain/vcpu",
		"must be between 1 and 255 (got 256)" },
	{ "memory = \"8M\"", "memory", bad_memory, "<memory unit='MiB'>8</memory>", "/domain/memory",
		"must be at least 16 MiB (got 8 MiB)" },
	{ "memory = \"16781313B\"", "memory", bad_align, "<memory unit='b'>16781313</memory>",
		"/domain/memory", "must be a multiple of 4 KiB (got 16781313 bytes)" },
	{ "uuid = \"00000000-0000-0000-0000-000000000000\"", "uuid", bad_uuid,
		"<uuid>00000000-0000-0000-0000-000000000000</uuid>", "/domain/uuid",
		"the nil UUID 00000000-0000-0000-0000-000000000000 cannot identify a VM" },
	{ "title = \"a\\nb\"", "title", bad_title, "<title>a&#10;b</title>", "/domain/title",
		"must be one line (found a newline)" },
	{ "memory = 512\ncurrent_memory = \"1G\"", "current_memory", bad_current,
		"<memory unit='MiB'>512</memory><currentMemory unit='GiB'>1</currentMemory>",
		"/domain/currentMemory", "1 GiB is more than memory (512 MiB)" },
	{ "current_memory = 256\n[balloon]\nenabled = false", "current_memory", bad_current_balloon,
		"<memory unit='MiB'>512</memory><currentMemory unit='MiB'>256</currentMemory>"
		"<devices><memballoon model='none'/></devices>", "/domain/currentMemory",
		"256 MiB is below memory (512 MiB), which needs a balloon device to hold the "
		"difference" },
	{ "[[net]]\ntap = \"a/b\"", "net[0].tap", bad_tap, NIC("<target dev='a/b'/>"),
		"/domain/devices/interface/target/@dev",
		"\"a/b\" is not an interface name (1 to 15 characters, no '/', ':' or spaces)" },
	{ "[[net]]\nbridge = \"br:0\"", "net[0].bridge", bad_bridge, "<devices><interface "
		"type='bridge'><source bridge='br:0'/><model type='virtio'/></interface></devices>",
		"/domain/devices/interface/source/@bridge",
		"\"br:0\" is not an interface name (1 to 15 characters, no '/', ':' or spaces)" },
	{ "[[net]]\nmac = \"01:00:00:00:00:00\"", "net[0].mac", bad_mac,
		NIC("<mac address='01:00:00:00:00:00'/>"), "/domain/devices/interface/mac/@address",
		"01:00:00:00:00:00 is a multicast address; the first byte must be even (e.g. "
		"52:54:00:...)" },
	{ "[[net]]\nmac = \"00:00:00:00:00:00\"", "net[0].mac", zero_mac,
		NIC("<mac address='00:00:00:00:00:00'/>"), "/domain/devices/interface/mac/@address",
		"the all-zero MAC address cannot be used" },
	{ "[[disk]]\npath = \"/d\"\nserial = \"123456789012345678901\"", "disk[0].serial",
		long_serial, DISK("<serial>123456789012345678901</serial>"),
		"/domain/devices/disk/serial", "serial \"123456789012345678901\" is longer than 20 "
		"characters" },
	{ "[[disk]]\npath = \"/d\"\nserial = \"a\\tb\"", "disk[0].serial", tab_serial,
		DISK("<serial>a&#9;b</serial>"), "/domain/devices/disk/serial",
		"serial must be printable ASCII" },
	{ "[[disk]]\npath = \"/d\"\nalias = \"ua-a b\"", "disk[0].alias", bad_alias,
		DISK("<alias name='ua-a b'/>"), "/domain/devices/disk/alias/@name",
		"\"ua-a b\" is not a user alias (\"ua-\" then letters, digits, '_' or '-', at most 64 "
		"characters)" },
};

static void test_shared_rules(void **state)
{
	for (size_t i = 0; i < ARRAY_SIZE(rules); i++) {
		const struct shared_rule *r = &rules[i];
		char src[1024], want[1024];
		struct vm_config c;
		struct diag d;
		const char *m;

		/* TOML: FILE:LINE:COL: KEY: WHY */
		snprintf(src, sizeof(src), "%s\n%s[boot]\nkernel = \"/k\"\n", r->toml,
			strstr(r->toml, "[") ? "\n" : "");
		vm_config_init(&c);
		diag_init(&d);
		assert_int_equal(vm_config_load_buffer(&c, "vm.toml", src, strlen(src), &d), -EINVAL);
		snprintf(want, sizeof(want), "%s: %s", r->key, r->why);
		m = d.n == 1 ? strchr(strchr(strchr(d.msgs[0], ':') + 1, ':') + 1, ':') : NULL;
		if (!m || strcmp(m + 2, want)) {
			print_diag(&d);
			fail_msg("rule %zu, TOML: want '...: %s'", i, want);
		}
		vm_config_free(&c);
		diag_free(&d);

		/* the validator, which the command line's flags go through: KEY: WHY */
		vm_config_init(&c);
		diag_init(&d);
		c.kernel = strdup("/k");
		r->set(&c);
		assert_int_equal(vm_config_validate(&c, &d), -EINVAL);
		if (d.n != 1 || strcmp(d.msgs[0], want)) {
			print_diag(&d);
			fail_msg("rule %zu, validator: want '%s'", i, want);
		}
		vm_config_free(&c);
		diag_free(&d);

		/* domain XML: NAME: XPATH: WHY */
		snprintf(src, sizeof(src), "<domain type='kvm'>%s%s%s" DOM_OS "</domain>",
			strstr(r->xml, "<name>") ? "" : "<name>t</name>", r->xml,
			strstr(r->xml, "<memory") ? "" : "<memory>65536</memory>");
		assert_int_equal(define(&c, src, &d), -EINVAL);
		snprintf(want, sizeof(want), "t.xml: %s: %s", r->xpath, r->why);
		if (d.n != 1 || strcmp(d.msgs[0], want)) {
			print_diag(&d);
			fail_msg("rule %zu, XML: want '%s'", i, want);
		}
		vm_config_free(&c);
		diag_free(&d);
	}
}


int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_refusals),
		cmocka_unit_test(test_too_many),
		cmocka_unit_test(test_parse_errors),
		cmocka_unit_test(test_shared_rules),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
