// Reference echo: the connected-socket model. Each new peer gets its own UDP socket, SO_REUSEADDR, bound to the
// wildcard address and the server port, then connected to the peer (binding to the wildcard keeps other peers'
// datagrams off the new socket during the bind-to-connect window: design-notes §3). One thread, level-triggered
// epoll, each socket read until EAGAIN. Datagrams that reach the listener from a known peer (queued before its
// connect) are answered through the session socket. Sessions idle longer than IDLE_MS are closed (swept every 100 ms).
// Usage: echo_connected PORT [IDLE_MS]   (listener on 127.0.0.1:PORT; SIGTERM ends it)
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_SESSIONS 20000
#define BUCKETS (1 << 16)
#define MAX_DATAGRAM 65536
#define LISTENER UINT32_MAX

typedef struct {
    int fd;          // -1 when the slot is free
    uint32_t addr;   // peer, network order
    uint16_t port;
    int next;        // hash chain / free list
    int64_t last_ms; // last datagram
} session_t;

static session_t sessions[MAX_SESSIONS];
static int buckets[BUCKETS];
static int free_list = -1;
static int epfd, listener, server_port;
static int64_t now_ms;
static char buffer[MAX_DATAGRAM];

static int64_t clock_ms(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC_COARSE, &t);
    return (int64_t)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

static unsigned hash(uint32_t addr, uint16_t port) { return ((addr * 2654435761u) ^ (port * 40503u)) & (BUCKETS - 1); }

static int find(uint32_t addr, uint16_t port) {
    for (int i = buckets[hash(addr, port)]; i >= 0; i = sessions[i].next)
        if (sessions[i].addr == addr && sessions[i].port == port) return i;
    return -1;
}

static void unlink_session(int s) {
    int *link = &buckets[hash(sessions[s].addr, sessions[s].port)];
    while (*link != s) link = &sessions[*link].next;
    *link = sessions[s].next;
}

static void close_session(int s) {
    unlink_session(s);
    close(sessions[s].fd); // also removes it from epoll
    sessions[s].fd = -1;
    sessions[s].next = free_list;
    free_list = s;
}

static int accept_session(const struct sockaddr_in *peer) {
    if (free_list < 0) return -1;
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
    if (fd < 0) return -1;
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in any = { .sin_family = AF_INET, .sin_port = htons(server_port), .sin_addr.s_addr = htonl(INADDR_ANY) };
    if (bind(fd, (struct sockaddr *)&any, sizeof any) != 0 || connect(fd, (const struct sockaddr *)peer, sizeof *peer) != 0) {
        close(fd);
        return -1;
    }
    int s = free_list;
    free_list = sessions[s].next;
    sessions[s] = (session_t){ .fd = fd, .addr = peer->sin_addr.s_addr, .port = peer->sin_port, .last_ms = now_ms };
    unsigned h = hash(sessions[s].addr, sessions[s].port);
    sessions[s].next = buckets[h];
    buckets[h] = s;
    struct epoll_event ev = { .events = EPOLLIN, .data.u32 = (uint32_t)s };
    epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev);
    return s;
}

// The listener gets a budget per wake-up: under an accept storm new peers can arrive faster than they are accepted,
// and reading it until EAGAIN would starve every established session.
#define LISTENER_BUDGET 64

static void read_listener(void) {
    for (int budget = LISTENER_BUDGET; budget > 0; budget--) {
        struct sockaddr_in peer;
        socklen_t len = sizeof peer;
        ssize_t n = recvfrom(listener, buffer, sizeof buffer, 0, (struct sockaddr *)&peer, &len);
        if (n < 0) return; // EAGAIN (or an error: nothing else to do for this wake-up)
        int s = find(peer.sin_addr.s_addr, peer.sin_port);
        if (s < 0) s = accept_session(&peer);
        if (s < 0) { sendto(listener, buffer, n, 0, (struct sockaddr *)&peer, len); continue; } // no fd left: serve unconnected
        sessions[s].last_ms = now_ms;
        send(sessions[s].fd, buffer, n, 0);
    }
}

static void read_session(int s) {
    for (;;) {
        ssize_t n = recv(sessions[s].fd, buffer, sizeof buffer, 0);
        if (n < 0) {
            if (errno == EAGAIN) return;
            if (errno == ECONNREFUSED) continue; // ICMP from a departed peer; the idle sweep closes it
            return;
        }
        sessions[s].last_ms = now_ms;
        send(sessions[s].fd, buffer, n, 0);
    }
}

int main(int argc, char **argv) {
    if (argc < 2 || argc > 3) { fprintf(stderr, "usage: %s PORT [IDLE_MS]\n", argv[0]); return 2; }
    server_port = atoi(argv[1]);
    int64_t idle_ms = argc == 3 ? atoll(argv[2]) : 60000;
    for (int i = 0; i < BUCKETS; i++) buckets[i] = -1;
    for (int i = MAX_SESSIONS - 1; i >= 0; i--) { sessions[i].fd = -1; sessions[i].next = free_list; free_list = i; }

    listener = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
    int one = 1, rcvbuf = 4 << 20;
    setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    setsockopt(listener, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
    struct sockaddr_in local = { .sin_family = AF_INET, .sin_port = htons(server_port), .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    if (bind(listener, (struct sockaddr *)&local, sizeof local) != 0) { perror("bind"); return 1; }
    epfd = epoll_create1(0);
    struct epoll_event ev = { .events = EPOLLIN, .data.u32 = LISTENER };
    epoll_ctl(epfd, EPOLL_CTL_ADD, listener, &ev);
    printf("echo_connected: listening on 127.0.0.1:%d, idle timeout %lld ms\n", server_port, (long long)idle_ms);
    fflush(stdout);

    struct epoll_event events[256];
    int64_t next_sweep = clock_ms() + 100;
    for (;;) {
        int n = epoll_wait(epfd, events, 256, 100);
        now_ms = clock_ms();
        for (int i = 0; i < n; i++) {
            if (events[i].data.u32 == LISTENER) read_listener();
            else read_session((int)events[i].data.u32);
        }
        if (now_ms >= next_sweep) {
            for (int s = 0; s < MAX_SESSIONS; s++)
                if (sessions[s].fd >= 0 && now_ms - sessions[s].last_ms > idle_ms) close_session(s);
            next_sweep = now_ms + 100;
        }
    }
}
