// Bulk UDP reference for bench/bulk/run.sh: one peer streaming 1,200-byte datagrams, with and without UDP_SEGMENT
// (GSO) and UDP_GRO, as a C server written for the job would do it. Roles:
//   bulk server-send PORT gso|plain WARMUP DURATION   waits for a datagram, then streams to its sender: one sendmsg
//                                                     with UDP_SEGMENT per 54 datagrams (gso, the most 65,507 bytes hold) or one send() each
//   bulk server-recv PORT gro|plain WARMUP DURATION   reads with recvmmsg (64 reads a call) and calls a function per
//                                                     datagram, as a handler is called; coalesced reads split (gro)
//   bulk client-recv PORT SECONDS                     the s2c load: says hello, counts what arrives (UDP_GRO)
//   bulk client-send PORT SECONDS                     the c2s load: streams with UDP_SEGMENT, 54 datagrams a call
// Servers print "listening" once bound, then measure themselves after WARMUP seconds for DURATION seconds (datagrams
// and getrusage CPU) and print one line: datagrams=N seconds=S cpu_seconds=C. Everything on 127.0.0.1.
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/udp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#ifndef UDP_SEGMENT
#define UDP_SEGMENT 103
#endif
#ifndef UDP_GRO
#define UDP_GRO 104
#endif

#define SIZE 1200
#define SEGMENTS (65507 / SIZE) // as many as one UDP_SEGMENT send takes: 54
#define SLOTS 64
#define SLOT (64 * 1024)

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec / 1e9;
}

static double cpu(void) {
    struct rusage u;
    getrusage(RUSAGE_SELF, &u);
    return u.ru_utime.tv_sec + u.ru_utime.tv_usec / 1e6 + u.ru_stime.tv_sec + u.ru_stime.tv_usec / 1e6;
}

static int udp_socket(int port, int bind_it) {
    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    int big = 16 << 20;
    setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &big, sizeof big);
    setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &big, sizeof big);
    if (bind_it) {
        struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port), .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
        if (bind(fd, (struct sockaddr *)&a, sizeof a) != 0) { perror("bind"); exit(1); }
    }
    return fd;
}

static struct sockaddr_in server_address(int port) {
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port), .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    return a;
}

// One sendmsg carrying SEGMENTS datagrams of SIZE bytes on a connected socket.
static int send_segments(int fd, char *buffer) {
    char control[CMSG_SPACE(sizeof(uint16_t))] = {0};
    struct iovec iov = {.iov_base = buffer, .iov_len = SIZE * SEGMENTS};
    struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = control, .msg_controllen = sizeof control};
    struct cmsghdr *c = CMSG_FIRSTHDR(&m);
    c->cmsg_level = SOL_UDP;
    c->cmsg_type = UDP_SEGMENT;
    c->cmsg_len = CMSG_LEN(sizeof(uint16_t));
    *(uint16_t *)CMSG_DATA(c) = SIZE;
    return sendmsg(fd, &m, 0) < 0 ? 0 : SEGMENTS;
}

// What the application sees of each datagram, as a UdpSessions handler does: one call per datagram.
static volatile unsigned char sink;
__attribute__((noinline)) static void on_datagram(const unsigned char *data, unsigned length) {
    sink ^= data[0] ^ (unsigned char)length;
}

// Reads with recvmmsg into 64 KiB slots; hands each datagram to on_datagram (coalesced reads split by their segment
// size) and returns how many there were.
static long receive_batch(int fd, struct mmsghdr *msgs, char *controls) {
    for (int i = 0; i < SLOTS; i++) {
        msgs[i].msg_hdr.msg_control = controls + i * 64;
        msgs[i].msg_hdr.msg_controllen = 64;
    }
    int n = recvmmsg(fd, msgs, SLOTS, MSG_DONTWAIT, NULL);
    if (n <= 0) return 0;
    long datagrams = 0;
    for (int i = 0; i < n; i++) {
        int segment = 0;
        for (struct cmsghdr *c = CMSG_FIRSTHDR(&msgs[i].msg_hdr); c; c = CMSG_NXTHDR(&msgs[i].msg_hdr, c))
            if (c->cmsg_level == SOL_UDP && c->cmsg_type == UDP_GRO) segment = *(int *)CMSG_DATA(c);
        unsigned len = msgs[i].msg_len, step = segment > 0 ? (unsigned)segment : len;
        const unsigned char *data = msgs[i].msg_hdr.msg_iov->iov_base;
        for (unsigned offset = 0; offset < len || offset == 0; offset += step ? step : 1) {
            on_datagram(data + offset, len - offset < step ? len - offset : step);
            datagrams++;
            if (len == 0) break;
        }
    }
    return datagrams;
}

static struct mmsghdr *receive_buffers(char **controls) {
    static struct iovec iov[SLOTS];
    struct mmsghdr *msgs = calloc(SLOTS, sizeof *msgs);
    char *data = malloc((size_t)SLOTS * SLOT);
    *controls = calloc(SLOTS, 64);
    for (int i = 0; i < SLOTS; i++) {
        iov[i].iov_base = data + (size_t)i * SLOT;
        iov[i].iov_len = SLOT;
        msgs[i].msg_hdr.msg_iov = &iov[i];
        msgs[i].msg_hdr.msg_iovlen = 1;
    }
    return msgs;
}

static void report(long datagrams, double seconds, double cpu_seconds) {
    printf("datagrams=%ld seconds=%.3f cpu_seconds=%.3f\n", datagrams, seconds, cpu_seconds);
    fflush(stdout);
}

int main(int argc, char **argv) {
    if (argc < 4) { fprintf(stderr, "usage: see the comment at the top of bulk.c\n"); return 2; }
    const char *role = argv[1];
    int port = atoi(argv[2]);
    char *buffer = calloc(SIZE * SEGMENTS, 1);
    if (!strcmp(role, "server-send") || !strcmp(role, "server-recv")) {
        int gso = !strcmp(argv[3], "gso") || !strcmp(argv[3], "gro");
        double warmup = atof(argv[4]), duration = atof(argv[5]);
        int fd = udp_socket(port, 1);
        printf("listening on %d\n", port);
        fflush(stdout);
        if (!strcmp(role, "server-recv")) {
            int on = 1;
            if (gso) setsockopt(fd, SOL_UDP, UDP_GRO, &on, sizeof on);
            char *controls;
            struct mmsghdr *msgs = receive_buffers(&controls);
            long count = 0, start_count = 0;
            double first = 0, start = 0, start_cpu = 0;
            for (;;) {
                long got = receive_batch(fd, msgs, controls);
                count += got;
                if (got == 0) { usleep(50); }
                if (count > 0 && first == 0) first = now();
                if (first > 0 && start == 0 && now() - first >= warmup) { start = now(); start_cpu = cpu(); start_count = count; }
                if (start > 0 && now() - start >= duration) { report(count - start_count, now() - start, cpu() - start_cpu); return 0; }
            }
        }
        struct sockaddr_in peer;
        socklen_t length = sizeof peer;
        char hello[16];
        recvfrom(fd, hello, sizeof hello, 0, (struct sockaddr *)&peer, &length);
        connect(fd, (struct sockaddr *)&peer, length);
        long count = 0, start_count = 0;
        double first = now(), start = 0, start_cpu = 0;
        for (long i = 0;; i++) {
            if (gso) count += send_segments(fd, buffer);
            else for (int k = 0; k < SEGMENTS; k++) count += send(fd, buffer, SIZE, 0) == SIZE;
            if (start == 0 && now() - first >= warmup) { start = now(); start_cpu = cpu(); start_count = count; }
            if (start > 0 && now() - start >= duration) { report(count - start_count, now() - start, cpu() - start_cpu); return 0; }
        }
    }
    double seconds = atof(argv[3]);
    int fd = udp_socket(0, 0);
    struct sockaddr_in server = server_address(port);
    connect(fd, (struct sockaddr *)&server, sizeof server);
    double end = now() + seconds;
    long count = 0;
    if (!strcmp(role, "client-send")) {
        while (now() < end) count += send_segments(fd, buffer);
    } else {
        int on = 1;
        setsockopt(fd, SOL_UDP, UDP_GRO, &on, sizeof on);
        char *controls;
        struct mmsghdr *msgs = receive_buffers(&controls);
        send(fd, "hello", 5, 0);
        while (now() < end) { long got = receive_batch(fd, msgs, controls); count += got; if (got == 0) usleep(20); }
    }
    printf("client_datagrams=%ld\n", count);
    return 0;
}
