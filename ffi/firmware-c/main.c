/* The C firmware stub: one ONTAP job driven from submit to outcome through jobpoll's C
 * interface, linked for a Cortex-M4F against the thumbv7em static library with no C library
 * and no allocator. The same job as the Rust firmware (firmware/src/main.rs): the "network" is
 * a canned script delivered 128 bytes per read, the clock a counter that jumps to each wakeup.
 * Every result goes to a volatile sink, so the linker keeps each entry point one job uses. */
#include <stddef.h>
#include <stdint.h>

#include "jobpoll.h"

#define SEGMENT 128u

static const char answer_submit[] =
    "HTTP/1.1 202 Accepted\r\nContent-Type: application/hal+json\r\nContent-Length: 139\r\n\r\n"
    "{\"job\":{\"uuid\":\"2453aafc-a9a6-11eb-9fc7-080027c8f2a7\",\"_links\":{\"self\":{\"href\":"
    "\"/api/cluster/jobs/2453aafc-a9a6-11eb-9fc7-080027c8f2a7\"}}}}";
static const char answer_running[] =
    "HTTP/1.1 200 OK\r\nKeep-Alive: timeout=5, max=100\r\nContent-Length: 69\r\n\r\n"
    "{\"state\":\"running\",\"message\":\"Creating the volume \\\"vol1\\\"\",\"code\":0}";
static const char answer_success[] =
    "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
    "10;ext=1\r\n{\"state\":\"succes\r\n22\r\ns\",\"message\":\"success\",\"code\":\"0\"}\r\n0\r\n\r\n";

static const struct {
    const char *bytes;
    size_t len;
} answers[3] = {
    {answer_submit, sizeof answer_submit - 1},
    {answer_running, sizeof answer_running - 1},
    {answer_success, sizeof answer_success - 1},
};

static const char host[] = "cluster1.example.com";
static const char user[] = "admin";
static const char *volatile password = "netapp1!";
static const char path[] = "/api/storage/volumes";
static const char body[] = "{\"name\":\"vol1\",\"svm\":{\"name\":\"vs1\"}}";

static jobpoll_machine job; /* in .bss: JOBPOLL_MACHINE_SIZE bytes */
volatile uint32_t sink;

static size_t length(const char *s) {
    size_t n = 0;
    while (s[n]) n++;
    return n;
}

static void keep(uintptr_t v) { sink = sink + (uint32_t)v; }

int main(void) {
    uint8_t tx[512], rx[1024];
    jobpoll_config cfg;
    jobpoll_operation op;
    jobpoll_action a = {0};
    uint64_t now = 0;
    unsigned next = 0;
    const char *pw = password;

    if (jobpoll_config_init(&cfg, (const uint8_t *)host, sizeof host - 1, 443, 1,
                            JOBPOLL_DIALECT_ONTAP) != JOBPOLL_OK ||
        jobpoll_config_set_basic(&cfg, (const uint8_t *)user, sizeof user - 1,
                                 (const uint8_t *)pw, length(pw)) != JOBPOLL_OK ||
        jobpoll_operation_init(&op, JOBPOLL_METHOD_POST, (const uint8_t *)path, sizeof path - 1,
                               (const uint8_t *)body, sizeof body - 1) != JOBPOLL_OK ||
        jobpoll_submit(&job, &cfg, &op, now) != JOBPOLL_OK) {
        keep((uintptr_t)jobpoll_error_message(1));
        return 1;
    }
    /* The drive loop, bounded so a bug cannot hang the device. */
    for (int step = 0; step < 64; step++) {
        jobpoll_error rc = jobpoll_poll(&job, &cfg, &op, now, tx, sizeof tx, &a);
        if (rc != JOBPOLL_OK) {
            keep((uintptr_t)jobpoll_error_message(rc));
            break;
        }
        if (a.kind == JOBPOLL_ACTION_DONE) break;
        if (a.kind == JOBPOLL_ACTION_SLEEP) {
            now = a.at_ms;
            continue;
        }
        if (a.kind != JOBPOLL_ACTION_SEND) continue;
        keep(tx[0] + a.len); /* a device hands tx[0..len) to its socket */
        if (next >= 3) {
            jobpoll_handle_transport_error(&job, &cfg, now, JOBPOLL_TRANSPORT_READ_FAILED);
            continue;
        }
        const char *answer = answers[next].bytes;
        size_t answer_len = answers[next].len;
        next++;
        now += 20;
        size_t filled = 0;
        for (;;) {
            jobpoll_received r;
            size_t n = answer_len - filled;
            if (n > SEGMENT) n = SEGMENT;
            if (n > sizeof rx - filled) n = sizeof rx - filled;
            if (now >= a.at_ms) {
                jobpoll_handle_timeout(&job, &cfg, now);
                break;
            }
            if (n == 0) {
                rc = jobpoll_handle_eof(&job, &cfg, now, rx, sizeof rx, filled, &r);
            } else {
                for (size_t i = 0; i < n; i++) rx[filled + i] = (uint8_t)answer[filled + i];
                filled += n;
                rc = jobpoll_handle_response(&job, &cfg, now, rx, sizeof rx, filled, &r);
            }
            if (rc == JOBPOLL_OK && r.kind == JOBPOLL_RECEIVED_NEED_MORE && n > 0) continue;
            if (rc == JOBPOLL_OK && r.kind == JOBPOLL_RECEIVED_COMPLETE) {
                const uint8_t *message;
                size_t message_len;
                jobpoll_last_message(&job, &message, &message_len);
                keep(message_len); /* a device would log or display it */
            }
            break;
        }
    }

    const uint8_t *id;
    size_t id_len, token_len;
    uint8_t token[JOBPOLL_MAX_TOKEN_LEN];
    jobpoll_job_view seen;
    uint32_t requests;
    jobpoll_action outcome;
    if (jobpoll_job_id(&job, &id, &id_len) == JOBPOLL_OK) keep(id_len);
    if (jobpoll_last_seen(&job, &seen) == JOBPOLL_OK) keep(seen.state + (uintptr_t)seen.code);
    if (jobpoll_requests(&job, &requests) == JOBPOLL_OK) keep(requests);
    if (jobpoll_resume_token(&job, token, sizeof token, &token_len) == JOBPOLL_OK) keep(token_len);
    if (jobpoll_get_outcome(&job, &outcome) == JOBPOLL_OK) {
        keep((uintptr_t)jobpoll_outcome_message(outcome.outcome));
    }
    return a.outcome == JOBPOLL_OUTCOME_SUCCEEDED ? 0 : 1;
}
