/* SPDX-License-Identifier: MIT */
/*
 * PCI bus 0 behind a host bridge (00:00.0) on configuration mechanism #1
 * (PCI Local Bus 3.0, 3.2.2.3.2: address register at port 0xCF8, data at
 * 0xCFC-0xCFF; byte, word and dword data accesses), with BARs the VMM
 * allocates from windows it is given, legacy INTx routed to I/O APIC pins,
 * and MSI-X (PCI 3.0, 6.8.2). Pure device code: no KVM header. The VMM
 * supplies a struct pci_platform that delivers interrupts and (optionally)
 * binds eventfds in the kernel (irqfd, ioeventfd).
 *
 * Typical VMM use:
 *	struct pci_host_config hc = { .pio = &vm->pio, .mmio = &vm->mmio,
 *		.mmio_base = 0xC0000000, .mmio_size = 0x3EC00000,  // up to the I/O APIC
 *		.plat = { .opaque = vm, .set_irq = ..., .msi = ..., ... } };
 *	struct pci_host *h; pci_host_new(&hc, &h);   // registers 0xCF8 and 0xCFC
 *	... virtio_blk_new(h, ...) etc. add devices (pci_host_add) ...
 *	ACPI: pci_host_write_aml(h, aml) inside Scope(\_SB) of the DSDT.
 *	MP table: n = pci_host_mptable_irqs(h, irqs, max); mptable_build_pci(..., irqs, n).
 *	Teardown: free the devices (virtio_*_free), then pci_host_free(h).
 *
 * Lock order (outer first): host->cfg_lock (config space, BAR (re)mapping)
 * -> device locks (e.g. virtio transport) -> struct bus locks, the MSI-X
 * lock of a device and host->irq_lock (INTx levels), which are leaves:
 * nothing is called with them held except the platform's set_irq / msi /
 * msi_irqfd callbacks. Platform callbacks must never call back into PCI.
 */
#ifndef NV_PCI_H
#define NV_PCI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bus.h"
#include "layout.h"

struct aml;
struct mptable_pci_irq;
struct pci_host;
struct pci_dev;

#define PCI_MAX_SLOTS     32      /* device numbers on bus 0; slot 0 is the host bridge */
#define PCI_CFG_SIZE      256
#define PCI_NUM_BARS      6

/* Standard header offsets (type 0). */
#define PCI_VENDOR_ID        0x00
#define PCI_DEVICE_ID        0x02
#define PCI_COMMAND          0x04
#define PCI_STATUS           0x06
#define PCI_REVISION_ID      0x08
#define PCI_CLASS_PROG       0x09
#define PCI_CLASS_DEVICE     0x0A
#define PCI_HEADER_TYPE      0x0E
#define PCI_BAR0             0x10
#define PCI_SUBSYSTEM_VENDOR 0x2C
#define PCI_SUBSYSTEM_ID     0x2E
#define PCI_CAP_PTR          0x34
#define PCI_INTERRUPT_LINE   0x3C
#define PCI_INTERRUPT_PIN    0x3D

#define PCI_CMD_IO           0x0001
#define PCI_CMD_MEMORY       0x0002
#define PCI_CMD_MASTER       0x0004
#define PCI_CMD_INTX_DISABLE 0x0400
#define PCI_STATUS_INTX      0x0008
#define PCI_STATUS_CAP_LIST  0x0010

#define PCI_CAP_ID_MSIX      0x11
#define PCI_CAP_ID_VNDR      0x09

/* MSI-X capability: message control bits, table entry layout. */
#define PCI_MSIX_ENABLE      0x8000
#define PCI_MSIX_MASKALL     0x4000
#define PCI_MSIX_ENTRY_SIZE  16
#define PCI_MSIX_ENTRY_CTRL_MASKBIT 1u
#define PCI_MSIX_MAX_VECTORS 2048

/* BAR kinds for pci_dev_add_bar. */
#define PCI_BAR_IO        0x1 /* I/O space (32-bit decode, size 4..256) */
#define PCI_BAR_MEM32     0x2
#define PCI_BAR_MEM64     0x4 /* occupies bar and bar + 1 */
#define PCI_BAR_PREFETCH  0x8 /* memory only */

#define PCI_BAR_UNMAPPED  UINT64_MAX

/* INTx pins as in the Interrupt Pin register. */
#define PCI_INTA 1
#define PCI_INTB 2
#define PCI_INTC 3
#define PCI_INTD 4

/* I/O APIC pins used for PCI INTx: PCI_GSI_BASE .. + PCI_GSI_COUNT - 1 (layout.h). */

/*
 * The routing that the DSDT _PRT, the MP table and the devices all use:
 * slot (0..31), pin (PCI_INTA..PCI_INTD) -> I/O APIC pin (= GSI with one
 * I/O APIC at GSI base 0): PCI_GSI_BASE + ((slot + pin - 1) % PCI_GSI_COUNT).
 * Level-triggered, active low (as the guest is told); the platform's
 * set_irq gets level 1 for "asserted".
 */
unsigned pci_intx_gsi(unsigned slot, unsigned pin);

struct pci_host;
/* The platform callbacks the host was created with. */
const struct pci_platform *pci_host_platform(const struct pci_host *h);

/* One ioeventfd: the kernel signals fd on a guest write to [addr, addr + len). */
struct pci_ioeventfd {
	uint64_t addr;
	unsigned len;     /* 1, 2, 4 or 8; 2 for virtio notifications */
	bool pio;         /* false: MMIO */
	bool datamatch;   /* true: only writes of value `data` */
	uint64_t data;
	int fd;           /* an eventfd owned by the device */
};

/*
 * What the VMM provides. Callbacks may run on any thread (vCPU threads, the
 * I/O thread, device workers), concurrently, and must not call back into
 * PCI or virtio.
 */
struct pci_platform {
	void *opaque;
	/* Required. Drive I/O APIC input gsi: level 1 asserted, 0 deasserted.
	 * The host ORs every device sharing the GSI before calling this, so the
	 * level passed is the line's level (KVM_IRQ_LINE semantics). */
	void (*set_irq)(void *opaque, unsigned gsi, int level);
	/* Required. Deliver one MSI now (KVM_SIGNAL_MSI). */
	void (*msi)(void *opaque, uint64_t addr, uint32_t data);
	/*
	 * Optional (both or neither): irqfd acceleration. msi_irqfd binds the
	 * eventfd fd (created by PCI, one per MSI-X vector in use) so that a
	 * write to it delivers MSI (addr, data) from the kernel: give it a GSI,
	 * set the route, KVM_IRQFD. Called again with the same fd and a new
	 * (addr, data) when the guest reprograms the vector: update the route.
	 * Returns 0, or -errno, after which PCI falls back to msi() for that
	 * vector (and will retry the bind on the next change). PCI only writes
	 * the fd while the vector is unmasked, so the kernel needs no masking.
	 * msi_irqfd_release undoes it (KVM_IRQFD deassign, free the GSI) before
	 * the fd is closed.
	 */
	int (*msi_irqfd)(void *opaque, int fd, uint64_t addr, uint32_t data);
	void (*msi_irqfd_release)(void *opaque, int fd);
	/*
	 * Optional: KVM_IOEVENTFD assign (assign true) or deassign of e. 0 or
	 * -errno; on failure the device still works through the MMIO exit path
	 * (its BAR handler sees the write).
	 */
	int (*ioeventfd)(void *opaque, const struct pci_ioeventfd *e, bool assign);
	/*
	 * Optional: called first thing on every device worker thread (a disk's
	 * I/O thread), so the platform can confine it (seccomp). A non-zero
	 * return stops the worker before it serves anything.
	 */
	int (*thread_start)(void *thread_opaque, const char *name);
	void *thread_opaque;
};

struct pci_host_config {
	struct bus *pio;           /* port bus: 0xCF8/0xCFC and I/O BARs are registered here */
	struct bus *mmio;          /* memory BARs are registered here */
	uint64_t mmio_base;        /* 32-bit MMIO window for memory BARs (below the I/O APIC) */
	uint64_t mmio_size;
	uint16_t io_base;          /* I/O window for I/O BARs; 0/0: default 0xC000..0xFFFF */
	uint32_t io_size;
	struct pci_platform plat;
};

/* Creates the host bridge (8086:0d57, class 0x060000 at 00:00.0) and registers
 * the config ports. 0, -EINVAL (bad window, missing callback), -EEXIST, -ENOMEM. */
int pci_host_new(const struct pci_host_config *c, struct pci_host **out);
/* Unregisters the ports; devices still attached are detached (not freed). NULL ok. */
void pci_host_free(struct pci_host *h);

/* Writes Device(PCI0) (PNP0A03/PNP0A08-compatible: _HID PNP0A03, _CID PNP0A03,
 * _SEG, _BBN, _UID, _CRS, _PRT for slots 1..31 x INTA-D) at the current AML
 * position, which must be inside Scope(\_SB). Errors are left in the aml (sticky). */
void pci_host_write_aml(const struct pci_host *h, struct aml *a);
/* Fills out[0..max) with one entry per (attached device, its interrupt pin) for
 * mptable_build_pci; returns the number of entries there are (may be > max). */
size_t pci_host_mptable_irqs(const struct pci_host *h, struct mptable_pci_irq *out, size_t max);

/* Config space access as the guest sees it (what 0xCFC does); for tests and
 * for other config mechanisms. bdf = bus << 8 | dev << 3 | fn; off any byte
 * offset, size 1/2/4 not crossing a dword. Absent functions read all ones. */
uint32_t pci_host_cfg_read(struct pci_host *h, uint16_t bdf, unsigned off, unsigned size);
void pci_host_cfg_write(struct pci_host *h, uint16_t bdf, unsigned off, unsigned size, uint32_t val);

/* ---- devices ---- */

/*
 * Device callbacks. All optional except bar_io (when the device has BARs).
 * bar_io: an access to BAR `bar` at offset off (size 1/2/4/8, data little
 *   endian); called on vCPU threads with no PCI lock held. MSI-X table/PBA
 *   ranges inside a BAR are handled by PCI and never reach bar_io.
 * bar_map: BAR `bar` is now decoded at addr, or no longer decoded
 *   (addr PCI_BAR_UNMAPPED); called with host->cfg_lock held (config write or
 *   pci_host_add), before (unmap) / after (map) the bus change. Use it to
 *   move ioeventfds.
 * cfg_write: after PCI applied a config write (val already masked in); off
 *   and size as the guest wrote them. Called with host->cfg_lock held.
 * cfg_read: may replace the value of a config read (return true).
 */
struct pci_dev_ops {
	void (*bar_io)(void *opaque, unsigned bar, uint64_t off, uint8_t *data, unsigned size,
		       bool is_write);
	void (*bar_map)(void *opaque, unsigned bar, uint64_t addr);
	void (*cfg_write)(void *opaque, unsigned off, unsigned size, uint32_t val);
	bool (*cfg_read)(void *opaque, unsigned off, unsigned size, uint32_t *val);
};

struct pci_dev_info {
	uint16_t vendor, device;
	uint16_t subsys_vendor, subsys_id;
	uint8_t revision;
	uint32_t class_code;       /* class << 16 | subclass << 8 | prog-if */
	uint8_t irq_pin;           /* 0: none, else PCI_INTA..PCI_INTD */
	const char *name;          /* for bus ranges and logs; copied */
	const struct pci_dev_ops *ops;
	void *opaque;
};

/* A type-0 function 0 device, not yet on a bus. 0, -EINVAL, -ENOMEM. */
int pci_dev_new(const struct pci_dev_info *info, struct pci_dev **out);
/* Detaches (unmaps BARs, releases irqfds) and frees. NULL ok. */
void pci_dev_free(struct pci_dev *d);

/* Declares BAR idx (size a power of two; memory >= 16, I/O 4..256) of the
 * given PCI_BAR_* kind. Before pci_host_add only. 0, -EINVAL, -EEXIST. */
int pci_dev_add_bar(struct pci_dev *d, unsigned idx, uint64_t size, unsigned kind);
/* Appends a capability: id, then body (the bytes after id/next, len bytes, so
 * the capability is len + 2 bytes, dword aligned). wmask: per-byte writable
 * bits for the body (NULL: read-only). Returns its config offset (>= 0x40)
 * or -ENOSPC / -EINVAL. Before pci_host_add only. */
int pci_dev_add_cap(struct pci_dev *d, uint8_t id, const void *body, unsigned len,
		    const uint8_t *wmask);
/* Adds the MSI-X capability: nvec vectors (1..2048), table at table_off and
 * PBA at pba_off inside memory BAR `bar` (both 8-aligned; table entries start
 * masked). Returns the capability offset or -errno. Before pci_host_add. */
int pci_dev_add_msix(struct pci_dev *d, unsigned nvec, unsigned bar, uint32_t table_off,
		     uint32_t pba_off);

/* Attaches d at slot (1..31, or -1: the lowest free), allocates its BARs
 * from the windows (naturally aligned), enables decoding and maps them.
 * 0, -EBUSY (slot taken / none free), -ENOSPC (window full), -EINVAL. */
int pci_host_add(struct pci_host *h, struct pci_dev *d, int slot);

/* Read-only views for the device, its tests and the VMM. */
unsigned pci_dev_slot(const struct pci_dev *d);    /* 0 before pci_host_add */
uint64_t pci_dev_bar_addr(struct pci_dev *d, unsigned bar); /* PCI_BAR_UNMAPPED when not decoded */
uint8_t *pci_dev_config(struct pci_dev *d);           /* the 256 bytes; write only before pci_host_add */

/* Legacy interrupt: level 1 asserts INTx (unless the command register's
 * INTx-disable bit is set), 0 deasserts; sets/clears the status bit. */
void pci_dev_set_intx(struct pci_dev *d, int level);

/* MSI-X state seen by the device. */
bool pci_msix_enabled(struct pci_dev *d);
/* Raises vector v: if MSI-X is enabled and neither the function nor the
 * vector is masked, delivers it (irqfd write, or platform msi); otherwise
 * sets v's pending bit, delivered when unmasked. Returns 0, -EINVAL (v out
 * of range or MSI-X disabled: nothing done), -errno of delivery. Any thread. */
int pci_msix_notify(struct pci_dev *d, unsigned v);
bool pci_msix_pending(struct pci_dev *d, unsigned v);

/* ioeventfds through the platform (-ENOTSUP when it has none). */
int pci_dev_ioeventfd(struct pci_dev *d, const struct pci_ioeventfd *e, bool assign);

#endif
