/*
 * Creates a volume on an ONTAP cluster (or jobsim) over plain HTTP and follows its job to the
 * end through jobpoll's C interface: POSIX sockets, a monotonic clock, no malloc.
 *
 *   poll_job [HOST [PORT [USER [PASSWORD]]]]     (default 127.0.0.1 8443 admin netapp123)
 *
 * Exits 0 when the job succeeded, 1 for any other outcome, 2 on a misuse of the interface.
 * Build (see ffi/run-c-example.sh):
 *   cc -std=c11 -Wall -Wextra -Werror -Iffi/include ffi/examples/poll_job.c \
 *      ffi/target/release/libjobpoll_ffi.a -lpthread -ldl -lm -o poll_job
 */
#define _POSIX_C_SOURCE 200809L

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "jobpoll.h"

#define CHECK(call)                                                                            \
    do {                                                                                       \
        jobpoll_error check_rc = (call);                                                       \
        if (check_rc != JOBPOLL_OK) {                                                          \
            fprintf(stderr, "%s: %s\n", #call, jobpoll_error_message(check_rc));               \
            exit(2);                                                                           \
        }                                                                                      \
    } while (0)

static uint64_t now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void sleep_until(uint64_t t) {
    uint64_t now = now_ms();
    if (t > now) {
        struct timespec ts = {(time_t)((t - now) / 1000u), (long)((t - now) % 1000u) * 1000000L};
        nanosleep(&ts, NULL);
    }
}

static int connect_to(const char *host, uint16_t port) {
    struct sockaddr_in addr;
    memset(&addr, 0, sizeof addr);
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    if (inet_pton(AF_INET, host, &addr.sin_addr) != 1) return -1;
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) return -1;
    if (connect(fd, (struct sockaddr *)&addr, sizeof addr) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

static int send_all(int fd, const uint8_t *p, size_t n) {
    while (n > 0) {
        ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) return -1;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

/* One read, waiting until `deadline`: bytes read, 0 when the peer closed, -1 on an error,
 * -2 when the deadline passed. */
static ssize_t recv_until(int fd, uint8_t *buf, size_t cap, uint64_t deadline) {
    for (;;) {
        uint64_t now = now_ms();
        if (now >= deadline) return -2;
        uint64_t left = deadline - now;
        struct pollfd p = {.fd = fd, .events = POLLIN};
        int r = poll(&p, 1, left > 60000u ? 60000 : (int)left);
        if (r < 0 && errno != EINTR) return -1;
        if (r <= 0) continue;
        ssize_t n = recv(fd, buf, cap, 0);
        if (n < 0 && errno == EINTR) continue;
        return n;
    }
}

static void print_event(const jobpoll_action *a) {
    switch (a->event) {
    case JOBPOLL_EVENT_ACCEPTED: printf("event: accepted\n"); break;
    case JOBPOLL_EVENT_STATE_CHANGED: printf("event: state %s\n", jobpoll_state_name(a->state)); break;
    case JOBPOLL_EVENT_RETRYING: printf("event: retrying at %llu ms\n", (unsigned long long)a->at_ms); break;
    default: printf("event: %u\n", (unsigned)a->event); break;
    }
}

int main(int argc, char **argv) {
    const char *host = argc > 1 ? argv[1] : "127.0.0.1";
    uint16_t port = (uint16_t)(argc > 2 ? atoi(argv[2]) : 8443);
    const char *user = argc > 3 ? argv[3] : "admin";
    const char *password = argc > 4 ? argv[4] : "netapp123";
    static const char path[] = "/api/storage/volumes";
    static const char body[] = "{\"name\":\"vol1\",\"svm\":{\"name\":\"vs1\"}}";

    /* The strings stay valid for the whole run: the config and the operation point to them. */
    jobpoll_config cfg;
    jobpoll_operation op;
    jobpoll_machine job; /* the machine: JOBPOLL_MACHINE_SIZE bytes on the stack */
    uint8_t tx[1024], rx[4096];
    CHECK(jobpoll_config_init(&cfg, (const uint8_t *)host, strlen(host), port, 0,
                              JOBPOLL_DIALECT_ONTAP));
    CHECK(jobpoll_config_set_basic(&cfg, (const uint8_t *)user, strlen(user),
                                   (const uint8_t *)password, strlen(password)));
    cfg.return_timeout_ms = 0;      /* answer the submit at once and poll (to show the polls) */
    cfg.initial_interval_ms = 250;
    cfg.deadline_ms = 60000;
    CHECK(jobpoll_operation_init(&op, JOBPOLL_METHOD_POST, (const uint8_t *)path, strlen(path),
                                 (const uint8_t *)body, strlen(body)));
    CHECK(jobpoll_submit(&job, &cfg, &op, now_ms()));

    int fd = -1;
    jobpoll_action a;
    for (;;) {
        CHECK(jobpoll_poll(&job, &cfg, &op, now_ms(), tx, sizeof tx, &a));
        if (a.kind == JOBPOLL_ACTION_DONE) break;
        switch (a.kind) {
        case JOBPOLL_ACTION_SEND: {
            if (a.connection == JOBPOLL_CONNECTION_FRESH || fd < 0) {
                if (fd >= 0) close(fd);
                fd = connect_to(host, port);
                if (fd < 0) {
                    CHECK(jobpoll_handle_transport_error(&job, &cfg, now_ms(), JOBPOLL_TRANSPORT_CONNECT_FAILED));
                    continue;
                }
            }
            if (send_all(fd, tx, a.len) != 0) {
                CHECK(jobpoll_handle_transport_error(&job, &cfg, now_ms(), JOBPOLL_TRANSPORT_WRITE_FAILED));
                continue;
            }
            size_t filled = 0;
            for (;;) {
                jobpoll_received r;
                ssize_t n = recv_until(fd, rx + filled, sizeof rx - filled, a.at_ms);
                if (n == -2) {
                    CHECK(jobpoll_handle_timeout(&job, &cfg, now_ms()));
                    break;
                }
                if (n < 0) {
                    CHECK(jobpoll_handle_transport_error(&job, &cfg, now_ms(), JOBPOLL_TRANSPORT_READ_FAILED));
                    break;
                }
                if (n == 0) {
                    CHECK(jobpoll_handle_eof(&job, &cfg, now_ms(), rx, sizeof rx, filled, &r));
                } else {
                    filled += (size_t)n;
                    CHECK(jobpoll_handle_response(&job, &cfg, now_ms(), rx, sizeof rx, filled, &r));
                }
                if (r.kind == JOBPOLL_RECEIVED_NEED_MORE && n > 0) continue;
                if (r.kind == JOBPOLL_RECEIVED_COMPLETE) {
                    printf("HTTP %u", (unsigned)r.status);
                    if (r.message) printf(" \"%.*s\"", (int)r.message_len, (const char *)r.message);
                    printf("\n");
                }
                break;
            }
            break;
        }
        case JOBPOLL_ACTION_CLOSE:
            if (fd >= 0) close(fd);
            fd = -1;
            break;
        case JOBPOLL_ACTION_SLEEP: sleep_until(a.at_ms); break;
        case JOBPOLL_ACTION_EVENT: print_event(&a); break;
        default: break;
        }
    }
    if (fd >= 0) close(fd);

    const uint8_t *id = NULL;
    size_t id_len = 0;
    jobpoll_job_view seen;
    uint32_t requests = 0;
    uint8_t token[JOBPOLL_MAX_TOKEN_LEN];
    size_t token_len = 0;
    jobpoll_error id_rc = jobpoll_job_id(&job, &id, &id_len);
    CHECK(jobpoll_last_seen(&job, &seen));
    CHECK(jobpoll_requests(&job, &requests));
    jobpoll_error token_rc = jobpoll_resume_token(&job, token, sizeof token, &token_len);
    printf("outcome: %s (job %.*s, state %.*s, %u requests, resume token %s, %zu bytes)\n",
           jobpoll_outcome_message(a.outcome), id_rc == JOBPOLL_OK ? (int)id_len : 0,
           id_rc == JOBPOLL_OK ? (const char *)id : "", (int)seen.raw_state_len,
           (const char *)seen.raw_state, (unsigned)requests, jobpoll_error_message(token_rc),
           token_len);
    return a.outcome == JOBPOLL_OUTCOME_SUCCEEDED ? 0 : 1;
}
