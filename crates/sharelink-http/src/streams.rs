//! Caps on concurrent download streams (and preview renders), global and
//! per client.
//!
//! A stream holds a [`StreamSlot`] from the moment its response is built
//! until its body is dropped (finished, failed, or the client went away), so
//! one client cannot hold more than its share of open downloads however
//! slowly it reads.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use sharelink_core::ErrorCode;

use crate::error::ApiError;

/// The counters behind the caps.
#[derive(Debug)]
pub(crate) struct StreamSlots {
    max: usize,
    per_client: usize,
    /// What is counted, for messages ("downloads", "preview renders").
    what: &'static str,
    open: Arc<Mutex<Open>>,
}

#[derive(Debug, Default)]
struct Open {
    total: usize,
    by_client: HashMap<String, usize>,
}

/// One open stream's place; released on drop.
#[derive(Debug)]
pub(crate) struct StreamSlot {
    client: String,
    open: Arc<Mutex<Open>>,
}

impl StreamSlots {
    pub(crate) fn new(max: usize, per_client: usize, what: &'static str) -> Self {
        Self {
            max: max.max(1),
            per_client: per_client.max(1),
            what,
            open: Arc::default(),
        }
    }

    /// A slot for `client`, or `503 ServiceUnavailable` when the server is
    /// at its cap, `429 TooManyRequests` when the client is; both with
    /// `Retry-After: 1`.
    pub(crate) fn acquire(&self, client: &str) -> Result<StreamSlot, ApiError> {
        let mut open = self.open.lock().unwrap_or_else(PoisonError::into_inner);
        if open.total >= self.max {
            return Err(ApiError::core(
                ErrorCode::ServiceUnavailable,
                format!(
                    "The server is serving its maximum of {} {}. Please retry.",
                    self.max, self.what
                ),
            )
            .with_retry_after(1));
        }
        let mine = open.by_client.get(client).copied().unwrap_or(0);
        if mine >= self.per_client {
            return Err(ApiError::core(
                ErrorCode::TooManyRequests,
                format!(
                    "Your address has {} {} open, the most allowed. Please retry when one finishes.",
                    self.per_client, self.what
                ),
            )
            .with_retry_after(1));
        }
        open.total += 1;
        open.by_client.insert(client.to_owned(), mine + 1);
        Ok(StreamSlot {
            client: client.to_owned(),
            open: self.open.clone(),
        })
    }
}

impl Drop for StreamSlot {
    fn drop(&mut self) {
        let mut open = self.open.lock().unwrap_or_else(PoisonError::into_inner);
        open.total = open.total.saturating_sub(1);
        if let Some(n) = open.by_client.get_mut(&self.client) {
            *n -= 1;
            if *n == 0 {
                open.by_client.remove(&self.client);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn caps_hold_and_slots_come_back() {
        let slots = StreamSlots::new(3, 2, "downloads");
        let a1 = slots.acquire("a").unwrap();
        let _a2 = slots.acquire("a").unwrap();
        let e = slots.acquire("a").unwrap_err();
        assert_eq!((e.status().as_u16(), e.retry_after_secs()), (429, Some(1)));
        let _b1 = slots.acquire("b").unwrap();
        let e = slots.acquire("c").unwrap_err();
        assert_eq!(e.status().as_u16(), 503);
        drop(a1);
        assert!(slots.acquire("a").is_ok());
    }
}
