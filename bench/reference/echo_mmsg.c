// Reference echo: one unconnected socket, recvmmsg/sendmmsg in batches of 64, one thread.
// The classic "fast" UDP server: no sessions, the peer's address comes with each datagram.
// Usage: echo_mmsg PORT   (binds 127.0.0.1:PORT; SIGTERM ends it)
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define BATCH 64
#define MAX_DATAGRAM 65536

int main(int argc, char **argv) {
    if (argc != 2) { fprintf(stderr, "usage: %s PORT\n", argv[0]); return 2; }
    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    int rcvbuf = 4 << 20;
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
    struct sockaddr_in local = { .sin_family = AF_INET, .sin_port = htons(atoi(argv[1])) };
    local.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(fd, (struct sockaddr *)&local, sizeof local) != 0) { perror("bind"); return 1; }
    printf("echo_mmsg: listening on 127.0.0.1:%s\n", argv[1]);
    fflush(stdout);

    static char buffers[BATCH][MAX_DATAGRAM];
    struct sockaddr_in peers[BATCH];
    struct iovec iov[BATCH];
    struct mmsghdr msgs[BATCH];
    for (;;) {
        for (int i = 0; i < BATCH; i++) {
            iov[i] = (struct iovec){ buffers[i], MAX_DATAGRAM };
            msgs[i].msg_hdr = (struct msghdr){ .msg_name = &peers[i], .msg_namelen = sizeof peers[i], .msg_iov = &iov[i], .msg_iovlen = 1 };
        }
        int n = recvmmsg(fd, msgs, BATCH, MSG_WAITFORONE, NULL);
        if (n < 0) { if (errno == EINTR) continue; perror("recvmmsg"); return 1; }
        for (int i = 0; i < n; i++) iov[i].iov_len = msgs[i].msg_len;
        for (int sent = 0; sent < n;) {
            int m = sendmmsg(fd, msgs + sent, n - sent, 0);
            if (m < 0) { if (errno == EINTR) continue; sent++; continue; } // a failed send drops that datagram
            sent += m;
        }
    }
}
