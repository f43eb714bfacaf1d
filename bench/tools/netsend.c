/* netsend: a TCP sender inside a bench guest (bench/net).
 *
 *   netsend HOST PORT MIB [CHUNK_KIB]
 *
 * Connects to HOST:PORT and sends MIB MiB of zeros with write(2) calls of
 * CHUNK_KIB KiB (default 1024) from one buffer, then shuts the connection
 * down and waits for the peer to close it. Prints one line:
 * "NVB netsend <bytes> <seconds> <MB/s>" (sender's view; the bench times
 * the receiver). Built static by bench/net on the host (gcc -O2 -static)
 * and added to the initramfs, the same binary for every VMM. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
    if (argc != 4 && argc != 5) {
        fprintf(stderr, "usage: netsend HOST PORT MIB [CHUNK_KIB]\n");
        return 2;
    }
    struct sockaddr_in sa;
    memset(&sa, 0, sizeof(sa));
    sa.sin_family = AF_INET;
    sa.sin_port = htons((unsigned short)atoi(argv[2]));
    if (inet_pton(AF_INET, argv[1], &sa.sin_addr) != 1) {
        fprintf(stderr, "netsend: bad address %s\n", argv[1]);
        return 2;
    }
    long long total = atoll(argv[3]) << 20;
    size_t chunk = (size_t)(argc == 5 ? atol(argv[4]) : 1024) << 10;
    if (total <= 0 || chunk == 0) {
        fprintf(stderr, "netsend: bad size\n");
        return 2;
    }
    char *buf = calloc(1, chunk);
    int s = socket(AF_INET, SOCK_STREAM, 0);
    if (!buf || s < 0 || connect(s, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
        perror("netsend: connect");
        return 1;
    }
    double t0 = now();
    long long sent = 0;
    while (sent < total) {
        size_t want = total - sent < (long long)chunk ? (size_t)(total - sent) : chunk;
        ssize_t k = write(s, buf, want);
        if (k < 0) {
            if (errno == EINTR)
                continue;
            perror("netsend: write");
            return 1;
        }
        sent += k;
    }
    shutdown(s, SHUT_WR);
    while (read(s, buf, chunk) > 0)
        ;
    double t = now() - t0;
    printf("NVB netsend %lld %.3f %.2f\n", sent, t, sent / t / 1e6);
    close(s);
    return 0;
}
