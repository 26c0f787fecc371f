//! What a board's HAL provides, reduced to what this firmware needs to link: a time driver for
//! embassy-time and an Ethernet MAC for embassy-net. On a real board both come from its HAL
//! (embassy-stm32's `time-driver-*` feature and `eth::Ethernet`, for example) and this module
//! goes away; nothing else in the firmware changes.

use core::cell::{Cell, RefCell};
use core::hint::black_box;
use core::task::{Context, Waker};

use cortex_m::peripheral::SYST;
use cortex_m::peripheral::syst::SystClkSource;
use cortex_m_rt::exception;
use critical_section::Mutex;
use embassy_net_driver::{Capabilities, Driver, HardwareAddress, LinkState, RxToken, TxToken};
use embassy_time_queue_utils::Queue;

/// The core clock SysTick counts (a generic Cortex-M4F after reset; a board sets its own).
const CORE_CLOCK_HZ: u32 = 16_000_000;

/// Milliseconds since [`start_clock`], and the timers the executor's tasks wait on.
struct SysTickDriver {
    ticks: Mutex<Cell<u64>>,
    timers: Mutex<RefCell<Queue>>,
}

impl embassy_time_driver::Driver for SysTickDriver {
    fn now(&self) -> u64 {
        critical_section::with(|cs| self.ticks.borrow(cs).get())
    }

    fn schedule_wake(&self, at: u64, waker: &Waker) {
        critical_section::with(|cs| {
            let mut timers = self.timers.borrow(cs).borrow_mut();
            timers.schedule_wake(at, waker);
            // A time already reached wakes now rather than at the next tick.
            timers.next_expiration(self.ticks.borrow(cs).get());
        });
    }
}

embassy_time_driver::time_driver_impl!(static CLOCK: SysTickDriver = SysTickDriver {
    ticks: Mutex::new(Cell::new(0)),
    timers: Mutex::new(RefCell::new(Queue::new())),
});

/// One tick a millisecond: a real driver would program a compare match for the next timer
/// instead, so that the core sleeps between them.
#[exception]
fn SysTick() {
    critical_section::with(|cs| {
        let ticks = CLOCK.ticks.borrow(cs);
        ticks.set(ticks.get().wrapping_add(1));
        CLOCK
            .timers
            .borrow(cs)
            .borrow_mut()
            .next_expiration(ticks.get());
    });
}

/// Starts the millisecond tick.
pub fn start_clock(mut syst: SYST) {
    syst.set_clock_source(SystClkSource::Core);
    syst.set_reload(CORE_CLOCK_HZ / 1_000 - 1);
    syst.clear_current();
    syst.enable_interrupt();
    syst.enable_counter();
}

/// The seed of the stack's TCP sequence numbers and ports. A board takes it from its hardware
/// RNG: predictable sequence numbers let an off-path attacker inject into a connection.
pub fn random_seed() -> u64 {
    black_box(0x6a09_e667_f3bc_c908)
}

/// Ethernet MTU with the 14-byte header.
const FRAME: usize = 1514;

/// The stand-in for the board's Ethernet MAC. Frames a MAC's DMA would write arrive in `rx`;
/// `black_box` stands for that memory, so the stack's receive path (ARP, DHCP, DNS, TCP) is
/// linked as on a board. Transmitted frames are dropped.
pub struct Mac {
    rx: [u8; FRAME],
    tx: [u8; FRAME],
}

impl Mac {
    /// A MAC with its link up.
    pub const fn new() -> Self {
        Mac {
            rx: [0; FRAME],
            tx: [0; FRAME],
        }
    }
}

/// A received frame, lent to the stack.
pub struct Rx<'a>(&'a mut [u8]);

impl RxToken for Rx<'_> {
    fn consume<R, F: FnOnce(&mut [u8]) -> R>(self, f: F) -> R {
        f(self.0)
    }
}

/// Room for one frame to send.
pub struct Tx<'a>(&'a mut [u8; FRAME]);

impl TxToken for Tx<'_> {
    fn consume<R, F: FnOnce(&mut [u8]) -> R>(self, len: usize, f: F) -> R {
        let frame = &mut self.0[..len.min(FRAME)];
        let result = f(frame);
        black_box(frame);
        result
    }
}

impl Driver for Mac {
    type RxToken<'a> = Rx<'a>;
    type TxToken<'a> = Tx<'a>;

    fn receive(&mut self, _cx: &mut Context) -> Option<(Rx<'_>, Tx<'_>)> {
        // A MAC registers the waker with its receive interrupt; here no frame ever arrives.
        let len = black_box(0usize).min(FRAME);
        if len == 0 {
            return None;
        }
        Some((Rx(&mut black_box(&mut self.rx)[..len]), Tx(&mut self.tx)))
    }

    fn transmit(&mut self, _cx: &mut Context) -> Option<Tx<'_>> {
        Some(Tx(&mut self.tx))
    }

    fn link_state(&mut self, _cx: &mut Context) -> LinkState {
        LinkState::Up
    }

    fn capabilities(&self) -> Capabilities {
        let mut capabilities = Capabilities::default();
        capabilities.max_transmission_unit = FRAME;
        capabilities
    }

    fn hardware_address(&self) -> HardwareAddress {
        // A locally administered address; a board reads its own from OTP or its PHY.
        HardwareAddress::Ethernet([0x02, 0x00, 0x00, 0x4a, 0x50, 0x01])
    }
}
