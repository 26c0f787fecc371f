//! A device-shaped use of jobpoll's codec, linked for a Cortex-M4F with no global allocator.
//!
//! If jobpoll or any of its dependencies needed `alloc`, this binary would fail to link
//! ("no global memory allocator found"). Its flash size is held against `BUDGET` by CI.
#![no_std]
#![no_main]

use core::hint::black_box;

use cortex_m_rt::entry;
#[cfg(feature = "defmt")]
use defmt_rtt as _;
use panic_halt as _;

use jobpoll::http::{Accept, Auth, Authority, Limits, Method, Request, ResponseParser, Status};
use jobpoll::json;

/// How many bytes one simulated socket read delivers.
const SEGMENT: usize = 128;

/// A job GET answered by ONTAP with a chunked 200 (one chunk carries an extension).
const RESPONSE: &[u8] = concat!(
    "HTTP/1.1 200 OK\r\n",
    "Date: Fri, 30 Apr 2021 11:21:12 GMT\r\n",
    "Server: libzapid-httpd\r\n",
    "Content-Type: application/hal+json\r\n",
    "Transfer-Encoding: chunked\r\n",
    "\r\n",
    "c8;src=job\r\n",
    r#"{"uuid":"2453aafc-a9a6-11eb-9fc7-080027c8f2a7","description":"DELETE /api/storage/volumes/60018ffd-a9a3-11eb-9fc7-080027c8f2a7/snapshots/6365e696-a9a3-11eb-9fc7-080027c8f2a7","state":"failure","messag"#,
    "\r\n131\r\n",
    r#"e":"Snapshot copy \"snapshot-60f627c7\" of volume \"rippy_pvc_e8f1cc49\" on Vserver \"nfs_vs\" has not expired or is locked.","code":1638555,"start_time":"2021-04-30T07:21:00-04:00","end_time":"2021-04-30T07:21:10-04:00","_links":{"self":{"href":"/api/cluster/jobs/2453aafc-a9a6-11eb-9fc7-080027c8f2a7"}}}"#,
    "\r\n0\r\n\r\n",
)
.as_bytes();

#[entry]
fn main() -> ! {
    let mut tx = [0u8; 512];
    let mut rx = [0u8; 1024];

    // 1. Write the job GET into tx (a device would now send tx[..len]).
    let request = Request {
        method: Method::Get,
        authority: Authority {
            host: "cluster1.example.com",
            port: 443,
            tls: true,
        },
        path: "/api/cluster/jobs/2453aafc-a9a6-11eb-9fc7-080027c8f2a7",
        query: &[("fields", "state,message,code")],
        auth: Auth::Basic {
            user: "admin",
            password: black_box("netapp1!"),
        },
        accept: Accept::Json,
        user_agent: "jobpoll-firmware",
        headers: &[],
        body: None,
        connection_close: false,
    };
    let sent = request.write(&mut tx);
    black_box((&sent, &tx));

    // 2. Receive the answer in segments, parsing the growing prefix of rx after each read.
    let mut limits = Limits::default();
    limits.max_body_len = rx.len();
    let mut parser = ResponseParser::new(limits);
    let incoming = black_box(RESPONSE);
    let mut filled = 0;
    let response = loop {
        let segment = incoming.get(filled..).unwrap_or_default();
        let n = segment.len().min(SEGMENT).min(rx.len() - filled);
        let result = if n == 0 {
            parser.parse_eof(&mut rx, filled)
        } else {
            rx[filled..filled + n].copy_from_slice(&segment[..n]);
            filled += n;
            parser.parse(&mut rx, filled)
        };
        match result {
            Ok(Status::Complete(response)) => break Ok(response),
            Ok(_) => continue,
            Err(e) => break Err(e),
        }
    };

    // 3. Read state, message (unescaped) and code from the de-chunked body.
    let mut message = [0u8; 192];
    let mut seen = (0u16, false, None, None);
    if let Ok(response) = &response {
        let job = json::parse(response.body(&rx), json::Limits::default())
            .ok()
            .and_then(|v| v.as_object());
        let field = |name| job.and_then(|j| j.get(name));
        seen = (
            response.status,
            field("state")
                .and_then(|v| v.as_str())
                .is_some_and(|s| s.eq_str("failure")),
            field("code").and_then(|v| v.as_i64_lenient()),
            field("message")
                .and_then(|v| v.as_str())
                .and_then(|s| s.unescape_into(&mut message).ok().map(str::len)),
        );
    }
    #[cfg(feature = "defmt")]
    defmt::info!(
        "status={} failed={} code={} message_len={}",
        seen.0,
        seen.1,
        seen.2,
        seen.3
    );
    black_box((&response, &seen, &message));

    loop {
        cortex_m::asm::wfi();
    }
}
