/* blkbench: O_DIRECT block-device figures inside a bench guest (bench/blk).
 *
 *   blkbench DEV seq-read  MIB      sequential 1 MiB reads from offset 0
 *   blkbench DEV seq-write MIB      sequential 1 MiB writes from offset 0, then fdatasync
 *   blkbench DEV randread  SECONDS  random 4 KiB aligned preads (queue depth 1)
 *
 * Prints one line: "NVB <mode> <count> <seconds> <figure> <unit>", where the
 * figure is MB/s (10^6 bytes) for seq-* and IOPS for randread. Built static
 * by bench/blk on the host (gcc -O2 -static) and added to the initramfs. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;
static uint64_t rnd(void)
{
    uint64_t x = rng_state;
    x ^= x << 13; x ^= x >> 7; x ^= x << 17;
    return rng_state = x;
}

int main(int argc, char **argv)
{
    if (argc != 4) {
        fprintf(stderr, "usage: blkbench DEV seq-read|seq-write MIB | randread SECONDS\n");
        return 2;
    }
    const char *dev = argv[1], *mode = argv[2];
    long n = atol(argv[3]);
    int wr = !strcmp(mode, "seq-write");
    int fd = open(dev, (wr ? O_RDWR : O_RDONLY) | O_DIRECT);
    if (fd < 0) {
        fprintf(stderr, "blkbench: %s: %s\n", dev, strerror(errno));
        return 1;
    }
    uint64_t size = 0;
    if (ioctl(fd, BLKGETSIZE64, &size) < 0 || size < (1u << 20)) {
        fprintf(stderr, "blkbench: %s: cannot get a usable size\n", dev);
        return 1;
    }
    void *buf;
    if (posix_memalign(&buf, 1 << 20, 1 << 20))
        return 1;
    memset(buf, 0x5a, 1 << 20);

    if (!strcmp(mode, "seq-read") || wr) {
        if ((uint64_t)n << 20 > size)
            n = size >> 20;
        double t0 = now();
        for (long i = 0; i < n; i++) {
            ssize_t r = wr ? pwrite(fd, buf, 1 << 20, (off_t)i << 20)
                           : pread(fd, buf, 1 << 20, (off_t)i << 20);
            if (r != 1 << 20) {
                fprintf(stderr, "blkbench: %s at %ld MiB: %s\n", mode, i,
                        r < 0 ? strerror(errno) : "short transfer");
                return 1;
            }
        }
        if (wr && fdatasync(fd) < 0) {
            fprintf(stderr, "blkbench: fdatasync: %s\n", strerror(errno));
            return 1;
        }
        double dt = now() - t0;
        printf("NVB %s %ld %.6f %.2f MB/s\n", mode, n, dt, (double)n * 1048576 / dt / 1e6);
    } else if (!strcmp(mode, "randread")) {
        uint64_t blocks = size / 4096, ios = 0;
        double t0 = now(), t;
        do {
            for (int k = 0; k < 64; k++) {
                off_t off = (off_t)(rnd() % blocks) * 4096;
                if (pread(fd, buf, 4096, off) != 4096) {
                    fprintf(stderr, "blkbench: randread at %lld: %s\n", (long long)off,
                            strerror(errno));
                    return 1;
                }
            }
            ios += 64;
            t = now() - t0;
        } while (t < n);
        printf("NVB randread %llu %.6f %.0f IOPS\n", (unsigned long long)ios, t, ios / t);
    } else {
        fprintf(stderr, "blkbench: unknown mode %s\n", mode);
        return 2;
    }
    fflush(stdout);
    return 0;
}
