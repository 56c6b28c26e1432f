// Reference DTLS 1.2 echo on OpenSSL, for bench/dtls: the way an OpenSSL server is usually built. The listener runs
// DTLSv1_listen (stateless cookie exchange, HMAC-SHA256 over the peer's address and port under a random secret); a
// ClientHello with a valid cookie gets its own UDP socket (SO_REUSEADDR, bound to the wildcard address and the server
// port, then connected to the peer, as in echo_connected.c) and the handshake continues there with SSL_accept. One
// thread, level-triggered epoll, non-blocking sockets; every record read is written back with SSL_write. Handshake
// retransmission: DTLSv1_handle_timeout for the sessions still in their handshake, every 50 ms. A session ends on
// close_notify or an error. Certificate (ECDSA or RSA, PEM) and PSK (one identity) may both be given.
// Usage: dtls_echo PORT CERT.pem KEY.pem PSK_IDENTITY PSK_HEX [CIPHERS]   (127.0.0.1:PORT; SIGTERM ends it)
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_SESSIONS 20000
#define MAX_RECORD 17000
#define LISTENER (-1)

typedef struct {
    SSL *ssl;
    int fd;
    int established;
} session_t;

static session_t sessions[MAX_SESSIONS];
static int free_slots[MAX_SESSIONS], free_count;
static int handshaking[MAX_SESSIONS], handshaking_count; // slots whose handshake may need a retransmission
static int epfd, listener, server_port;
static unsigned char cookie_secret[32];
static const char *psk_identity;
static unsigned char psk_key[64];
static long psk_key_length;
static volatile sig_atomic_t stopping;
static unsigned char buffer[MAX_RECORD];

static int peer_bytes(SSL *ssl, unsigned char *out) {
    // The cookie's input: the peer's address and port, as DTLSv1_listen saw them.
    BIO_ADDR *peer = BIO_ADDR_new();
    BIO_dgram_get_peer(SSL_get_rbio(ssl), peer);
    size_t length = 0;
    BIO_ADDR_rawaddress(peer, out, &length);
    unsigned short port = BIO_ADDR_rawport(peer);
    memcpy(out + length, &port, sizeof port);
    BIO_ADDR_free(peer);
    return (int)(length + sizeof port);
}

static int generate_cookie(SSL *ssl, unsigned char *cookie, unsigned int *length) {
    unsigned char input[32];
    int n = peer_bytes(ssl, input);
    return HMAC(EVP_sha256(), cookie_secret, sizeof cookie_secret, input, n, cookie, length) != NULL;
}

static int verify_cookie(SSL *ssl, const unsigned char *cookie, unsigned int length) {
    unsigned char expected[EVP_MAX_MD_SIZE];
    unsigned int expected_length;
    return generate_cookie(ssl, expected, &expected_length) && length == expected_length &&
           CRYPTO_memcmp(cookie, expected, length) == 0;
}

static unsigned int psk_server(SSL *ssl, const char *identity, unsigned char *psk, unsigned int max) {
    (void)ssl;
    if (identity == NULL || strcmp(identity, psk_identity) != 0 || psk_key_length > (long)max) return 0;
    memcpy(psk, psk_key, psk_key_length);
    return (unsigned int)psk_key_length;
}

static int free_slot(void) { return free_count > 0 ? free_slots[--free_count] : -1; }

static int64_t clock_ms(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC_COARSE, &t);
    return (int64_t)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

// Retransmits the flights of handshakes that timed out, and forgets the ones that ended (established or closed).
static void handshake_timers(void) {
    int kept = 0;
    for (int i = 0; i < handshaking_count; i++) {
        int s = handshaking[i];
        if (sessions[s].ssl == NULL || sessions[s].established) continue;
        DTLSv1_handle_timeout(sessions[s].ssl);
        handshaking[kept++] = s;
    }
    handshaking_count = kept;
}

static void close_session(int s) {
    epoll_ctl(epfd, EPOLL_CTL_DEL, sessions[s].fd, NULL);
    SSL_shutdown(sessions[s].ssl); // close_notify
    SSL_free(sessions[s].ssl);
    close(sessions[s].fd);
    sessions[s].ssl = NULL;
    free_slots[free_count++] = s;
}

static SSL *listening_ssl(SSL_CTX *context) {
    SSL *ssl = SSL_new(context);
    BIO *bio = BIO_new_dgram(listener, BIO_NOCLOSE);
    SSL_set_bio(ssl, bio, bio);
    SSL_set_options(ssl, SSL_OP_COOKIE_EXCHANGE);
    return ssl;
}

static void accept_peers(SSL_CTX *context, SSL **pending) {
    for (int budget = 0; budget < 64; budget++) {
        BIO_ADDR *peer = BIO_ADDR_new();
        int verified = DTLSv1_listen(*pending, peer);
        if (verified <= 0) { // no datagram left, or one answered with a HelloVerifyRequest / dropped
            BIO_ADDR_free(peer);
            if (verified < 0) ERR_clear_error();
            if (verified == 0 && BIO_should_retry(SSL_get_rbio(*pending))) return;
            if (verified == 0) continue;
            return;
        }

        int slot = free_slot();
        int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
        int one = 1;
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        struct sockaddr_in local = {.sin_family = AF_INET, .sin_port = htons(server_port), .sin_addr.s_addr = htonl(INADDR_ANY)};
        struct sockaddr_in remote = {.sin_family = AF_INET, .sin_port = BIO_ADDR_rawport(peer)};
        size_t length = sizeof remote.sin_addr;
        BIO_ADDR_rawaddress(peer, &remote.sin_addr, &length);
        if (slot < 0 || bind(fd, (struct sockaddr *)&local, sizeof local) != 0 ||
            connect(fd, (struct sockaddr *)&remote, sizeof remote) != 0) {
            close(fd);
            BIO_ADDR_free(peer);
            SSL_free(*pending);
            *pending = listening_ssl(context);
            continue;
        }

        SSL *ssl = *pending;
        *pending = listening_ssl(context);
        BIO *bio = SSL_get_rbio(ssl);
        BIO_set_fd(bio, fd, BIO_NOCLOSE);
        BIO_ctrl(bio, BIO_CTRL_DGRAM_SET_CONNECTED, 0, peer);
        BIO_ADDR_free(peer);
        sessions[slot] = (session_t){.ssl = ssl, .fd = fd, .established = 0};
        struct epoll_event event = {.events = EPOLLIN, .data.u32 = (uint32_t)slot};
        epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &event);
        if (SSL_accept(ssl) == 1) sessions[slot].established = 1; // continues the handshake from the verified ClientHello
        else handshaking[handshaking_count++] = slot;
        ERR_clear_error();
    }
}

static void serve(int s) {
    session_t *session = &sessions[s];
    if (!session->established) {
        int result = SSL_accept(session->ssl);
        if (result == 1) {
            session->established = 1;
        } else {
            int error = SSL_get_error(session->ssl, result);
            ERR_clear_error();
            if (error != SSL_ERROR_WANT_READ && error != SSL_ERROR_WANT_WRITE) close_session(s);
            return;
        }
    }

    for (int budget = 0; budget < 64; budget++) {
        int length = SSL_read(session->ssl, buffer, sizeof buffer);
        if (length > 0) {
            SSL_write(session->ssl, buffer, length);
            continue;
        }

        int error = SSL_get_error(session->ssl, length);
        ERR_clear_error();
        if (error != SSL_ERROR_WANT_READ) close_session(s); // close_notify or a fatal error
        return;
    }
}

static void on_term(int signal) {
    (void)signal;
    stopping = 1;
}

int main(int argc, char **argv) {
    if (argc < 6) {
        fprintf(stderr, "usage: %s PORT CERT.pem KEY.pem PSK_IDENTITY PSK_HEX [CIPHERS]\n", argv[0]);
        return 2;
    }

    server_port = atoi(argv[1]);
    psk_identity = argv[4];
    unsigned char *key = OPENSSL_hexstr2buf(argv[5], &psk_key_length);
    if (key == NULL || psk_key_length > (long)sizeof psk_key) return 2;
    memcpy(psk_key, key, psk_key_length);
    OPENSSL_free(key);
    RAND_bytes(cookie_secret, sizeof cookie_secret);
    signal(SIGTERM, on_term);
    signal(SIGPIPE, SIG_IGN);

    SSL_CTX *context = SSL_CTX_new(DTLS_server_method());
    SSL_CTX_set_min_proto_version(context, DTLS1_2_VERSION);
    SSL_CTX_set_max_proto_version(context, DTLS1_2_VERSION);
    if (SSL_CTX_use_certificate_file(context, argv[2], SSL_FILETYPE_PEM) != 1 ||
        SSL_CTX_use_PrivateKey_file(context, argv[3], SSL_FILETYPE_PEM) != 1) {
        ERR_print_errors_fp(stderr);
        return 2;
    }

    SSL_CTX_set_cipher_list(context, argc > 6 ? argv[6] : "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:PSK-AES128-CCM8");
    SSL_CTX_set_psk_server_callback(context, psk_server);
    SSL_CTX_set_cookie_generate_cb(context, generate_cookie);
    SSL_CTX_set_cookie_verify_cb(context, verify_cookie);
    SSL_CTX_set_read_ahead(context, 1);
    SSL_CTX_set_session_cache_mode(context, SSL_SESS_CACHE_OFF);

    listener = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
    int one = 1;
    setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    int buffer_size = 4 << 20;
    setsockopt(listener, SOL_SOCKET, SO_RCVBUF, &buffer_size, sizeof buffer_size);
    struct sockaddr_in address = {.sin_family = AF_INET, .sin_port = htons(server_port), .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    if (bind(listener, (struct sockaddr *)&address, sizeof address) != 0) {
        perror("bind");
        return 2;
    }

    epfd = epoll_create1(0);
    struct epoll_event event = {.events = EPOLLIN, .data.u32 = (uint32_t)LISTENER};
    epoll_ctl(epfd, EPOLL_CTL_ADD, listener, &event);
    fprintf(stderr, "dtls_echo: listening on 127.0.0.1:%d\n", server_port);

    for (int s = MAX_SESSIONS - 1; s >= 0; s--) free_slots[free_count++] = s;
    SSL *pending = listening_ssl(context);
    struct epoll_event events[256];
    int64_t next_timers = clock_ms() + 50;
    while (!stopping) {
        int count = epoll_wait(epfd, events, 256, 50);
        for (int i = 0; i < count; i++) {
            if (events[i].data.u32 == (uint32_t)LISTENER) accept_peers(context, &pending);
            else if (sessions[events[i].data.u32].ssl != NULL) serve((int)events[i].data.u32);
        }

        if (clock_ms() >= next_timers) {
            handshake_timers(); // retransmission (nothing to do on loopback, but a real server needs it)
            next_timers = clock_ms() + 50;
        }
    }

    for (int s = 0; s < MAX_SESSIONS; s++)
        if (sessions[s].ssl != NULL) close_session(s);
    SSL_free(pending);
    SSL_CTX_free(context);
    return 0;
}
