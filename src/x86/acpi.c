// SPDX-License-Identifier: MIT
/*
 * ACPI tables for a hardware-reduced x86 guest (ACPI 6.x, chapter 5):
 * RSDP -> XSDT -> { FADT -> DSDT, MADT }.
 */
#include <errno.h>
#include <string.h>

#include "util.h"
#include "acpi.h"
#include "aml.h"

#define OEM_ID        "NESTVM"
#define OEM_REVISION  1
#define CREATOR_ID    "NVMM"
#define CREATOR_REV   1

#define RSDP_LEN      36
#define SDT_HDR_LEN   36
#define FADT_LEN      276
#define MADT_HDR_LEN  44

/* FADT field offsets (ACPI 6.x table 5.9) */
#define FADT_DSDT             40
#define FADT_IAPC_BOOT_ARCH   109
#define FADT_FLAGS            112
#define FADT_MINOR_VERSION    131
#define FADT_X_DSDT           140
#define FADT_SLEEP_CONTROL    244
#define FADT_SLEEP_STATUS     256

#define IAPC_VGA_NOT_PRESENT  (1u << 2)
#define IAPC_CMOS_RTC_NOT_PRESENT (1u << 5)
#define FADT_HW_REDUCED_ACPI  (1u << 20)

#define MADT_PCAT_COMPAT      1u
#define MADT_LOCAL_APIC       0
#define MADT_IO_APIC          1
#define MADT_INT_OVERRIDE     2
#define MADT_LOCAL_APIC_NMI   4

#define GAS_SYSTEM_IO         1
#define GAS_ACCESS_BYTE       1

void acpi_sdt_checksum(uint8_t *table, size_t len)
{
	table[9] = 0;
	table[9] = checksum8(table, len);
}

static size_t align16(size_t v)
{
	return (v + 15) & ~(size_t)15;
}

/* The 36-byte System Description Table header (5.2.6); the checksum is set later. */
static void sdt_header(uint8_t *p, const char sig[4], uint32_t len, uint8_t rev)
{
	memcpy(p, sig, 4);
	le_put(p + 4, len, 4);
	p[8] = rev;
	p[9] = 0;
	memcpy(p + 10, OEM_ID, 6);
	memcpy(p + 16, "NVMM", 4);      /* OEM table id: "NVMM" + signature */
	memcpy(p + 20, sig, 4);
	le_put(p + 24, OEM_REVISION, 4);
	memcpy(p + 28, CREATOR_ID, 4);
	le_put(p + 32, CREATOR_REV, 4);
}

/* Generic Address Structure (5.2.3.2): an 8-bit register in I/O space. */
static void gas_io8(uint8_t *p, uint16_t port)
{
	p[0] = GAS_SYSTEM_IO;
	p[1] = 8;                       /* register bit width */
	p[2] = 0;                       /* bit offset */
	p[3] = GAS_ACCESS_BYTE;
	le_put(p + 4, port, 8);
}

static void build_rsdp(uint8_t *p, uint64_t xsdt_gpa)
{
	memset(p, 0, RSDP_LEN);
	memcpy(p, "RSD PTR ", 8);
	memcpy(p + 9, OEM_ID, 6);
	p[15] = 2;                      /* revision: ACPI 2.0+ */
	le_put(p + 16, 0, 4);           /* no RSDT */
	le_put(p + 20, RSDP_LEN, 4);
	le_put(p + 24, xsdt_gpa, 8);
	p[8] = checksum8(p, 20);
	p[32] = checksum8(p, RSDP_LEN);
}

static void build_fadt(uint8_t *p, const struct acpi_config *c, uint64_t dsdt_gpa)
{
	memset(p, 0, FADT_LEN);
	sdt_header(p, "FACP", FADT_LEN, 6);
	/* No FACS, no SCI, no PM1/GPE blocks: all of that is absent in HW-reduced mode. */
	if (dsdt_gpa <= UINT32_MAX)
		le_put(p + FADT_DSDT, dsdt_gpa, 4);
	le_put(p + FADT_IAPC_BOOT_ARCH, IAPC_VGA_NOT_PRESENT | IAPC_CMOS_RTC_NOT_PRESENT, 2);
	le_put(p + FADT_FLAGS, FADT_HW_REDUCED_ACPI, 4);
	p[FADT_MINOR_VERSION] = 0;      /* ACPI 6.0 FADT layout */
	le_put(p + FADT_X_DSDT, dsdt_gpa, 8);
	gas_io8(p + FADT_SLEEP_CONTROL, c->sleep_ctl_port);
	gas_io8(p + FADT_SLEEP_STATUS, c->sleep_sts_port);
	acpi_sdt_checksum(p, FADT_LEN);
}

/* The DSDT's AML body: \_S5_ and, optionally, the pvpanic device. */
static void build_dsdt_aml(struct aml *a, const struct acpi_config *c)
{
	aml_name(a, "_S5_");
	size_t pkg = aml_package_begin(a, 4);
	aml_integer(a, ACPI_SLP_TYP_S5);
	aml_integer(a, ACPI_SLP_TYP_S5);
	aml_integer(a, 0);
	aml_integer(a, 0);
	aml_package_end(a, pkg);

	if (!c->pvpanic_port && !c->serial_port && !c->sb_hook && !c->power_button_gsi)
		return;
	size_t sb = aml_scope_begin(a, "_SB_");
	if (c->serial_port) {
		/*
		 * A HW-reduced guest has no legacy PIC and maps no ISA IRQ by itself:
		 * the UART must be described here so its IRQ gets an I/O APIC route.
		 */
		size_t dev = aml_device_begin(a, "COM1");
		aml_name(a, "_HID");
		aml_eisaid(a, "PNP0501");
		aml_name(a, "_UID");
		aml_integer(a, 0);
		aml_name(a, "_CRS");
		size_t rt = aml_restemplate_begin(a);
		aml_res_io(a, true, c->serial_port, c->serial_port, 1, 8);
		uint32_t irq = c->serial_irq;
		aml_res_interrupt(a, false, false, false, &irq, 1);
		aml_restemplate_end(a, rt);
		aml_name(a, "_STA");
		aml_integer(a, 0x0f);
		aml_device_end(a, dev);
	}
	if (c->pvpanic_port) {
		size_t dev = aml_device_begin(a, "PEVT");
		aml_name(a, "_HID");
		aml_string(a, "QEMU0001");
		aml_name(a, "_CRS");
		size_t rt = aml_restemplate_begin(a);
		aml_res_io(a, true, c->pvpanic_port, c->pvpanic_port, 1, 1);
		aml_restemplate_end(a, rt);
		aml_name(a, "_STA");
		aml_integer(a, 0x0f);
		aml_device_end(a, dev);
	}
	if (c->power_button_gsi) {
		size_t dev = aml_device_begin(a, "PWRB");
		aml_name(a, "_HID");
		aml_eisaid(a, "PNP0C0C");
		aml_name(a, "_UID");
		aml_integer(a, 0);
		aml_device_end(a, dev);
		/* Hardware-reduced ACPI has no fixed power button: its events come
		 * through a Generic Event Device's interrupt. */
		dev = aml_device_begin(a, "GED0");
		aml_name(a, "_HID");
		aml_string(a, "ACPI0013");
		aml_name(a, "_UID");
		aml_integer(a, 0);
		aml_name(a, "_CRS");
		size_t rt = aml_restemplate_begin(a);
		uint32_t gsi = c->power_button_gsi;
		aml_res_interrupt(a, false, false, false, &gsi, 1);
		aml_restemplate_end(a, rt);
		size_t m = aml_method_begin(a, "_EVT", 1, true);
		aml_notify(a, "\\_SB_.PWRB", ACPI_POWER_BUTTON_NOTIFY);
		aml_method_end(a, m);
		aml_device_end(a, dev);
	}
	if (c->sb_hook)
		c->sb_hook(c->sb_opaque, a);
	aml_scope_end(a, sb);
}

static size_t madt_len(unsigned ncpus)
{
	return MADT_HDR_LEN + 8 * (size_t)ncpus + 12 + 10 + 6;
}

static void build_madt(uint8_t *p, const struct acpi_config *c)
{
	size_t len = madt_len(c->ncpus);
	memset(p, 0, len);
	sdt_header(p, "APIC", (uint32_t)len, 5);
	le_put(p + 36, c->lapic_addr, 4);
	le_put(p + 40, MADT_PCAT_COMPAT, 4);
	uint8_t *e = p + MADT_HDR_LEN;
	for (unsigned i = 0; i < c->ncpus; i++, e += 8) {
		e[0] = MADT_LOCAL_APIC;
		e[1] = 8;
		e[2] = (uint8_t)i;          /* ACPI processor UID */
		e[3] = (uint8_t)i;          /* APIC id */
		le_put(e + 4, 1, 4);        /* enabled */
	}
	e[0] = MADT_IO_APIC;
	e[1] = 12;
	e[2] = c->ioapic_id;
	le_put(e + 4, c->ioapic_addr, 4);
	le_put(e + 8, 0, 4);                /* GSI base */
	e += 12;
	e[0] = MADT_INT_OVERRIDE;
	e[1] = 10;
	e[2] = 0;                           /* bus: ISA */
	e[3] = 0;                           /* source: IRQ 0 */
	le_put(e + 4, 2, 4);                /* GSI 2 */
	le_put(e + 8, 0, 2);                /* flags: conforms to the bus */
	e += 10;
	e[0] = MADT_LOCAL_APIC_NMI;
	e[1] = 6;
	e[2] = 0xff;                        /* all processors */
	le_put(e + 3, 0, 2);                /* flags: conforms */
	e[5] = 1;                           /* LINT1 */
	acpi_sdt_checksum(p, len);
}

int acpi_build(uint8_t *dst, size_t room, const struct acpi_config *c, uint64_t *rsdp_gpa)
{
	if (!dst || !c || c->ncpus == 0 || c->ncpus > ACPI_MAX_CPUS || (c->base_gpa & 15))
		return -EINVAL;
	/* Linux refuses to enter S5 through a HW-reduced FADT lacking either register. */
	if (!c->sleep_ctl_port || !c->sleep_sts_port)
		return -EINVAL;

	const size_t rsdp_off = 0;
	const size_t xsdt_off = align16(rsdp_off + RSDP_LEN);
	const size_t xsdt_len = SDT_HDR_LEN + 2 * 8;
	const size_t fadt_off = align16(xsdt_off + xsdt_len);
	const size_t dsdt_off = align16(fadt_off + FADT_LEN);
	if (room < dsdt_off + SDT_HDR_LEN)
		return -ENOSPC;

	struct aml a;
	aml_init(&a, dst + dsdt_off + SDT_HDR_LEN, room - dsdt_off - SDT_HDR_LEN);
	build_dsdt_aml(&a, c);
	int err = aml_error(&a);
	if (err)
		return err;
	const size_t dsdt_len = SDT_HDR_LEN + a.len;
	const size_t madt_off = align16(dsdt_off + dsdt_len);
	const size_t end = madt_off + madt_len(c->ncpus);
	if (end > room)
		return -ENOSPC;
	/* Tables in the BIOS area must stay below 1 MiB, where a scanning guest looks. */
	if (c->base_gpa >= 0xe0000 && c->base_gpa < 0x100000 && c->base_gpa + end > 0x100000)
		return -ENOSPC;

	const uint64_t base = c->base_gpa;
	sdt_header(dst + dsdt_off, "DSDT", (uint32_t)dsdt_len, 2);  /* rev 2: 64-bit integers */
	acpi_sdt_checksum(dst + dsdt_off, dsdt_len);

	build_fadt(dst + fadt_off, c, base + dsdt_off);
	build_madt(dst + madt_off, c);

	uint8_t *x = dst + xsdt_off;
	memset(x, 0, xsdt_len);
	sdt_header(x, "XSDT", (uint32_t)xsdt_len, 1);
	le_put(x + SDT_HDR_LEN, base + fadt_off, 8);
	le_put(x + SDT_HDR_LEN + 8, base + madt_off, 8);
	acpi_sdt_checksum(x, xsdt_len);

	build_rsdp(dst + rsdp_off, base + xsdt_off);

	/* Zero the alignment gaps so the output does not depend on dst's old contents. */
	memset(dst + rsdp_off + RSDP_LEN, 0, xsdt_off - RSDP_LEN);
	memset(dst + xsdt_off + xsdt_len, 0, fadt_off - xsdt_off - xsdt_len);
	memset(dst + fadt_off + FADT_LEN, 0, dsdt_off - fadt_off - FADT_LEN);
	memset(dst + dsdt_off + dsdt_len, 0, madt_off - dsdt_off - dsdt_len);

	if (rsdp_gpa)
		*rsdp_gpa = base + rsdp_off;
	return (int)end;
}
