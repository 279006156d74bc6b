//! Events the engine reports to the host: for audit logs and metrics.
//!
//! Events carry ids, kinds and instants, never a secret: no password, hash,
//! key or token appears in any variant.

use std::sync::Mutex;

use chrono::{DateTime, Utc};

use crate::fields::{ClientKey, FileId, TenantId, UserId};
use crate::file_policy::MatchedRule;
use crate::id::ShareId;
use crate::quota::QuotaKind;
use crate::share::Action;
use crate::throttle::ThrottleScope;

/// Something that happened.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Event {
    /// A share was created.
    ShareCreated {
        /// The share.
        share_id: ShareId,
        /// Its tenant.
        tenant: TenantId,
        /// Its creator.
        creator: UserId,
    },
    /// A share was updated.
    ShareUpdated {
        /// The share.
        share_id: ShareId,
        /// Whether outstanding tokens were revoked.
        tokens_revoked: bool,
    },
    /// A share was cancelled by its creator.
    ShareCancelled {
        /// The share.
        share_id: ShareId,
    },
    /// An administrator forbade or unforbade a share.
    ShareModerated {
        /// The share.
        share_id: ShareId,
        /// `true` for forbid, `false` for unforbid.
        forbidden: bool,
    },
    /// A share token was issued.
    TokenIssued {
        /// The share.
        share_id: ShareId,
        /// When the token expires.
        expires_at: DateTime<Utc>,
    },
    /// A wrong or missing password was presented.
    PasswordFailed {
        /// The share.
        share_id: ShareId,
        /// The client key the host reported.
        client: ClientKey,
    },
    /// A token request was refused by the throttle.
    Throttled {
        /// The share.
        share_id: ShareId,
        /// The client key the host reported.
        client: ClientKey,
        /// Which limit tripped.
        scope: ThrottleScope,
    },
    /// An action on a file of a share was authorized (and, for previews,
    /// downloads and saves, counted).
    FileActionAuthorized {
        /// The share.
        share_id: ShareId,
        /// The action.
        action: Action,
        /// The file (`root` for the share's top level).
        file_id: FileId,
    },
    /// A daily quota refused an operation.
    QuotaRefused {
        /// The tenant.
        tenant: TenantId,
        /// Which quota.
        kind: QuotaKind,
    },
    /// The file-type policy refused a download.
    PolicyRefused {
        /// The share.
        share_id: ShareId,
        /// The file.
        file_id: FileId,
        /// The rule that matched.
        rule: MatchedRule,
    },
}

/// Where the engine sends events. Implementations must not block for long:
/// `emit` runs inline in the operation.
pub trait EventSink: Send + Sync {
    /// Receives one event.
    fn emit(&self, event: &Event);
}

/// Drops every event.
#[derive(Debug, Default, Clone, Copy)]
pub struct NoEvents;

impl EventSink for NoEvents {
    fn emit(&self, _event: &Event) {}
}

/// Keeps every event in memory: for tests.
#[derive(Debug, Default)]
pub struct RecordedEvents(Mutex<Vec<Event>>);

impl RecordedEvents {
    /// An empty recorder.
    pub fn new() -> Self {
        Self::default()
    }

    /// Takes the events recorded so far.
    pub fn take(&self) -> Vec<Event> {
        std::mem::take(
            &mut *self
                .0
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner),
        )
    }
}

impl EventSink for RecordedEvents {
    fn emit(&self, event: &Event) {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .push(event.clone());
    }
}

impl<E: EventSink + ?Sized> EventSink for std::sync::Arc<E> {
    fn emit(&self, event: &Event) {
        (**self).emit(event);
    }
}
