//! Group commit: concurrent callers share one durable write.
//!
//! A durable backend pays one fsync per commit. When many requests write
//! at once, [`GroupCommit`] lets the first caller to arrive become the
//! *leader*: it takes every item queued so far, writes them with one batch
//! call (one transaction, one fsync), hands each caller its own outcome and
//! steps down. Callers that arrive while a batch is being written queue up
//! and form the next batch. Nobody waits for a timer: a lone caller commits
//! at once, exactly as it would alone.
//!
//! Each caller returns only after the batch that holds its item was
//! written, so an acknowledged write is durable whenever the batch call is.

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::thread::Thread;

use super::StorageError;

/// Batches concurrent writes of items `I` with outcomes `O` (see the module
/// docs). At most `max_batch` items go into one batch.
///
/// Waiting costs one wake-up per caller: the leader wakes exactly the
/// callers of the batch it wrote, and the first caller still waiting, who
/// leads the next one. (A shared condition variable would wake every
/// waiting caller at every batch, most of them only to wait again.)
pub struct GroupCommit<I, O> {
    queue: Mutex<Queue<I, O>>,
    max_batch: usize,
}

struct Queue<I, O> {
    waiting: Vec<Waiting<I>>,
    settled: HashMap<u64, Result<O, StorageError>>,
    next_ticket: u64,
    leading: bool,
}

/// A queued item, and the thread to wake when it is settled.
struct Waiting<I> {
    ticket: u64,
    item: I,
    caller: Thread,
}

impl<I, O> std::fmt::Debug for GroupCommit<I, O> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GroupCommit")
            .field("max_batch", &self.max_batch)
            .finish_non_exhaustive()
    }
}

impl<I, O> GroupCommit<I, O> {
    /// A group commit that writes at most `max_batch` items (at least 1) at
    /// a time.
    pub fn new(max_batch: usize) -> Self {
        Self {
            queue: Mutex::new(Queue {
                waiting: Vec::new(),
                settled: HashMap::new(),
                next_ticket: 0,
                leading: false,
            }),
            max_batch: max_batch.max(1),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Queue<I, O>> {
        self.queue.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Writes `item` in a batch with whatever other callers submit
    /// meanwhile, and returns its own outcome once that batch is written.
    ///
    /// `write` is the batch call: it gets the items in arrival order and
    /// must return one outcome per item, in the same order, or fail the
    /// whole batch. Only the leader's `write` runs, and a caller may lead
    /// several batches before its own item's; every caller passes the same
    /// operation. If the batch fails, every caller in it gets the
    /// failure (see [`StorageError::for_batch_member`]); if `write` returns
    /// the wrong number of outcomes, every caller gets
    /// [`StorageError::Corrupt`].
    pub fn submit(
        &self,
        item: I,
        mut write: impl FnMut(Vec<I>) -> Result<Vec<O>, StorageError>,
    ) -> Result<O, StorageError> {
        let mut queue = self.lock();
        let ticket = queue.next_ticket;
        queue.next_ticket = queue.next_ticket.wrapping_add(1);
        queue.waiting.push(Waiting {
            ticket,
            item,
            caller: std::thread::current(),
        });
        loop {
            if let Some(outcome) = queue.settled.remove(&ticket) {
                return outcome;
            }
            if queue.leading {
                // Woken when our batch is settled, or to lead the next one.
                // A wake-up that comes before we park makes `park` return at
                // once; a spurious one only loops.
                drop(queue);
                std::thread::park();
                queue = self.lock();
            } else {
                // Our item is still waiting (a capped batch may have left
                // it behind): lead the next batch.
                queue = self.lead(queue, &mut write);
            }
        }
    }

    /// Takes up to `max_batch` waiting items, writes them without holding
    /// the lock, and settles and wakes every caller of the batch.
    fn lead<'q>(
        &'q self,
        mut queue: MutexGuard<'q, Queue<I, O>>,
        write: &mut impl FnMut(Vec<I>) -> Result<Vec<O>, StorageError>,
    ) -> MutexGuard<'q, Queue<I, O>> {
        queue.leading = true;
        let take = queue.waiting.len().min(self.max_batch);
        let mut tickets = Vec::with_capacity(take);
        let mut callers = Vec::with_capacity(take);
        let mut items = Vec::with_capacity(take);
        for w in queue.waiting.drain(..take) {
            tickets.push(w.ticket);
            callers.push(w.caller);
            items.push(w.item);
        }
        drop(queue);

        // If `write` panics, the batch's callers must not wait forever.
        let mut guard = Leading {
            group: self,
            batch: Some((tickets, callers)),
        };
        let outcomes = write(items);
        let (tickets, callers) = guard.batch.take().unwrap_or_default();
        drop(guard);

        let mut queue = self.lock();
        match outcomes {
            Ok(outcomes) if outcomes.len() == tickets.len() => {
                queue
                    .settled
                    .extend(tickets.into_iter().zip(outcomes.into_iter().map(Ok)));
            }
            Ok(outcomes) => {
                let got = outcomes.len();
                let want = tickets.len();
                for t in tickets {
                    queue.settled.insert(
                        t,
                        Err(StorageError::Corrupt {
                            what: "a batch write".into(),
                            reason: format!("{got} outcomes for {want} items"),
                        }),
                    );
                }
            }
            Err(e) => {
                for t in tickets {
                    queue.settled.insert(t, Err(e.for_batch_member()));
                }
            }
        }
        self.step_down(queue, callers)
    }

    /// Ends a batch: wakes its callers, and the first caller still waiting
    /// to lead the next batch.
    fn step_down<'q>(
        &'q self,
        mut queue: MutexGuard<'q, Queue<I, O>>,
        mut wake: Vec<Thread>,
    ) -> MutexGuard<'q, Queue<I, O>> {
        queue.leading = false;
        if let Some(next) = queue.waiting.first() {
            wake.push(next.caller.clone());
        }
        drop(queue);
        let me = std::thread::current().id();
        for caller in wake.iter().filter(|t| t.id() != me) {
            caller.unpark();
        }
        self.lock()
    }
}

/// Settles a batch's callers with an error if its leader unwinds.
struct Leading<'g, I, O> {
    group: &'g GroupCommit<I, O>,
    batch: Option<(Vec<u64>, Vec<Thread>)>,
}

impl<I, O> Drop for Leading<'_, I, O> {
    fn drop(&mut self) {
        let Some((tickets, callers)) = self.batch.take() else {
            return;
        };
        let mut queue = self.group.lock();
        for t in tickets {
            queue.settled.insert(
                t,
                Err(StorageError::Backend {
                    message: "the batch write panicked".into(),
                    source: None,
                }),
            );
        }
        drop(self.group.step_down(queue, callers));
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

    use super::*;

    #[test]
    fn a_lone_caller_commits_its_own_item() {
        let group = GroupCommit::<u32, u32>::new(8);
        let out = group.submit(20, |items| Ok(items.iter().map(|i| i + 1).collect()));
        assert_eq!(out.unwrap(), 21);
    }

    #[test]
    fn concurrent_callers_share_batches_and_each_gets_its_own_outcome() {
        let group = Arc::new(GroupCommit::<u64, u64>::new(64));
        let batches = Arc::new(AtomicUsize::new(0));
        let threads: Vec<_> = (0..16u64)
            .map(|t| {
                let group = Arc::clone(&group);
                let batches = Arc::clone(&batches);
                std::thread::spawn(move || {
                    for i in 0..50u64 {
                        let item = t * 1000 + i;
                        let out = group
                            .submit(item, |items| {
                                batches.fetch_add(1, Ordering::SeqCst);
                                // A slow "fsync", so that others queue up.
                                std::thread::sleep(Duration::from_millis(1));
                                Ok(items.iter().map(|i| i * 2).collect())
                            })
                            .unwrap();
                        assert_eq!(out, item * 2);
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        let batches = batches.load(Ordering::SeqCst);
        assert!(batches < 16 * 50, "{batches} batches for 800 items");
    }

    #[test]
    fn a_failed_batch_fails_every_caller_in_it() {
        let group = GroupCommit::<u32, u32>::new(8);
        let out = group.submit(1, |_| {
            Err(StorageError::Unavailable {
                message: "disk gone".into(),
                source: Some("eio".into()),
            })
        });
        let e = out.unwrap_err();
        assert!(matches!(e, StorageError::Unavailable { .. }), "{e}");
        assert!(e.to_string().contains("disk gone"), "{e}");
        // The group still works afterwards.
        assert_eq!(group.submit(2, Ok).unwrap(), 2);
    }

    #[test]
    fn a_short_answer_is_corruption_not_a_wrong_outcome() {
        let group = GroupCommit::<u32, u32>::new(8);
        let e = group.submit(1, |_| Ok(Vec::new())).unwrap_err();
        assert!(matches!(e, StorageError::Corrupt { .. }), "{e}");
    }

    #[test]
    fn a_panicking_leader_releases_its_batch() {
        let group = Arc::new(GroupCommit::<u32, u32>::new(8));
        let g = Arc::clone(&group);
        let joined = std::thread::spawn(move || {
            let _ = g.submit(1, |_| -> Result<Vec<u32>, StorageError> { panic!("boom") });
        })
        .join();
        assert!(joined.is_err());
        assert_eq!(group.submit(5, Ok).unwrap(), 5);
    }

    #[test]
    fn every_caller_is_woken_when_leadership_passes_on() {
        // Batches of one, no delay: each batch ends by handing the lead to
        // the next waiting caller, thousands of times. A lost wake-up would
        // leave a caller parked for ever; the test fails instead of hanging.
        let group = Arc::new(GroupCommit::<u32, u32>::new(1));
        let (done, finished) = std::sync::mpsc::channel();
        for t in 0..16u32 {
            let group = Arc::clone(&group);
            let done = done.clone();
            std::thread::spawn(move || {
                for i in 0..200 {
                    let item = t * 1000 + i;
                    assert_eq!(group.submit(item, Ok).unwrap(), item);
                }
                done.send(t).unwrap();
            });
        }
        for _ in 0..16 {
            finished
                .recv_timeout(Duration::from_secs(60))
                .expect("a caller never got its outcome");
        }
    }

    #[test]
    fn batches_never_exceed_the_cap() {
        let group = Arc::new(GroupCommit::<u32, u32>::new(3));
        let largest = Arc::new(AtomicUsize::new(0));
        let threads: Vec<_> = (0..8u32)
            .map(|t| {
                let group = Arc::clone(&group);
                let largest = Arc::clone(&largest);
                std::thread::spawn(move || {
                    for i in 0..20 {
                        group
                            .submit(t * 100 + i, |items| {
                                largest.fetch_max(items.len(), Ordering::SeqCst);
                                std::thread::sleep(Duration::from_micros(300));
                                Ok(items)
                            })
                            .unwrap();
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        let largest = largest.load(Ordering::SeqCst);
        assert!((1..=3).contains(&largest), "largest batch {largest}");
    }
}
