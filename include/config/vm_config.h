/* SPDX-License-Identifier: MIT */
/*
 * vm_config: one validated description of a VM. It is filled from a TOML
 * file (vm_config_load_file), from command-line flags (which override the
 * file), and later from libvirt domain XML. The rest of the VMM reads only
 * this struct, never the TOML tree.
 *
 * TOML schema (every key optional unless marked; unknown keys are errors):
 *
 *   name      = "demo"                 # [A-Za-z0-9._-]{1,64}
 *   cpus      = 2                      # 1..255
 *   memory    = "512M" | 512           # string with K/M/G/T[iB] suffix, or integer MiB;
 *                                      # >= 16 MiB, a multiple of 4 KiB
 *   nested    = "off" | "auto" | "on"
 *   on_reboot = "exit" | "restart"
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
 *              serial = "..." (at most 20 printable ASCII characters); at most VM_MAX_DISKS
 *   [[net]]    tap = "name", mac = "52:54:00:12:34:56" (unicast), bridge = "br0",
 *              mac_spoofing = false; at most VM_MAX_NETS
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

#define VM_MAX_CPUS 255
#define VM_MIN_MEMORY (16ULL * 1024 * 1024)
#define VM_MAX_DISKS 16
#define VM_MAX_NETS 8

enum nested_mode { NESTED_OFF = 0, NESTED_AUTO, NESTED_ON };
enum on_reboot { ON_REBOOT_EXIT = 0, ON_REBOOT_RESTART };
enum console_mode { CONSOLE_STDIO = 0, CONSOLE_PTY, CONSOLE_FILE, CONSOLE_NONE };
enum disk_cache { DISK_CACHE_WRITEBACK = 0, DISK_CACHE_UNSAFE };

struct disk_config {
	char *path;
	bool readonly;
	enum disk_cache cache;
	char *serial;
};

struct net_config {
	char *tap;       /* existing tap name, or NULL: vmm creates one */
	uint8_t mac[6];
	bool has_mac;    /* false: a MAC is generated */
	char *bridge;    /* attach a created tap to this bridge */
	bool mac_spoofing;
};

struct vm_config {
	char *source;    /* the TOML file it came from, or NULL */
	char *name;
	unsigned cpus;   /* default 1 */
	uint64_t memory; /* bytes, default 512 MiB */
	enum nested_mode nested;
	enum on_reboot on_reboot;

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

/* "52:54:00:12:34:56" -> mac; 0 or -EINVAL. */
int vm_config_parse_mac(const char *s, uint8_t mac[6]);

const char *nested_mode_name(enum nested_mode m);
const char *console_mode_name(enum console_mode m);

#endif
