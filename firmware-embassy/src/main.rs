//! An embassy firmware for a Cortex-M4F: embassy-executor runs the embassy-net stack and the
//! task that creates an ONTAP volume and follows its job to the end, through jobpoll's async
//! driver (`jobpoll::adapters::embedded_async`) and a connector around an embassy-net
//! `TcpSocket` (`connector.rs`). The device code is the `bare_metal` example's, unchanged.
//!
//! It links for thumbv7em-none-eabihf with no allocator, and CI holds its flash against
//! `BUDGET`. It has not run on hardware: `board.rs` stands in for a board's HAL (a SysTick
//! time driver, an Ethernet MAC that receives nothing), so the figure is the firmware's without
//! a real MAC driver. Plain HTTP: the cluster is reached through a TLS-terminating proxy on a
//! trusted segment, or the connector wraps its socket in a TLS stack (see `connector.rs`).
#![no_std]
#![no_main]

#[path = "../../examples/bare_metal/device.rs"]
mod device;

mod board;
mod connector;

use core::hint::black_box;

use embassy_executor::Spawner;
use embassy_net::{Runner, Stack, StackResources};
use jobpoll::Instant;
use jobpoll::adapters::embedded_async::Clock;
use jobpoll::http::{Auth, Authority};
use panic_halt as _;
use static_cell::StaticCell;

use crate::board::Mac;
use crate::connector::TcpConnector;

/// Sockets the stack holds: DHCP, DNS, and the connector's TCP socket.
const SOCKETS: usize = 3;

/// The socket's receive buffer: a whole answer (`device::RX_BUFFER`) in flight at once.
const SOCKET_RX: usize = device::RX_BUFFER;
/// The socket's transmit buffer: a whole request (`device::TX_BUFFER`).
const SOCKET_TX: usize = device::TX_BUFFER;

/// Where the cluster's REST API is reached (a proxy that terminates TLS in front of it).
const SERVER: Authority<'static> = Authority {
    host: "cluster1.example.com",
    port: 80,
    tls: false,
};

/// jobpoll's clock: embassy-time's, in milliseconds since boot.
struct EmbassyClock;

impl Clock for EmbassyClock {
    fn now(&self) -> Instant {
        Instant::from_millis(embassy_time::Instant::now().as_millis())
    }
}

/// Progress lines; a board sends them to defmt or a UART.
struct Quiet;

impl device::Report for Quiet {
    fn line(&mut self, args: core::fmt::Arguments<'_>) {
        black_box(args);
    }
}

#[embassy_executor::task]
async fn net(mut runner: Runner<'static, Mac>) -> ! {
    runner.run().await
}

#[embassy_executor::task]
async fn follow_job(stack: Stack<'static>) {
    static RX: StaticCell<[u8; SOCKET_RX]> = StaticCell::new();
    static TX: StaticCell<[u8; SOCKET_TX]> = StaticCell::new();
    // DHCP first: the address, the gateway and the DNS servers the connector resolves with.
    stack.wait_config_up().await;
    let connector = TcpConnector::new(stack, RX.init([0; SOCKET_RX]), TX.init([0; SOCKET_TX]));
    let done = device::create_volume(
        connector,
        EmbassyClock,
        embassy_time::Delay,
        SERVER,
        Auth::Basic {
            user: "admin",
            password: black_box("netapp1!"),
        },
        &mut Quiet,
    )
    .await;
    // A board keeps the resume token in flash to pick the job up again after a reset.
    black_box(done.map(|d| (d.outcome, d.requests, d.resume)).ok());
}

#[embassy_executor::main]
async fn main(spawner: Spawner) {
    static RESOURCES: StaticCell<StackResources<SOCKETS>> = StaticCell::new();
    let core = cortex_m::Peripherals::take().expect("taken once, at boot");
    board::start_clock(core.SYST);
    let (stack, runner) = embassy_net::new(
        Mac::new(),
        embassy_net::Config::dhcpv4(Default::default()),
        RESOURCES.init(StackResources::new()),
        board::random_seed(),
    );
    // Each task is spawned once, so its pool (of one) always has room.
    spawner.spawn(net(runner).expect("net task spawned once"));
    spawner.spawn(follow_job(stack).expect("job task spawned once"));
}
