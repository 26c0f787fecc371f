#!/usr/bin/env python3
"""Creates a volume on an ONTAP cluster (or jobsim) over plain HTTP and follows its job to the
end through jobpoll's C interface with ctypes: no build step beyond the shared library.

    python3 poll_job.py [--lib PATH] [--header PATH] [HOST [PORT [USER [PASSWORD]]]]

The storage constants and enum values are read from jobpoll.h; the struct layouts below mirror
it. Exits 0 when the job succeeded; any other outcome fails the assertion at the end.
"""

import argparse
import ctypes as C
import os
import re
import socket
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))


def header_constants(path):
    """`#define JOBPOLL_X N` and the `JOBPOLL_X = N` enum values of the header."""
    text = open(path, encoding="utf-8").read()
    values = {m[0]: int(m[1]) for m in re.findall(r"#define (JOBPOLL_[A-Z_]+) (\d+)", text)}
    values.update({m[0]: int(m[1]) for m in re.findall(r"\b(JOBPOLL_[A-Z_]+) = (\d+)", text)})
    return values


class Config(C.Structure):
    _fields_ = [
        ("tag", C.c_uint32), ("dialect", C.c_uint32),
        ("host", C.c_void_p), ("host_len", C.c_size_t),
        ("port", C.c_uint16), ("tls", C.c_uint8), ("cancel_on_deadline", C.c_uint8),
        ("max_retries", C.c_uint8), ("jitter_percent", C.c_uint8),
        ("auth", C.c_uint32),
        ("user", C.c_void_p), ("user_len", C.c_size_t),
        ("password", C.c_void_p), ("password_len", C.c_size_t),
        ("authorization", C.c_void_p), ("authorization_len", C.c_size_t),
        ("deadline_ms", C.c_uint64), ("request_timeout_ms", C.c_uint64),
        ("initial_interval_ms", C.c_uint64), ("max_interval_ms", C.c_uint64),
        ("retry_max_ms", C.c_uint64), ("return_timeout_ms", C.c_uint64), ("seed", C.c_uint64),
    ]


class Operation(C.Structure):
    _fields_ = [
        ("tag", C.c_uint32), ("method", C.c_uint32),
        ("path", C.c_void_p), ("path_len", C.c_size_t),
        ("body", C.c_void_p), ("body_len", C.c_size_t),
    ]


class Action(C.Structure):
    _fields_ = [
        ("kind", C.c_uint32), ("len", C.c_size_t), ("at_ms", C.c_uint64),
        ("connection", C.c_uint32), ("purpose", C.c_uint32), ("idempotent", C.c_bool),
        ("event", C.c_uint32), ("state", C.c_uint32), ("cause", C.c_uint32),
        ("transport_error", C.c_uint32), ("status", C.c_uint16), ("outcome", C.c_uint32),
        ("count", C.c_uint32),
    ]


class Received(C.Structure):
    _fields_ = [
        ("kind", C.c_uint32), ("status", C.c_uint16), ("keep_alive", C.c_bool),
        ("consumed", C.c_size_t), ("message", C.c_void_p), ("message_len", C.c_size_t),
        ("message_escaped", C.c_bool), ("jobs", C.c_uint32),
    ]


class JobView(C.Structure):
    _fields_ = [
        ("state", C.c_uint32), ("raw_state", C.c_void_p), ("raw_state_len", C.c_size_t),
        ("has_code", C.c_bool), ("code", C.c_int64),
    ]


def load(lib_path):
    lib = C.CDLL(lib_path)
    P = C.POINTER
    u8p = C.c_void_p
    sigs = {
        "jobpoll_config_init": [P(Config), u8p, C.c_size_t, C.c_uint16, C.c_uint8, C.c_uint32],
        "jobpoll_config_set_basic": [P(Config), u8p, C.c_size_t, u8p, C.c_size_t],
        "jobpoll_operation_init": [P(Operation), C.c_uint32, u8p, C.c_size_t, u8p, C.c_size_t],
        "jobpoll_submit": [C.c_void_p, P(Config), P(Operation), C.c_uint64],
        "jobpoll_poll": [C.c_void_p, P(Config), P(Operation), C.c_uint64, u8p, C.c_size_t,
                         P(Action)],
        "jobpoll_handle_response": [C.c_void_p, C.c_void_p, C.c_uint64, u8p, C.c_size_t, C.c_size_t,
                                    P(Received)],
        "jobpoll_handle_eof": [C.c_void_p, C.c_void_p, C.c_uint64, u8p, C.c_size_t, C.c_size_t, P(Received)],
        "jobpoll_handle_transport_error": [C.c_void_p, C.c_void_p, C.c_uint64, C.c_uint32],
        "jobpoll_handle_timeout": [C.c_void_p, C.c_void_p, C.c_uint64],
        "jobpoll_job_id": [C.c_void_p, P(C.c_void_p), P(C.c_size_t)],
        "jobpoll_last_seen": [C.c_void_p, P(JobView)],
        "jobpoll_requests": [C.c_void_p, P(C.c_uint32)],
    }
    for name, args in sigs.items():
        fn = getattr(lib, name)
        fn.argtypes = args
        fn.restype = C.c_uint32
    for name in ("jobpoll_error_message", "jobpoll_outcome_message", "jobpoll_state_name"):
        fn = getattr(lib, name)
        fn.argtypes = [C.c_uint32]
        fn.restype = C.c_char_p
    return lib


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--lib", default=os.path.join(HERE, "..", "target", "release",
                                                  "libjobpoll_ffi.so"))
    ap.add_argument("--header", default=os.path.join(HERE, "..", "include", "jobpoll.h"))
    ap.add_argument("host", nargs="?", default="127.0.0.1")
    ap.add_argument("port", nargs="?", type=int, default=8443)
    ap.add_argument("user", nargs="?", default="admin")
    ap.add_argument("password", nargs="?", default="netapp123")
    args = ap.parse_args()

    K = header_constants(args.header)
    lib = load(args.lib)

    def check(rc, what):
        if rc != K["JOBPOLL_OK"]:
            sys.exit(f"{what}: {lib.jobpoll_error_message(rc).decode()}")

    def now_ms():
        return time.monotonic_ns() // 1_000_000

    # Every buffer the config and the operation point to is kept alive by these names until the
    # end (the library reads them again on later calls).
    host = C.create_string_buffer(args.host.encode(), len(args.host))
    user = C.create_string_buffer(args.user.encode(), len(args.user))
    password = C.create_string_buffer(args.password.encode(), len(args.password))
    path = C.create_string_buffer(b"/api/storage/volumes", 20)
    body_bytes = b'{"name":"vol1","svm":{"name":"vs1"}}'
    body = C.create_string_buffer(body_bytes, len(body_bytes))
    # The machine's storage: JOBPOLL_MACHINE_SIZE bytes, 8-aligned (an array of uint64).
    assert K["JOBPOLL_MACHINE_ALIGN"] <= C.alignment(C.c_uint64)
    job = (C.c_uint64 * (K["JOBPOLL_MACHINE_SIZE"] // 8))()
    tx = (C.c_uint8 * 1024)()
    rx = (C.c_uint8 * 4096)()

    cfg, op = Config(), Operation()
    check(lib.jobpoll_config_init(C.byref(cfg), C.addressof(host), len(args.host), args.port, 0,
                                  K["JOBPOLL_DIALECT_ONTAP"]), "config_init")
    check(lib.jobpoll_config_set_basic(C.byref(cfg), C.addressof(user), len(args.user),
                                       C.addressof(password), len(args.password)), "set_basic")
    cfg.return_timeout_ms = 0  # answer the submit at once and poll, to show the polls
    cfg.initial_interval_ms = 250
    cfg.deadline_ms = 60_000
    check(lib.jobpoll_operation_init(C.byref(op), K["JOBPOLL_METHOD_POST"], C.addressof(path), 20,
                                     C.addressof(body), len(body_bytes)), "operation_init")
    check(lib.jobpoll_submit(job, C.byref(cfg), C.byref(op), now_ms()), "submit")

    sock = None
    action = Action()
    while True:
        check(lib.jobpoll_poll(job, C.byref(cfg), C.byref(op), now_ms(), tx, len(tx),
                               C.byref(action)), "poll")
        kind = action.kind
        if kind == K["JOBPOLL_ACTION_DONE"]:
            break
        if kind == K["JOBPOLL_ACTION_SEND"]:
            if action.connection == K["JOBPOLL_CONNECTION_FRESH"] or sock is None:
                if sock is not None:
                    sock.close()
                try:
                    sock = socket.create_connection((args.host, args.port), timeout=5)
                except OSError:
                    sock = None
                    lib.jobpoll_handle_transport_error(job, C.byref(cfg), now_ms(),
                                                       K["JOBPOLL_TRANSPORT_CONNECT_FAILED"])
                    continue
            try:
                sock.sendall(bytes(tx[: action.len]))
            except OSError:
                lib.jobpoll_handle_transport_error(job, C.byref(cfg), now_ms(), K["JOBPOLL_TRANSPORT_WRITE_FAILED"])
                continue
            filled = 0
            view = memoryview(rx).cast("B")
            while True:
                left = action.at_ms - now_ms()
                if left <= 0:
                    check(lib.jobpoll_handle_timeout(job, C.byref(cfg), now_ms()), "handle_timeout")
                    break
                sock.settimeout(left / 1000)
                try:
                    n = sock.recv_into(view[filled:])
                except socket.timeout:
                    check(lib.jobpoll_handle_timeout(job, C.byref(cfg), now_ms()), "handle_timeout")
                    break
                except OSError:
                    lib.jobpoll_handle_transport_error(job, C.byref(cfg), now_ms(),
                                                       K["JOBPOLL_TRANSPORT_READ_FAILED"])
                    break
                r = Received()
                if n == 0:
                    check(lib.jobpoll_handle_eof(job, C.byref(cfg), now_ms(), rx, len(rx), filled, C.byref(r)),
                          "handle_eof")
                else:
                    filled += n
                    check(lib.jobpoll_handle_response(job, C.byref(cfg), now_ms(), rx, len(rx), filled,
                                                      C.byref(r)), "handle_response")
                if r.kind == K["JOBPOLL_RECEIVED_NEED_MORE"] and n > 0:
                    continue
                if r.kind == K["JOBPOLL_RECEIVED_COMPLETE"]:
                    # The message borrows rx: copy it out before the next read.
                    message = C.string_at(r.message, r.message_len).decode() if r.message else ""
                    print(f"HTTP {r.status} {message!r}")
                break
        elif kind == K["JOBPOLL_ACTION_CLOSE"]:
            if sock is not None:
                sock.close()
            sock = None
        elif kind == K["JOBPOLL_ACTION_SLEEP"]:
            time.sleep(max(0, action.at_ms - now_ms()) / 1000)
        elif kind == K["JOBPOLL_ACTION_EVENT"]:
            if action.event == K["JOBPOLL_EVENT_STATE_CHANGED"]:
                print("event: state", lib.jobpoll_state_name(action.state).decode())
            else:
                print("event:", action.event)
    if sock is not None:
        sock.close()

    id_ptr, id_len = C.c_void_p(), C.c_size_t()
    check(lib.jobpoll_job_id(job, C.byref(id_ptr), C.byref(id_len)), "job_id")
    job_id = C.string_at(id_ptr, id_len.value).decode()
    seen, requests = JobView(), C.c_uint32()
    check(lib.jobpoll_last_seen(job, C.byref(seen)), "last_seen")
    check(lib.jobpoll_requests(job, C.byref(requests)), "requests")
    raw_state = C.string_at(seen.raw_state, seen.raw_state_len).decode()
    print(f"outcome: {lib.jobpoll_outcome_message(action.outcome).decode()} (job {job_id}, "
          f"state {raw_state}, {requests.value} requests)")
    assert action.outcome == K["JOBPOLL_OUTCOME_SUCCEEDED"], "the job did not succeed"
    assert raw_state == "success" and requests.value >= 2


if __name__ == "__main__":
    main()
