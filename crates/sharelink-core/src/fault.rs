//! Fault injection points for proving backend atomicity.
//!
//! A backend calls [`FaultInjector::check`] at named points *between* the
//! writes of one atomic operation (after the share row, before the quota
//! row, say). In production the injector is [`NoFaults`] and every check
//! passes. A test installs one that fails the Nth check, and then verifies
//! that the failed operation left nothing half-written: the backend must roll
//! the whole operation back.

use crate::storage::StorageError;

/// Decides whether the backend fails at a given point.
pub trait FaultInjector: Send + Sync {
    /// Called by the backend at `point`; an `Err` must abort and roll back
    /// the operation in progress, and is returned to the caller as-is.
    fn check(&self, point: &'static str) -> Result<(), StorageError>;
}

/// Never fails: the production default.
#[derive(Debug, Default, Clone, Copy)]
pub struct NoFaults;

impl FaultInjector for NoFaults {
    fn check(&self, _point: &'static str) -> Result<(), StorageError> {
        Ok(())
    }
}

/// The error an injected fault produces.
pub fn injected(point: &'static str) -> StorageError {
    StorageError::Backend {
        message: format!("injected fault at {point}"),
        source: None,
    }
}
