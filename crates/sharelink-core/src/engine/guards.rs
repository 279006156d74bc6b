//! The bounded pool that computes password hashes. It protects the
//! process, not a share's rules, so it is per process.

use std::sync::mpsc::{Receiver, SyncSender, TrySendError, sync_channel};
use std::sync::{Arc, Mutex, OnceLock, PoisonError};

type Job = Box<dyn FnOnce() + Send>;

/// Password hashing off the callers' threads: `workers` threads, and a
/// queue of `queue` jobs waiting for them. A job that finds the queue full
/// is refused at once.
///
/// A fixed set of threads also bounds memory: each argon2 hash allocates
/// its memory cost (19 MiB by default), and an allocator keeps freed memory
/// per thread, so at most `workers` such regions ever exist, however many
/// requests arrive together.
pub(crate) struct HashPool {
    workers: usize,
    queue: usize,
    jobs: OnceLock<SyncSender<Job>>,
}

/// The pool's workers are busy and its queue is full.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Busy;

impl std::fmt::Debug for HashPool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HashPool")
            .field("workers", &self.workers)
            .field("queue", &self.queue)
            .finish()
    }
}

impl HashPool {
    /// A pool of `workers` threads (0: one per CPU), started on first use.
    pub(crate) fn new(workers: usize, queue: usize) -> Self {
        let workers = if workers == 0 {
            std::thread::available_parallelism().map_or(2, std::num::NonZeroUsize::get)
        } else {
            workers
        };
        Self {
            workers,
            queue,
            jobs: OnceLock::new(),
        }
    }

    /// Runs `f` on a hashing thread and waits for its result, or refuses at
    /// once when the queue is full.
    pub(crate) fn run<T: Send + 'static>(
        &self,
        f: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, Busy> {
        let jobs = self.jobs.get_or_init(|| self.start());
        let (reply, result) = sync_channel(1);
        let job: Job = Box::new(move || {
            let _ = reply.send(f());
        });
        match jobs.try_send(job) {
            Ok(()) => {}
            Err(TrySendError::Full(_) | TrySendError::Disconnected(_)) => return Err(Busy),
        }
        result.recv().map_err(|_| Busy)
    }

    fn start(&self) -> SyncSender<Job> {
        let (tx, rx) = sync_channel::<Job>(self.queue);
        let rx = Arc::new(Mutex::new(rx));
        for i in 0..self.workers {
            let rx = rx.clone();
            // A worker that cannot be started leaves the others; with none,
            // every job is refused as busy (the core has no logger).
            let _ = std::thread::Builder::new()
                .name(format!("sharelink-hash-{i}"))
                .spawn(move || work(&rx));
        }
        tx
    }
}

fn work(jobs: &Mutex<Receiver<Job>>) {
    loop {
        let job = {
            let rx = jobs.lock().unwrap_or_else(PoisonError::into_inner);
            rx.recv()
        };
        match job {
            // A panicking job drops its reply: its caller sees `Busy`.
            Ok(job) => {
                let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(job));
            }
            Err(_) => return, // the engine is gone
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pool_bounds_concurrency_and_refuses_when_full() {
        let pool = Arc::new(HashPool::new(1, 1));
        let (started_tx, started_rx) = sync_channel::<()>(1);
        let (release_tx, release_rx) = sync_channel::<()>(1);
        let busy = {
            let pool = pool.clone();
            std::thread::spawn(move || {
                pool.run(move || {
                    started_tx.send(()).unwrap();
                    release_rx.recv().unwrap();
                    7
                })
            })
        };
        started_rx.recv().unwrap();
        // The worker is busy: of two more jobs, one takes the queue place
        // and one is refused at once.
        let (done_tx, done_rx) = sync_channel(2);
        for _ in 0..2 {
            let pool = pool.clone();
            let done = done_tx.clone();
            std::thread::spawn(move || done.send(pool.run(|| 1)).unwrap());
        }
        let first = done_rx
            .recv_timeout(std::time::Duration::from_secs(5))
            .unwrap();
        assert_eq!(first, Err(Busy), "a full pool refuses at once");
        release_tx.send(()).unwrap();
        assert_eq!(busy.join().unwrap(), Ok(7));
        assert_eq!(done_rx.recv().unwrap(), Ok(1), "the queued job runs");
        assert_eq!(pool.run(|| 3), Ok(3));
    }
}
