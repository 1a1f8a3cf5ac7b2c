//! The ceiling: raw libzmq, inproc PUB -> XSUB/XPUB proxy -> SUB, with unbounded queues
//! (HWM 0) so that it loses nothing either. Publishers are XPUB sockets (PUB-compatible) that
//! wait until the subscriptions they need have reached them, so no event is lost at start-up.

use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use event_engine::zmq;

use crate::flows;

pub struct Raw {
    ctx: zmq::Context,
    control: zmq::Socket,
    proxy: Option<thread::JoinHandle<()>>,
}

impl Raw {
    pub fn new() -> Raw {
        let ctx = zmq::Context::new();
        let mut xsub = ctx.socket(zmq::XSUB).expect("xsub");
        let mut xpub = ctx.socket(zmq::XPUB).expect("xpub");
        let mut ctl = ctx.socket(zmq::PAIR).expect("pair");
        for s in [&xsub, &xpub] {
            s.set_sndhwm(0).expect("hwm");
            s.set_rcvhwm(0).expect("hwm");
        }
        xsub.bind("inproc://raw-in").expect("bind");
        xpub.bind("inproc://raw-out").expect("bind");
        ctl.bind("inproc://raw-ctl").expect("bind");
        let proxy = thread::spawn(move || {
            let _ = zmq::proxy_steerable(&mut xsub, &mut xpub, &mut ctl);
        });
        let control = ctx.socket(zmq::PAIR).expect("pair");
        control.connect("inproc://raw-ctl").expect("connect");
        Raw {
            ctx,
            control,
            proxy: Some(proxy),
        }
    }

    /// A publisher that has seen a subscription to `topic`.
    pub fn publisher(&self, topic: &[u8]) -> zmq::Socket {
        let s = self.ctx.socket(zmq::XPUB).expect("xpub");
        s.set_sndhwm(0).expect("hwm");
        s.set_rcvhwm(0).expect("hwm");
        s.connect("inproc://raw-in").expect("connect");
        let want = [&[1u8][..], topic].concat();
        loop {
            let sub = s.recv_bytes(0).expect("subscription");
            if sub == want {
                return s;
            }
        }
    }

    pub fn subscriber(&self, topic: &[u8]) -> zmq::Socket {
        let s = self.ctx.socket(zmq::SUB).expect("sub");
        s.set_rcvhwm(0).expect("hwm");
        s.connect("inproc://raw-out").expect("connect");
        s.set_subscribe(topic).expect("subscribe");
        s
    }
}

impl Drop for Raw {
    fn drop(&mut self) {
        let _ = self.control.send("TERMINATE", 0);
        if let Some(p) = self.proxy.take() {
            let _ = p.join();
        }
    }
}

/// Producer -> consumer through the proxy: time from the first send to the last receive.
pub fn producer_consumer(n: u64, sizes: fn(u64) -> usize) -> (Duration, u64) {
    let raw = Raw::new();
    let sub = raw.subscriber(b"Initial");
    let (tx, rx) = mpsc::channel();
    let consumer = thread::spawn(move || flows::consume(&sub, n).expect("consume"));
    let publisher = raw.publisher(b"Initial");
    thread::spawn(move || {
        let start = Instant::now();
        flows::produce(&publisher, n, sizes).expect("produce");
        let _ = tx.send(start);
    });
    let (end, disorder) = consumer.join().expect("consumer");
    let start = rx.recv().expect("start");
    assert_eq!(disorder, 0);
    (end - start, 0)
}

/// The load-test flow through the proxy.
pub fn load(n: u64) -> (Duration, u64) {
    let raw = Raw::new();
    let acc_sub = raw.subscriber(b"Operator");
    let op_sub = raw.subscriber(b"Initial");
    let accumulator = thread::spawn(move || flows::accumulate(&acc_sub, n).expect("acc"));
    let op_pub = raw.publisher(b"Operator");
    let operator = thread::spawn(move || flows::operate(&op_pub, &op_sub, n).expect("op"));
    let publisher = raw.publisher(b"Initial");
    let start = Instant::now();
    flows::produce(&publisher, n, flows::load_size).expect("produce");
    operator.join().expect("operator");
    let (end, _) = accumulator.join().expect("accumulator");
    (end - start, 0)
}
