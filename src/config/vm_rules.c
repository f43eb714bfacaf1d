// SPDX-License-Identifier: MIT
/*
 * The vocabulary and the rules of vm_config, shared by every front end (the
 * TOML loader, the command line, domain XML, lab files): the words of each
 * enum, and one check function per rule. The loaders call a rule where they
 * know a position; vm_config_validate calls every rule on the merged
 * result, so that no front end can let a value through that another
 * refuses, and every front end gives the same message.
 */
#include <stdio.h>
#include <string.h>

#include "vm_config.h"

static const char *const nested_words[] = { [NESTED_OFF] = "off", [NESTED_AUTO] = "auto",
	[NESTED_ON] = "on" };
static const char *const on_reboot_words[] = { [ON_REBOOT_EXIT] = "exit",
	[ON_REBOOT_RESTART] = "restart" };
static const char *const console_words[] = { [CONSOLE_STDIO] = "stdio", [CONSOLE_PTY] = "pty",
	[CONSOLE_FILE] = "file", [CONSOLE_NONE] = "none" };
static const char *const cache_words[] = { [DISK_CACHE_WRITEBACK] = "writeback",
	[DISK_CACHE_UNSAFE] = "unsafe" };
static const char *const format_words[] = { [DISK_FORMAT_RAW] = "raw",
	[DISK_FORMAT_QCOW2] = "qcow2" };
static const char *const switch_words[] = { "off", "on" };
static const char *const on_poweroff_words[] = { [ON_POWEROFF_EXIT] = "exit" };
static const char *const on_crash_words[] = { [ON_CRASH_EXIT] = "exit" };

static const struct {
	const char *const *w;
	size_t n;
} words[] = {
	[VM_WORDS_NESTED] = { nested_words, ARRAY_SIZE(nested_words) },
	[VM_WORDS_ON_REBOOT] = { on_reboot_words, ARRAY_SIZE(on_reboot_words) },
	[VM_WORDS_CONSOLE] = { console_words, ARRAY_SIZE(console_words) },
	[VM_WORDS_DISK_CACHE] = { cache_words, ARRAY_SIZE(cache_words) },
	[VM_WORDS_DISK_FORMAT] = { format_words, ARRAY_SIZE(format_words) },
	[VM_WORDS_SWITCH] = { switch_words, ARRAY_SIZE(switch_words) },
	[VM_WORDS_ON_POWEROFF] = { on_poweroff_words, ARRAY_SIZE(on_poweroff_words) },
	[VM_WORDS_ON_CRASH] = { on_crash_words, ARRAY_SIZE(on_crash_words) },
};

int vm_word_value(enum vm_words k, const char *word)
{
	if ((unsigned)k >= ARRAY_SIZE(words) || !word)
		return -1;
	for (size_t i = 0; i < words[k].n; i++)
		if (!strcmp(words[k].w[i], word))
			return (int)i;
	return -1;
}

int vm_word_value_n(enum vm_words k, const char *word, size_t len)
{
	if ((unsigned)k >= ARRAY_SIZE(words) || !word)
		return -1;
	for (size_t i = 0; i < words[k].n; i++)
		if (strlen(words[k].w[i]) == len && !memcmp(words[k].w[i], word, len))
			return (int)i;
	return -1;
}

const char *vm_word(enum vm_words k, int value)
{
	if ((unsigned)k >= ARRAY_SIZE(words) || value < 0 || (size_t)value >= words[k].n)
		return "unknown";
	return words[k].w[value];
}

const char *vm_word_list(enum vm_words k, bool quoted, char *buf, size_t cap)
{
	size_t have = 0;
	buf[0] = 0;
	for (size_t i = 0; (unsigned)k < ARRAY_SIZE(words) && i < words[k].n && have < cap; i++) {
		int n = snprintf(buf + have, cap - have, quoted ? "%s\"%s\"" : "%s%s", i ? ", " : "",
			words[k].w[i]);
		if (n < 0)
			break;
		have += (size_t)n;
	}
	return buf;
}

const char *nested_mode_name(enum nested_mode m)
{
	return vm_word(VM_WORDS_NESTED, (int)m);
}

const char *console_mode_name(enum console_mode m)
{
	return vm_word(VM_WORDS_CONSOLE, (int)m);
}

/* ---- the rules ---- */

void vm_size_str(uint64_t bytes, char *buf, size_t cap)
{
	static const char *const units[] = { "bytes", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB" };
	size_t u = 0;

	while (u + 1 < ARRAY_SIZE(units) && bytes && bytes % 1024 == 0) {
		bytes /= 1024;
		u++;
	}
	snprintf(buf, cap, "%llu %s", (unsigned long long)bytes, units[u]);
}

bool vm_check_name(const char *name, char *why, size_t cap)
{
	size_t n = strlen(name);

	for (size_t i = 0; i < n; i++) {
		char c = name[i];
		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
				c == '.' || c == '_' || c == '-')) {
			snprintf(why, cap, "may only use A-Z a-z 0-9 . _ - (found '%s%c')",
				(unsigned char)c < 0x20 || (unsigned char)c >= 0x7F ? "\\x" : "",
				(unsigned char)c < 0x20 || (unsigned char)c >= 0x7F ? '?' : c);
			return false;
		}
	}
	if (n == 0 || n > VM_NAME_MAX) {
		snprintf(why, cap, "must be 1 to %d characters long (got %zu)", VM_NAME_MAX, n);
		return false;
	}
	return true;
}

bool vm_check_cpus(int64_t cpus, char *why, size_t cap)
{
	if (cpus >= 1 && cpus <= VM_MAX_CPUS)
		return true;
	snprintf(why, cap, "must be between 1 and %d (got %lld)", VM_MAX_CPUS, (long long)cpus);
	return false;
}

bool vm_check_memory(uint64_t bytes, char *why, size_t cap)
{
	char got[48];

	vm_size_str(bytes, got, sizeof(got));
	if (bytes < VM_MIN_MEMORY) {
		snprintf(why, cap, "must be at least %llu MiB (got %s)",
			(unsigned long long)(VM_MIN_MEMORY / MiB), got);
		return false;
	}
	if (bytes % (4 * KiB)) {
		snprintf(why, cap, "must be a multiple of 4 KiB (got %s)", got);
		return false;
	}
	return true;
}

bool vm_check_ifname(const char *s, char *why, size_t cap)
{
	bool bad = !s[0] || strlen(s) > VM_IFNAME_MAX || !strcmp(s, ".") || !strcmp(s, "..");
	for (const char *p = s; !bad && *p; p++)
		bad = *p == '/' || *p == ':' || (unsigned char)*p <= ' ' || (unsigned char)*p >= 0x7f;
	if (!bad)
		return true;
	snprintf(why, cap, "\"%.64s\" is not an interface name (1 to %d characters, no '/', ':' "
		"or spaces)", s, VM_IFNAME_MAX);
	return false;
}

bool vm_check_serial(const char *s, char *why, size_t cap)
{
	for (const char *p = s; *p; p++) {
		if (*p < 0x20 || *p > 0x7E) {
			snprintf(why, cap, "serial must be printable ASCII");
			return false;
		}
	}
	if (strlen(s) > VM_SERIAL_MAX) {
		snprintf(why, cap, "serial \"%s\" is longer than %d characters", s, VM_SERIAL_MAX);
		return false;
	}
	return true;
}

bool vm_check_mac(const uint8_t mac[6], char *why, size_t cap)
{
	if (mac[0] & 1) {
		snprintf(why, cap, "%02x:%02x:%02x:%02x:%02x:%02x is a multicast address; the first "
			"byte must be even (e.g. 52:54:00:...)", mac[0], mac[1], mac[2], mac[3], mac[4],
			mac[5]);
		return false;
	}
	if (!(mac[0] | mac[1] | mac[2] | mac[3] | mac[4] | mac[5])) {
		snprintf(why, cap, "the all-zero MAC address cannot be used");
		return false;
	}
	return true;
}

bool vm_check_tap_fd(int64_t fd, char *why, size_t cap)
{
	if (fd >= 3 && fd <= 65535)
		return true;
	snprintf(why, cap, "fd %lld is not a descriptor vmm can be handed (3 to 65535; 0-2 are "
		"stdin, stdout, stderr)", (long long)fd);
	return false;
}

bool vm_check_socket_path(const char *s, char *why, size_t cap)
{
	if (strlen(s) <= VM_SOCKET_MAX)
		return true;
	snprintf(why, cap, "socket path \"%s\" is longer than %d bytes, the limit for unix sockets",
		s, VM_SOCKET_MAX);
	return false;
}

bool vm_check_uuid(const uint8_t uuid[VM_UUID_LEN], char *why, size_t cap)
{
	for (size_t i = 0; i < VM_UUID_LEN; i++)
		if (uuid[i])
			return true;
	snprintf(why, cap, "the nil UUID 00000000-0000-0000-0000-000000000000 cannot identify a VM");
	return false;
}

/* The first control character of s that allow does not list, or NULL. */
static const char *control_char(const char *s, const char *allow)
{
	for (const char *p = s; *p; p++)
		if (((unsigned char)*p < 0x20 || *p == 0x7f) && !strchr(allow, *p))
			return p;
	return NULL;
}

bool vm_check_title(const char *s, char *why, size_t cap)
{
	const char *p = control_char(s, "");

	if (!p)
		return true;
	if (*p == '\n')
		snprintf(why, cap, "must be one line (found a newline)");
	else
		snprintf(why, cap, "must not contain control characters (found U+%04X)",
			(unsigned)(unsigned char)*p);
	return false;
}

bool vm_check_description(const char *s, char *why, size_t cap)
{
	const char *p = control_char(s, "\t\n\r");

	if (!p)
		return true;
	snprintf(why, cap, "must not contain control characters other than tab, newline and "
		"carriage return (found U+%04X)", (unsigned)(unsigned char)*p);
	return false;
}

bool vm_check_current_memory(uint64_t current, uint64_t memory, bool balloon, char *why,
	size_t cap)
{
	char got[48], mem[48];

	if (!current)
		return true;
	vm_size_str(current, got, sizeof(got));
	vm_size_str(memory, mem, sizeof(mem));
	if (current % (4 * KiB)) {
		snprintf(why, cap, "must be a multiple of 4 KiB (got %s)", got);
		return false;
	}
	if (current > memory) {
		snprintf(why, cap, "%s is more than memory (%s)", got, mem);
		return false;
	}
	if (current < memory && !balloon) {
		snprintf(why, cap, "%s is below memory (%s), which needs a balloon device to hold "
			"the difference", got, mem);
		return false;
	}
	return true;
}

bool vm_check_alias(const char *s, char *why, size_t cap)
{
	size_t n = strlen(s);
	bool bad = n <= 3 || n > VM_ALIAS_MAX || strncmp(s, "ua-", 3);

	for (const char *p = s; !bad && *p; p++)
		bad = !((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') ||
			(*p >= '0' && *p <= '9') || *p == '_' || *p == '-');
	if (!bad)
		return true;
	snprintf(why, cap, "\"%.64s\" is not a user alias (\"ua-\" then letters, digits, '_' or "
		"'-', at most %d characters)", s, VM_ALIAS_MAX);
	return false;
}

unsigned vm_config_nested_rules(const struct vm_config *cfg, uint32_t *bad_nets)
{
	unsigned bad = 0;
	uint32_t nets = 0;

	if (cfg->cpus < 2)
		bad |= VM_NESTED_CPUS;
	if (cfg->balloon)
		bad |= VM_NESTED_BALLOON;
	for (size_t i = 0; i < cfg->nnets && i < VM_MAX_NETS; i++)
		if (!cfg->nets[i].mac_spoofing)
			nets |= 1u << i;
	if (nets)
		bad |= VM_NESTED_SPOOFING;
	if (bad_nets)
		*bad_nets = nets;
	return bad;
}
