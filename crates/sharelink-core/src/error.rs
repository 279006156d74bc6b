//! Stable error codes and the engine's top-level error, under one path.
//!
//! Every error a host can see maps to an [`ErrorCode`]: a stable PDS code
//! string, an HTTP status and, where it applies, a retry-after instant. The
//! HTTP layer therefore never guesses. Each operation family has its own
//! `#[non_exhaustive]` error enum (in its module); [`Error`] wraps them all and
//! keeps the source chain.
//!
//! The definitions live where they belong ([`crate::code`] for the codes and
//! [`InputError`], the engine for [`Error`], [`crate::rate`] for
//! [`RateLimited`]); this module gathers them for hosts.

pub use crate::code::{ErrorCode, InputError};
pub use crate::engine::error::{Error, WrongPassword};
pub use crate::rate::RateLimited;
