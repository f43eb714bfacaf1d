/* SPDX-License-Identifier: MIT */
/*
 * A small AML encoder (ACPI 6.x, chapter 20 "ACPI Machine Language" and
 * 6.4 "Resource Data Types") writing into a caller's buffer.
 *
 * Errors are sticky: once a write does not fit (-ENOSPC) or an argument is
 * invalid (-EINVAL, e.g. a bad name), later calls do nothing and aml_error()
 * returns the first error. Blocks with a PkgLength (Scope, Device, Method,
 * Package, Buffer/ResourceTemplate) are opened with *_begin, which returns a
 * mark, and closed, innermost first, with the matching *_end(mark); the
 * PkgLength is inserted at close time with its minimal encoding.
 *
 * Example: Device(PEVT) { Name(_HID, "QEMU0001") Method(_STA) { Return(0x0F) } }
 *	size_t d = aml_device_begin(a, "PEVT");
 *	aml_name(a, "_HID"); aml_string(a, "QEMU0001");
 *	size_t m = aml_method_begin(a, "_STA", 0, false);
 *	aml_return(a); aml_integer(a, 0x0f);
 *	aml_method_end(a, m);
 *	aml_device_end(a, d);
 */
#ifndef NV_AML_H
#define NV_AML_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct aml {
	uint8_t *buf;
	size_t cap, len;
	int err;          /* 0 or the first -errno */
};

void aml_init(struct aml *a, uint8_t *buf, size_t cap);
/* 0 or the first error (-ENOSPC, -EINVAL). */
int aml_error(const struct aml *a);

/* Raw bytes (for opcodes this encoder has no helper for). */
void aml_byte(struct aml *a, uint8_t b);
void aml_bytes(struct aml *a, const void *p, size_t n);

/*
 * NameString: "_S5_", "PCI0", "\\_SB_.PCI0", "^PEVT"; segments shorter than
 * four characters are padded with '_' ("_SB" -> "_SB_"). Lower case and
 * other characters are refused (-EINVAL). "" is the NullName.
 */
void aml_name_string(struct aml *a, const char *path);

/* Data objects. Integers use the shortest encoding (ZeroOp, OneOp, Byte..QWord prefix). */
void aml_integer(struct aml *a, uint64_t v);
void aml_string(struct aml *a, const char *s);
/* EISAID("PNP0A03") as its 32-bit integer; a malformed id sets -EINVAL. */
void aml_eisaid(struct aml *a, const char *id);
/* Computes the compressed EISA id value; -EINVAL if id is not "AAA####" (hex digits). */
int aml_eisaid_value(const char *id, uint32_t *out);

/* Name(name, <next object written>) */
void aml_name(struct aml *a, const char *name);
/* Notify(object, value) */
void aml_notify(struct aml *a, const char *object, uint64_t value);
/* Return(<next object written>) */
void aml_return(struct aml *a);

/* Package(){...}: nelems elements follow, then aml_package_end. */
size_t aml_package_begin(struct aml *a, uint8_t nelems);
void aml_package_end(struct aml *a, size_t mark);

size_t aml_scope_begin(struct aml *a, const char *name);
void aml_scope_end(struct aml *a, size_t mark);
size_t aml_device_begin(struct aml *a, const char *name);
void aml_device_end(struct aml *a, size_t mark);
/* Method(name, nargs (0..7), Serialized/NotSerialized) */
size_t aml_method_begin(struct aml *a, const char *name, unsigned nargs, bool serialized);
void aml_method_end(struct aml *a, size_t mark);

/* Buffer(){raw bytes}: write the bytes with aml_bytes, then aml_buffer_end. */
size_t aml_buffer_begin(struct aml *a);
void aml_buffer_end(struct aml *a, size_t mark);

/*
 * ResourceTemplate(){...}: a Buffer holding resource descriptors; _end
 * appends the EndTag with a checksum making the descriptors sum to zero.
 */
size_t aml_restemplate_begin(struct aml *a);
void aml_restemplate_end(struct aml *a, size_t mark);

/* Resource descriptors (only between aml_restemplate_begin/_end). */
/* IO(Decode16 or Decode10, min, max, alignment, length) */
void aml_res_io(struct aml *a, bool decode16, uint16_t min, uint16_t max, uint8_t align, uint8_t len);
/* Memory32Fixed(ReadWrite or ReadOnly, base, length) */
void aml_res_memory32_fixed(struct aml *a, bool rw, uint32_t base, uint32_t len);

/* Address space descriptors (Word/DWord/QWord). */
#define AML_ADDR_MEMORY  0
#define AML_ADDR_IO      1
#define AML_ADDR_BUS     2
/* General flags */
#define AML_GF_CONSUMER  (1u << 0)   /* clear: ResourceProducer */
#define AML_GF_SUBDECODE (1u << 1)   /* clear: PosDecode */
#define AML_GF_MIN_FIXED (1u << 2)
#define AML_GF_MAX_FIXED (1u << 3)
/* Type-specific flags, memory */
#define AML_MEM_RW             (1u << 0)
#define AML_MEM_NONCACHEABLE   (0u << 1)
#define AML_MEM_CACHEABLE      (1u << 1)
#define AML_MEM_WRITECOMBINING (2u << 1)
#define AML_MEM_PREFETCHABLE   (3u << 1)
/* Type-specific flags, I/O */
#define AML_IO_ENTIRE_RANGE    3u

struct aml_addr_space {
	uint8_t type;          /* AML_ADDR_* */
	uint8_t gflags;        /* AML_GF_* */
	uint8_t tflags;        /* AML_MEM_* / AML_IO_* / 0 for bus numbers */
	uint64_t granularity, min, max, translation, length;
};
/* bits: 16 (WordSpace), 32 (DWordSpace) or 64 (QWordSpace); a value that does not fit: -EINVAL. */
void aml_res_addr_space(struct aml *a, unsigned bits, const struct aml_addr_space *s);
/* WordBusNumber(ResourceProducer, MinFixed, MaxFixed, PosDecode, 0, min, max, 0, max - min + 1) */
void aml_res_word_bus_number(struct aml *a, uint16_t min, uint16_t max);
/* WordIO(ResourceProducer, MinFixed, MaxFixed, PosDecode, EntireRange, 0, min, max, 0, len) */
void aml_res_word_io(struct aml *a, uint16_t min, uint16_t max);
/* DWordMemory(ResourceProducer, PosDecode, MinFixed, MaxFixed, Cacheable|Prefetchable|NonCacheable, ReadWrite, ...) */
void aml_res_dword_memory(struct aml *a, uint8_t cache, uint32_t min, uint32_t max);
void aml_res_qword_memory(struct aml *a, uint8_t cache, uint64_t min, uint64_t max);

/* Interrupt(ResourceConsumer, Level/Edge, ActiveLow/High, Shared/Exclusive) {irqs} (1..255 of them) */
void aml_res_interrupt(struct aml *a, bool level, bool active_low, bool shared,
		       const uint32_t *irqs, unsigned n);

#endif
