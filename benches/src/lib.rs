//! Shared fixtures for the criterion benches and the `report` binary: the
//! engine operations and, for each, the baseline a user would otherwise
//! write, set up so that both do the same work on the same bytes.

#![allow(
    missing_docs,
    clippy::missing_panics_doc,
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss,
    clippy::cast_precision_loss
)]

pub mod baselines;
pub mod fixtures;
pub mod postgres;
pub mod timing;
