/* SPDX-License-Identifier: MIT */
/*
 * vm_config: one validated description of a VM. It is filled from a TOML
 * file (vm_config_load_file), from command-line flags (which override the
 * file), or from libvirt domain XML (include/config/domain_xml.h). The rest
 * of the VMM reads only this struct, never the TOML tree or the XML.
 * vm_config_to_toml writes it back as TOML that loads into an identical
 * struct.
 *
 * TOML schema (every key optional unless marked; unknown keys are errors):
 *
 *   name      = "demo"                 # [A-Za-z0-9._-]{1,64}
 *   cpus      = 2                      # 1..255
 *   memory    = "512M" | 512           # string with K/M/G/T[iB] suffix, or integer MiB;
 *                                      # >= 16 MiB, a multiple of 4 KiB
 *   nested    = "off" | "auto" | "on"
 *   on_reboot = "exit" | "restart"
 *   on_poweroff = "exit"               # guest power-off (ACPI S5) stops the VM; the only
 *                                      # action so far (libvirt's "destroy")
 *   on_crash  = "exit"                 # guest panic (pvpanic) stops the VM, vmm exits 3
 *                                      # (libvirt's "destroy"); the only action so far
 *   uuid      = "6f1f7a2e-0c1d-4e5f-8a9b-0c1d2e3f4a5b"  # canonical 8-4-4-4-12 hex, not all
 *                                      # zero; none: the VM has no UUID (domain XML always
 *                                      # has one: generated when empty)
 *   title       = "one line"           # free text, no control characters
 *   description = "free text"          # no control characters but tab, newline, CR
 *   current_memory = "256M" | 256      # the balloon target at start, same forms as memory;
 *                                      # <= memory, a multiple of 4 KiB, below memory only
 *                                      # with a balloon; 0 or absent: same as memory
 *
 *   [boot]
 *   kernel  = "path/to/bzImage"        # required (here or --kernel)
 *   initrd  = "path/to/initrd"
 *   cmdline = "console=ttyS0"
 *   acpi    = true                     # false: no ACPI tables, MP table only
 *   direct  = true                     # enter the decompressed vmlinux (cached); false: the
 *                                      # bzImage's own decompressor runs (keeps KASLR)
 *
 *   [console]
 *   mode = "stdio" | "pty" | "file" | "none"
 *   path = "path/to/log"               # required with mode = "file"
 *   virtio = false                     # true: also a virtio-console (hvc0), which gets
 *                                      # the console's input
 *
 *   [api]
 *   socket = "path/to/vmm.sock"
 *
 *   [[disk]]   path (required), readonly = false, cache = "writeback" | "unsafe",
 *              format = "raw" (the only one so far; never probed),
 *              serial = "..." (at most 20 printable ASCII characters),
 *              alias = "ua-..." (a libvirt user alias: "ua-" then [A-Za-z0-9_-], at most
 *              VM_ALIAS_MAX bytes, unique among devices); at most VM_MAX_DISKS
 *   [[net]]    tap = "name", mac = "52:54:00:12:34:56" (unicast, not all zero), bridge = "br0"
 *              (interface names: 1 to 15 characters, no '/', ':' or spaces),
 *              fd = N (a tap descriptor handed to vmm, as libvirt hands them; no tap or bridge then),
 *              mac_spoofing = false, alias = "ua-..."; at most VM_MAX_NETS
 *   [rng]      enabled = true
 *   [balloon]  enabled = true
 *
 * Tables may also be written inline (boot = { kernel = "..." }, disk = [ { path = "..." } ]).
 *
 * Relative paths (kernel, initrd, console path, api socket, disk path) are
 * resolved against the directory of the TOML file (vm_config_load_buffer: the
 * current directory) and stored absolute. The TOML reader is include/config/toml.h.
 */
#ifndef NV_VM_CONFIG_H
#define NV_VM_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util.h"

/* The limits, for every front end. */
#define VM_MAX_CPUS 255
#define VM_MIN_MEMORY (16ULL * 1024 * 1024)
#define VM_MAX_DISKS 16
#define VM_MAX_NETS 8
#define VM_NAME_MAX 64
#define VM_SERIAL_MAX 20  /* virtio-blk ID bytes */
#define VM_IFNAME_MAX 15  /* IFNAMSIZ - 1 */
#define VM_SOCKET_MAX 107 /* sizeof(sun_path) - 1 */
#define VM_ALIAS_MAX 64   /* bytes of a device alias, "ua-" included */
#define VM_UUID_LEN 16
#define VM_UUID_STR 37    /* "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx" and its NUL */

enum nested_mode { NESTED_OFF = 0, NESTED_AUTO, NESTED_ON };
enum on_reboot { ON_REBOOT_EXIT = 0, ON_REBOOT_RESTART };
/* What a guest power-off and a guest panic do: what the VMM honours today. */
enum on_poweroff { ON_POWEROFF_EXIT = 0 };
enum on_crash { ON_CRASH_EXIT = 0 };
enum console_mode { CONSOLE_STDIO = 0, CONSOLE_PTY, CONSOLE_FILE, CONSOLE_NONE };
enum disk_cache { DISK_CACHE_WRITEBACK = 0, DISK_CACHE_UNSAFE };
enum disk_format { DISK_FORMAT_RAW = 0, DISK_FORMAT_QCOW2 }; /* explicit: an image's format is never probed */

struct disk_config {
	char *path;
	bool readonly;
	enum disk_cache cache;
	enum disk_format format;
	char *serial;
	char *alias;     /* a libvirt user alias ("ua-..."), or NULL */
};

struct net_config {
	char *tap;       /* existing tap name, or NULL: vmm creates one */
	uint8_t mac[6];
	bool has_mac;    /* false: a MAC is generated */
	char *bridge;    /* attach a created tap to this bridge */
	int fd;          /* a tap descriptor handed to vmm (>= 3); 0: open or create one */
	bool mac_spoofing;
	char *alias;     /* a libvirt user alias ("ua-..."), or NULL */
};

struct vm_config {
	char *source;    /* the TOML file it came from, or NULL */
	char *name;
	unsigned cpus;   /* default 1 */
	uint64_t memory; /* bytes, default 512 MiB */
	enum nested_mode nested;
	enum on_reboot on_reboot;
	enum on_poweroff on_poweroff;
	enum on_crash on_crash;
	uint8_t uuid[VM_UUID_LEN];
	bool has_uuid;   /* false: no UUID given (TOML); domain XML always has one */
	char *title;     /* NULL: none */
	char *description;
	uint64_t current_memory; /* bytes: the balloon target at start; 0: same as memory */

	char *kernel;
	char *initrd;
	char *cmdline;   /* NULL: the default "console=ttyS0" */
	bool acpi;       /* default true */
	bool direct_boot; /* default true: enter the cached vmlinux, skipping the guest decompressor */

	enum console_mode console;
	char *console_path;
	bool virtio_console; /* the console's input goes to a virtio-console (hvc0) */

	char *api_socket;

	struct disk_config disks[VM_MAX_DISKS];
	size_t ndisks;
	struct net_config nets[VM_MAX_NETS];
	size_t nnets;
	bool rng;
	bool balloon;
};

/* Fills cfg with the defaults above. */
void vm_config_init(struct vm_config *cfg);
/* Frees every string; cfg may be NULL. */
void vm_config_free(struct vm_config *cfg);

/*
 * Reads a TOML file into cfg (which must be vm_config_init'ed). Every syntax
 * or schema error is appended to d as "FILE:LINE:COL: KEY.PATH: message".
 * Returns 0, or -EINVAL when d got errors, or -errno when the file cannot be read.
 */
int vm_config_load_file(struct vm_config *cfg, const char *path, struct diag *d);
/* Same from a buffer (name is used in messages only). */
int vm_config_load_buffer(struct vm_config *cfg, const char *name, const char *buf, size_t len,
	struct diag *d);

/*
 * Checks the whole config (kernel given, cpus/memory ranges, console path,
 * ...). Does not touch the host (files are checked to exist by the VMM
 * builder). Appends every problem to d; returns 0 or -EINVAL.
 */
int vm_config_validate(const struct vm_config *cfg, struct diag *d);

/*
 * Whether a and b describe the same VM: every field but source (strings by
 * content, disks and NICs in order). What vm_config_to_toml promises.
 */
bool vm_config_equal(const struct vm_config *a, const struct vm_config *b);

/* "52:54:00:12:34:56" -> mac; 0 or -EINVAL. */
int vm_config_parse_mac(const char *s, uint8_t mac[6]);
/* A random locally administered unicast MAC in QEMU's 52:54:00 range; 0 or -errno. */
int vm_config_random_mac(uint8_t mac[6]);
/* The canonical "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx" (hex, either case) -> uuid; 0 or -EINVAL. */
int vm_config_parse_uuid(const char *s, uint8_t uuid[VM_UUID_LEN]);
/* uuid -> lower-case canonical form in buf; returns buf. */
const char *vm_config_format_uuid(const uint8_t uuid[VM_UUID_LEN], char buf[VM_UUID_STR]);
/* A random (version 4, RFC 4122 variant) UUID from getrandom(); 0 or -errno. */
int vm_config_random_uuid(uint8_t uuid[VM_UUID_LEN]);

/*
 * Writes cfg as a TOML document (malloc'd, NUL-terminated, in *out) that
 * vm_config_load_buffer reads back into a config vm_config_equal to cfg,
 * for a config whose paths are absolute (as every loader stores them) and
 * which vm_config_validate accepts. Strings are escaped as TOML basic
 * strings. Returns 0, -EILSEQ when a string is not valid UTF-8 (TOML text
 * must be), or -ENOMEM.
 */
int vm_config_to_toml(const struct vm_config *cfg, char **out);

/* ---- the vocabulary (vm_rules.c): the words of each enum, for every front end ---- */

enum vm_words {
	VM_WORDS_NESTED,      /* off, auto, on */
	VM_WORDS_ON_REBOOT,   /* exit, restart */
	VM_WORDS_CONSOLE,     /* stdio, pty, file, none */
	VM_WORDS_DISK_CACHE,  /* writeback, unsafe */
	VM_WORDS_DISK_FORMAT, /* raw, qcow2 */
	VM_WORDS_SWITCH,      /* off, on (0, 1) */
	VM_WORDS_ON_POWEROFF, /* exit */
	VM_WORDS_ON_CRASH,    /* exit */
};

/* The enum value of word (its index), or -1. */
int vm_word_value(enum vm_words k, const char *word);
int vm_word_value_n(enum vm_words k, const char *word, size_t len);
/* The word of value, "unknown" when out of range. */
const char *vm_word(enum vm_words k, int value);
/* Every word, for messages: "off, auto, on" or, quoted, "\"off\", \"auto\", \"on\"". Returns buf. */
const char *vm_word_list(enum vm_words k, bool quoted, char *buf, size_t cap);
const char *nested_mode_name(enum nested_mode m);
const char *console_mode_name(enum console_mode m);

/*
 * ---- the rules (vm_rules.c) ----
 * One function per rule: true when v is fine, else false and why (a phrase
 * to follow "KEY: "). The loaders call them where they know a position;
 * vm_config_validate calls all of them.
 */
bool vm_check_name(const char *name, char *why, size_t cap);
bool vm_check_cpus(int64_t cpus, char *why, size_t cap);
bool vm_check_memory(uint64_t bytes, char *why, size_t cap);
bool vm_check_ifname(const char *s, char *why, size_t cap);
bool vm_check_serial(const char *s, char *why, size_t cap);
bool vm_check_mac(const uint8_t mac[6], char *why, size_t cap);
bool vm_check_socket_path(const char *s, char *why, size_t cap);
bool vm_check_tap_fd(int64_t fd, char *why, size_t cap);
/* Not the nil UUID. */
bool vm_check_uuid(const uint8_t uuid[VM_UUID_LEN], char *why, size_t cap);
/* One line: no control characters. */
bool vm_check_title(const char *s, char *why, size_t cap);
/* No control characters but tab, newline and carriage return. */
bool vm_check_description(const char *s, char *why, size_t cap);
/* current (0: same as memory) <= memory, 4 KiB multiple, below memory only with a balloon. */
bool vm_check_current_memory(uint64_t current, uint64_t memory, bool balloon, char *why,
	size_t cap);
/* A libvirt user alias: "ua-" then at least one of [A-Za-z0-9_-], at most VM_ALIAS_MAX bytes. */
bool vm_check_alias(const char *s, char *why, size_t cap);
/*
 * The nested rules of a VM whose guest sees VMX/SVM (nested = "on", or "auto"
 * where the host can nest): at least 2 vCPUs, no balloon, MAC spoofing on
 * every NIC. For front ends that cannot use the nested layer (virtvmmd) and
 * word the violations their own way: the VM_NESTED_* bits violated (0: none),
 * and in *bad_nets (may be NULL) a bit per NIC index without MAC spoofing.
 */
#define VM_NESTED_CPUS     (1u << 0)
#define VM_NESTED_BALLOON  (1u << 1)
#define VM_NESTED_SPOOFING (1u << 2)
unsigned vm_config_nested_rules(const struct vm_config *cfg, uint32_t *bad_nets);
/* "512 MiB", "4 KiB", "4097 bytes". */
void vm_size_str(uint64_t bytes, char *buf, size_t cap);

#endif
