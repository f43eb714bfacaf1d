// SPDX-License-Identifier: MIT
/*
 * The machine: what a guest reset throws away and builds again — the KVM VM
 * and its vCPUs, guest RAM with the kernel loaded, and the legacy devices.
 */
#include <errno.h>
#include <linux/kvm.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "acpi.h"
#include "console.h"
#include "cpuid.h"
#include "i8042.h"
#include "serial.h"
#include "vm.h"

static void serial_irq(void *opaque, int level)
{
	struct vm *vm = opaque;
	kvm_irq_line(&vm->kvm, IRQ_SERIAL0, level);
}

static void serial_tx(void *opaque, const uint8_t *buf, size_t len)
{
	struct vm *vm = opaque;
	console_write(vm->console, buf, len);
}

static void serial_rx_room(void *opaque)
{
	struct vm *vm = opaque;
	console_rx_resume(vm->console);
}

static const struct serial_ops serial_ops = {
	.irq_line = serial_irq,
	.tx = serial_tx,
	.rx_room = serial_rx_room,
};

static void kbd_irq(void *opaque, unsigned irq, int level)
{
	struct vm *vm = opaque;
	kvm_irq_line(&vm->kvm, irq, level);
}

static void kbd_reset(void *opaque)
{
	vm_request_stop(opaque, STOP_RESET, "keyboard controller reset");
}

static const struct i8042_ops kbd_ops = {
	.irq_line = kbd_irq,
	.reset = kbd_reset,
};

static void pvpanic_event(void *opaque, uint8_t events)
{
	struct vm *vm = opaque;
	if (events & PVPANIC_PANICKED)
		vm_request_stop(vm, STOP_PANIC, "the guest kernel panicked (pvpanic)");
	else if (events & PVPANIC_CRASH_LOADED)
		vm_log(vm, NV_LOG_INFO, "guest reports a crash kernel was loaded (pvpanic)");
}

/* ACPI hardware-reduced sleep control: SLP_EN (bit 5) with SLP_TYP (bits 4:2). */
static void sleep_io(void *opaque, uint64_t offset, uint8_t *data, unsigned size, bool is_write)
{
	struct vm *vm = opaque;
	if (!is_write) {
		memset(data, 0, size);
		return;
	}
	if (offset == 0 && (data[0] & 0x20) && ((data[0] >> 2) & 7) == ACPI_SLP_TYP_S5)
		vm_request_stop(vm, STOP_POWEROFF, "ACPI S5");
}

static void ignore_io(void *opaque, uint64_t offset, uint8_t *data, unsigned size, bool is_write)
{
	if (!is_write)
		memset(data, 0xff, size);
}

static int add_legacy(struct vm *vm, const char *name, const char *type, void *dev,
	const char *address, int irq, void (*free_fn)(void *))
{
	struct vm_device d = { .type = type, .dev = dev, .irq = irq,
		.status = vm_device_status_legacy, .free = free_fn };
	snprintf(d.name, sizeof(d.name), "%s", name);
	snprintf(d.address, sizeof(d.address), "%s", address);
	return vm_device_add(vm, &d);
}

static int register_devices(struct vm *vm)
{
	char addr[32];
	int r = 0;
	vm->serial = serial_new(&serial_ops, vm);
	if (!vm->serial)
		return -ENOMEM;
	snprintf(addr, sizeof(addr), "io:%#x", PORT_SERIAL0);
	if ((r = add_legacy(vm, "serial0", "uart-16550a", vm->serial, addr, IRQ_SERIAL0,
		     (void (*)(void *))serial_free)) < 0) {
		serial_free(vm->serial);
		vm->serial = NULL;
		return r;
	}
	vm->kbd = i8042_new(&kbd_ops, vm);
	if (!vm->kbd)
		return -ENOMEM;
	snprintf(addr, sizeof(addr), "io:%#x,%#x", PORT_I8042_DATA, PORT_I8042_CMD);
	if ((r = add_legacy(vm, "i8042", "i8042", vm->kbd, addr, IRQ_I8042_KBD,
		     (void (*)(void *))i8042_free)) < 0) {
		i8042_free(vm->kbd);
		vm->kbd = NULL;
		return r;
	}
	snprintf(addr, sizeof(addr), "io:%#x", PORT_PVPANIC);
	r = add_legacy(vm, "pvpanic", "pvpanic", &vm->pvpanic, addr, -1, NULL);
	snprintf(addr, sizeof(addr), "io:%#x", PORT_SLEEP_CTL);
	if (!r && vm->cfg->acpi)
		r = add_legacy(vm, "acpi-sleep", "acpi-hw-reduced", NULL, addr, -1, NULL);
	if (r < 0)
		return r;
	vm->pvpanic.event = pvpanic_event;
	vm->pvpanic.opaque = vm;
	if (!r)
		r = bus_register(&vm->pio, PORT_SERIAL0, 8, serial_io, vm->serial, "serial0");
	if (!r)
		r = bus_register(&vm->pio, PORT_I8042_DATA, 1, i8042_data_io, vm->kbd, "i8042");
	if (!r)
		r = bus_register(&vm->pio, PORT_I8042_CMD, 1, i8042_cmd_io, vm->kbd, "i8042");
	if (!r)
		r = bus_register(&vm->pio, PORT_PVPANIC, 1, pvpanic_io, &vm->pvpanic, "pvpanic");
	if (!r)
		r = bus_register(&vm->pio, PORT_SLEEP_CTL, 2, sleep_io, vm, "acpi-sleep");
	/* The port-0x80 POST code and 0xed delay port: swallowed quietly. */
	if (!r)
		r = bus_register(&vm->pio, PORT_POST, 1, ignore_io, NULL, "post");
	if (!r)
		r = bus_register(&vm->pio, PORT_DELAY, 1, ignore_io, NULL, "delay");
	return r;
}

/* -v: how long each step of building the machine took (boot-time work). */
static void step_done(const struct vm *vm, const char *what, uint64_t *t)
{
	uint64_t now = now_ns();
	vm_log(vm, NV_LOG_DEBUG, "boot: %-22s %6.1f ms", what, (double)(now - *t) / 1e6);
	*t = now;
}

int machine_build(struct vm *vm, char **err)
{
	uint64_t t = now_ns();
	int r;
	if ((r = kvm_create_vm(&vm->kvm, err)) < 0)
		return r;
	if ((r = guest_mem_init(&vm->mem, vm->cfg->memory)) < 0) {
		if (asprintf(err, "cannot reserve %llu MiB of guest RAM: %s",
			    (unsigned long long)(vm->cfg->memory >> 20), strerror(-r)) < 0)
			*err = NULL;
		return r;
	}
	r = kvm_set_memory(&vm->kvm, 0, 0, vm->mem.low_size, vm->mem.host);
	if (r == 0 && vm->mem.high_size)
		r = kvm_set_memory(&vm->kvm, 1, MEM_4G, vm->mem.high_size, vm->mem.host + vm->mem.low_size);
	if (r < 0) {
		if (asprintf(err, "KVM_SET_USER_MEMORY_REGION: %s", strerror(-r)) < 0)
			*err = NULL;
		return r;
	}
	step_done(vm, "VM and guest RAM", &t);
	bus_init(&vm->pio);
	bus_init(&vm->mmio);
	if ((r = register_devices(vm)) < 0) {
		if (asprintf(err, "registering devices: %s", strerror(-r)) < 0)
			*err = NULL;
		return r;
	}
	irq_init(&vm->irq, &vm->kvm);
	if ((r = devices_create(vm, err)) < 0)
		return r;
	step_done(vm, "devices", &t);
	struct boot_firmware fw = {
		.ncpus = vm->ncpus,
		.acpi = vm->cfg->acpi,
		.pvpanic = true,
		.dsdt_sb_hook = devices_dsdt_hook,
		.hook_opaque = vm,
		.pci_irqs = vm->pci_irqs,
		.npci_irqs = vm->npci_irqs,
	};
	if ((r = boot_image_load(&vm->img, &vm->mem, &fw, err)) < 0)
		return r;
	step_done(vm, "kernel, initrd, tables", &t);
	vm->vcpus = calloc(vm->ncpus, sizeof(*vm->vcpus));
	if (!vm->vcpus)
		return -ENOMEM;
	for (unsigned i = 0; i < vm->ncpus; i++)
		vm->vcpus[i].fd = -1;
	for (unsigned i = 0; i < vm->ncpus; i++)
		if ((r = vcpu_create(vm, &vm->vcpus[i], i, err)) < 0)
			return r;
	if ((r = vcpu_setup_boot(&vm->vcpus[0], vm->img.entry, err)) < 0)
		return r;
	step_done(vm, "vCPUs", &t);
	return 0;
}

void machine_destroy(struct vm *vm)
{
	if (vm->vcpus) {
		for (unsigned i = 0; i < vm->ncpus; i++)
			vcpu_destroy(&vm->vcpus[i]);
		free(vm->vcpus);
		vm->vcpus = NULL;
	}
	devices_destroy(vm);
	irq_free(&vm->irq);
	kvm_close_vm(&vm->kvm);
	guest_mem_free(&vm->mem);
	bus_free(&vm->pio);
	bus_free(&vm->mmio);
}
