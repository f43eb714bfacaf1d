/* kvm-smoke: the smallest proof that /dev/kvm works. One VM, one 4 KiB
 * memory slot, one vCPU in real mode running "mov dx,0x3f8; mov al,'K';
 * out dx,al; hlt". Expects KVM_EXIT_IO (port 0x3f8, byte 'K') then
 * KVM_EXIT_HLT. Built and run by tests/kvm-host/smoke. */
#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

static void fail(const char *what)
{
    fprintf(stderr, "kvm-smoke: FAIL: %s: %s\n", what, strerror(errno));
    exit(1);
}

int main(void)
{
    static const uint8_t code[] = { 0xba, 0xf8, 0x03, 0xb0, 'K', 0xee, 0xf4 };
    int kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
    if (kvm < 0) fail("open /dev/kvm");
    int api = ioctl(kvm, KVM_GET_API_VERSION, 0);
    if (api != KVM_API_VERSION) { fprintf(stderr, "kvm-smoke: FAIL: API %d\n", api); return 1; }
    int nested = ioctl(kvm, KVM_CHECK_EXTENSION, KVM_CAP_NESTED_STATE);
    int vm = ioctl(kvm, KVM_CREATE_VM, 0);
    if (vm < 0) fail("KVM_CREATE_VM");
    uint8_t *mem = mmap(NULL, 0x1000, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (mem == MAP_FAILED) fail("mmap");
    memcpy(mem, code, sizeof code);
    struct kvm_userspace_memory_region r = {
        .slot = 0, .guest_phys_addr = 0x1000, .memory_size = 0x1000,
        .userspace_addr = (uintptr_t)mem,
    };
    if (ioctl(vm, KVM_SET_USER_MEMORY_REGION, &r) < 0) fail("KVM_SET_USER_MEMORY_REGION");
    int cpu = ioctl(vm, KVM_CREATE_VCPU, 0);
    if (cpu < 0) fail("KVM_CREATE_VCPU");
    int sz = ioctl(kvm, KVM_GET_VCPU_MMAP_SIZE, 0);
    if (sz <= 0) fail("KVM_GET_VCPU_MMAP_SIZE");
    struct kvm_run *run = mmap(NULL, sz, PROT_READ | PROT_WRITE, MAP_SHARED, cpu, 0);
    if (run == MAP_FAILED) fail("mmap kvm_run");
    struct kvm_sregs s;
    if (ioctl(cpu, KVM_GET_SREGS, &s) < 0) fail("KVM_GET_SREGS");
    s.cs.base = 0; s.cs.selector = 0;
    if (ioctl(cpu, KVM_SET_SREGS, &s) < 0) fail("KVM_SET_SREGS");
    struct kvm_regs g = { .rip = 0x1000, .rflags = 2 };
    if (ioctl(cpu, KVM_SET_REGS, &g) < 0) fail("KVM_SET_REGS");
    int saw_io = 0;
    for (int i = 0; i < 100; i++) {
        if (ioctl(cpu, KVM_RUN, 0) < 0) fail("KVM_RUN");
        switch (run->exit_reason) {
        case KVM_EXIT_IO: {
            uint8_t b = *((uint8_t *)run + run->io.data_offset);
            if (run->io.direction != KVM_EXIT_IO_OUT || run->io.port != 0x3f8 || b != 'K') {
                fprintf(stderr, "kvm-smoke: FAIL: unexpected io port %#x\n", run->io.port);
                return 1;
            }
            saw_io = 1;
            break;
        }
        case KVM_EXIT_HLT:
            if (!saw_io) { fprintf(stderr, "kvm-smoke: FAIL: HLT before IO\n"); return 1; }
            printf("kvm-smoke: OK (KVM_EXIT_IO 0x3f8 'K', KVM_EXIT_HLT; KVM_CAP_NESTED_STATE=%d)\n", nested);
            return 0;
        default:
            fprintf(stderr, "kvm-smoke: FAIL: exit reason %u\n", run->exit_reason);
            return 1;
        }
    }
    fprintf(stderr, "kvm-smoke: FAIL: no HLT\n");
    return 1;
}
