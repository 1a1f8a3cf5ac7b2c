//! The fuzz targets' checks (`fuzz/src/harness.rs`, run by libFuzzer with `make fuzz`) on a
//! bounded stream of random and mutated inputs, so every `make test` runs them on stable Rust.

#[path = "../../../fuzz/src/harness.rs"]
mod harness;

use std::time::{Duration, Instant};

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

const SEEDS: &[&[u8]] = &[
    b"plugin_command: next_msg",
    b"plugin_command: hello",
    b"plugin_command: stats",
    b"plugin_command: recv max=3 timeout_ms=5 ack=0",
    b"plugin_command: recv",
    b"plugin_command: ack seq=1",
    b"plugin_command: publish",
    b"plugin_command: quit",
    b"Zevent",
    b"",
];

/// A seed request of one to four frames, mutated a little, as harness input bytes.
fn input(rng: &mut Rng) -> Vec<u8> {
    let n = 1 + rng.below(4);
    let mut frames: Vec<Vec<u8>> = (0..n)
        .map(|_| SEEDS[rng.below(SEEDS.len())].to_vec())
        .collect();
    let mut data = harness::join(&frames.iter().map(Vec::as_slice).collect::<Vec<_>>());
    for _ in 0..rng.below(4) {
        if data.is_empty() {
            break;
        }
        let i = rng.below(data.len());
        match rng.below(3) {
            0 => data[i] = rng.next() as u8,
            1 => {
                data.remove(i);
            }
            _ => data.insert(i, rng.next() as u8),
        }
    }
    frames.clear();
    data
}

fn seed() -> u64 {
    let s = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(7, |d| d.as_nanos() as u64)
        | 1;
    println!("seed {s}");
    s
}

#[test]
fn the_parser_target_on_random_and_mutated_requests() {
    let mut rng = Rng(seed());
    let start = Instant::now();
    let mut n = 0;
    while start.elapsed() < Duration::from_secs(1) {
        harness::wire_request(&input(&mut rng));
        let raw: Vec<u8> = (0..rng.below(80)).map(|_| rng.next() as u8).collect();
        harness::wire_request(&raw);
        n += 2;
    }
    assert!(n > 1000, "only {n} inputs");
}

#[test]
fn the_engine_target_on_random_and_mutated_requests() {
    let mut rng = Rng(seed());
    let start = Instant::now();
    let mut n = 0;
    while start.elapsed() < Duration::from_secs(2) {
        harness::engine_request(&input(&mut rng));
        n += 1;
    }
    assert!(n > 50, "only {n} inputs");
}
