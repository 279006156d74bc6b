//! Why a share refused an operation.

use chrono::{DateTime, Utc};

use crate::code::{ErrorCode, InputError};
use crate::token::TokenError;

use super::LimitedUse;

/// Why a share refused an operation.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ShareError {
    /// Malformed input (for instance an expiration in the past).
    #[error(transparent)]
    Input(#[from] InputError),
    /// The creator cancelled the share.
    #[error("share_link is cancelled by the creator")]
    Cancelled,
    /// The share expired at `at`.
    #[error("share_link expired at {at} (now {now})")]
    Expired {
        /// When it expired.
        at: DateTime<Utc>,
        /// The instant of the refused call.
        now: DateTime<Utc>,
    },
    /// An administrator forbade the share.
    #[error("share_link is forbidden")]
    Forbidden,
    /// The share has a password and none was given.
    #[error("the resource share_pwd is missing")]
    PasswordRequired,
    /// The given password is wrong.
    #[error("the resource share_pwd is not valid")]
    WrongPassword,
    /// A members-only share, and the caller is not a member of its tenant
    /// (or not the member its token was issued to).
    #[error("no permission to access resource share_link: members only")]
    NotMember,
    /// A creator-only operation by someone else.
    #[error("no permission to access resource share_link: not its creator")]
    NotCreator,
    /// The action is disabled on this share.
    #[error("{action} is disabled on this share_link")]
    ActionDisabled {
        /// The refused use.
        action: LimitedUse,
    },
    /// The per-share limit for this use is reached.
    #[error("the {kind} limit of this share_link ({limit}) is reached")]
    LimitReached {
        /// The counted use.
        kind: LimitedUse,
        /// The limit.
        limit: u64,
    },
    /// The share token does not open this share for this caller now.
    #[error(transparent)]
    Token(#[from] TokenError),
    /// An unforbid on a share that is not forbidden.
    #[error("share_link is not forbidden")]
    NotForbidden,
}

impl ShareError {
    /// The stable code for this error.
    pub fn code(&self) -> ErrorCode {
        match self {
            Self::Input(e) => e.code(),
            Self::Cancelled => ErrorCode::ShareLinkCancelled,
            Self::Expired { .. } => ErrorCode::ShareLinkExpired,
            Self::Forbidden => ErrorCode::ShareLinkForbidden,
            Self::PasswordRequired | Self::WrongPassword => ErrorCode::InvalidResourceSharePwd,
            Self::NotMember | Self::NotCreator => ErrorCode::ForbiddenNoPermissionShareLink,
            Self::ActionDisabled { action } => match action {
                LimitedUse::Preview => ErrorCode::ForbiddenNoPermissionPreview,
                LimitedUse::Download => ErrorCode::ForbiddenNoPermissionDownload,
                LimitedUse::Save => ErrorCode::ForbiddenNoPermissionSave,
            },
            Self::LimitReached { kind, .. } => match kind {
                LimitedUse::Preview => ErrorCode::ShareLinkPreviewLimitExceeded,
                LimitedUse::Download => ErrorCode::ShareLinkDownloadLimitExceeded,
                LimitedUse::Save => ErrorCode::ShareLinkSaveLimitExceeded,
            },
            Self::Token(_) => ErrorCode::ShareLinkTokenInvalid,
            Self::NotForbidden => ErrorCode::InvalidParameter,
        }
    }
}
