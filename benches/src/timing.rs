//! A small interleaved timer for the report: engine and baseline run in
//! alternating batches so that machine noise hits both alike.

use std::time::{Duration, Instant};

/// Nanoseconds per call of `f`, as the median over `rounds` batches, each
/// lasting about `budget / rounds`.
pub struct Pair {
    pub engine_ns: f64,
    pub baseline_ns: f64,
}

fn batch<F: FnMut()>(f: &mut F, iters: u64) -> f64 {
    let start = Instant::now();
    for _ in 0..iters {
        f();
    }
    start.elapsed().as_nanos() as f64 / iters as f64
}

fn calibrate<F: FnMut()>(f: &mut F, target: Duration) -> u64 {
    let mut iters = 1u64;
    loop {
        let start = Instant::now();
        for _ in 0..iters {
            f();
        }
        let took = start.elapsed();
        if took >= target / 4 || iters >= 1 << 24 {
            let per = took.as_nanos().max(1) as f64 / iters as f64;
            return ((target.as_nanos() as f64 / per) as u64).max(1);
        }
        iters *= 4;
    }
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v.get(v.len() / 2).copied().unwrap_or(f64::NAN)
}

/// Times `engine` against `baseline`, interleaved.
pub fn compare<A: FnMut(), B: FnMut()>(mut engine: A, mut baseline: B, budget: Duration) -> Pair {
    const ROUNDS: u32 = 7;
    let slice = budget / (2 * ROUNDS);
    let (ia, ib) = (
        calibrate(&mut engine, slice),
        calibrate(&mut baseline, slice),
    );
    let (mut a, mut b) = (Vec::new(), Vec::new());
    for _ in 0..ROUNDS {
        a.push(batch(&mut engine, ia));
        b.push(batch(&mut baseline, ib));
    }
    Pair {
        engine_ns: lower_quartile(a),
        baseline_ns: lower_quartile(b),
    }
}

fn lower_quartile(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v.get(v.len() / 4).copied().unwrap_or(f64::NAN)
}

/// Times one function alone.
pub fn time<A: FnMut()>(mut f: A, budget: Duration) -> f64 {
    const ROUNDS: u32 = 5;
    let slice = budget / ROUNDS;
    let iters = calibrate(&mut f, slice);
    median((0..ROUNDS).map(|_| batch(&mut f, iters)).collect())
}

/// Times `engine` against `baseline` call by call, alternating, and takes
/// the lower quartile of each side's calls: for operations of a
/// millisecond or so whose time swings with the machine (database round
/// trips whose latency on this VM is bimodal), so that every swing hits
/// both sides and only the calls the machine did not slow down count.
pub fn compare_calls<A: FnMut(), B: FnMut()>(
    mut engine: A,
    mut baseline: B,
    budget: Duration,
) -> Pair {
    // Warm both (connections, caches, prepared plans).
    for _ in 0..5 {
        engine();
        baseline();
    }
    let (mut a, mut b) = (Vec::new(), Vec::new());
    let start = Instant::now();
    while start.elapsed() < budget || a.len() < 21 {
        let t = Instant::now();
        engine();
        a.push(t.elapsed().as_nanos() as f64);
        let t = Instant::now();
        baseline();
        b.push(t.elapsed().as_nanos() as f64);
    }
    Pair {
        engine_ns: lower_quartile(a),
        baseline_ns: lower_quartile(b),
    }
}

/// A line for a report's header when this is not an optimised build (CI
/// runs the quick reports on its unoptimised test build): its figures only
/// show that the report runs. Published figures come from `--release`.
pub fn build_note() -> Option<&'static str> {
    cfg!(debug_assertions).then_some(
        "(an unoptimised build: these figures only show that the report runs; \
         the published ones come from a --release build)\n",
    )
}
