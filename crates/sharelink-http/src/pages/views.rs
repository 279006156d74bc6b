//! The templates (compile-time checked, auto-escaping: `askama`) and the
//! headers every page answers with.

use askama::Template;
use axum::http::{HeaderName, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::lang::Text;

/// What every page shows around its content.
#[derive(Debug, Clone)]
pub(crate) struct Chrome {
    pub(crate) t: &'static Text,
    pub(crate) lang: &'static str,
    pub(crate) title: String,
    pub(crate) csrf: String,
    pub(crate) signed_in: Option<String>,
    pub(crate) sign_in_href: String,
}

/// A link button.
#[derive(Debug, Clone)]
pub(crate) struct Link {
    pub(crate) href: String,
    pub(crate) label: String,
}

/// One step of a breadcrumb trail.
#[derive(Debug, Clone)]
pub(crate) struct Crumb {
    pub(crate) href: String,
    pub(crate) label: String,
}

/// A file or folder row.
#[derive(Debug, Clone)]
pub(crate) struct FileRow {
    pub(crate) id: String,
    pub(crate) name: String,
    pub(crate) is_folder: bool,
    pub(crate) icon: &'static str,
    pub(crate) icon_text: &'static str,
    pub(crate) category: &'static str,
    pub(crate) size: String,
    pub(crate) modified: String,
    pub(crate) open_href: String,
    pub(crate) preview_href: String,
    pub(crate) previewable: bool,
    pub(crate) blocked: Option<&'static str>,
}

/// The public facts of a share.
#[derive(Debug, Clone)]
pub(crate) struct ShareFacts {
    pub(crate) name: String,
    pub(crate) description: String,
    pub(crate) shared_by: String,
    pub(crate) expiry: String,
    pub(crate) count: String,
    pub(crate) has_code: bool,
    pub(crate) members_only: bool,
}

/// The share options form's values.
#[derive(Debug, Clone)]
pub(crate) struct OptionsForm {
    pub(crate) editing: bool,
    pub(crate) name: String,
    pub(crate) description: String,
    pub(crate) expire_at: String,
    pub(crate) allow_download: bool,
    pub(crate) allow_preview: bool,
    pub(crate) allow_save: bool,
    pub(crate) download_limit: u64,
    pub(crate) preview_limit: u64,
    pub(crate) save_limit: u64,
    pub(crate) members_only: bool,
}

impl Default for OptionsForm {
    fn default() -> Self {
        Self {
            editing: false,
            name: String::new(),
            description: String::new(),
            expire_at: String::new(),
            allow_download: true,
            allow_preview: true,
            allow_save: true,
            download_limit: 0,
            preview_limit: 0,
            save_limit: 0,
            members_only: false,
        }
    }
}

/// A share as its creator sees it.
#[derive(Debug, Clone)]
pub(crate) struct ShareCard {
    pub(crate) name: String,
    pub(crate) url: String,
    pub(crate) page_href: String,
    pub(crate) status: &'static str,
    pub(crate) status_class: &'static str,
    pub(crate) active: bool,
    pub(crate) usage: String,
    pub(crate) expiry: String,
    pub(crate) detail_href: String,
    pub(crate) edit_action: String,
    pub(crate) cancel_action: String,
}

#[derive(Template)]
#[template(path = "message.html")]
pub(crate) struct MessagePage {
    pub(crate) c: Chrome,
    pub(crate) tone: &'static str,
    pub(crate) lines: Vec<String>,
    pub(crate) links: Vec<Link>,
}

#[derive(Template)]
#[template(path = "home.html")]
pub(crate) struct HomePage {
    pub(crate) c: Chrome,
}

#[derive(Template)]
#[template(path = "gate.html")]
pub(crate) struct GatePage {
    pub(crate) c: Chrome,
    pub(crate) view: ShareFacts,
    /// Whether the share head shows how many items it holds.
    pub(crate) show_count: bool,
    pub(crate) action: String,
    pub(crate) errors: Vec<String>,
}

#[derive(Template)]
#[template(path = "files.html")]
pub(crate) struct FilesPage {
    pub(crate) c: Chrome,
    pub(crate) view: ShareFacts,
    /// Whether the share head shows how many items it holds.
    pub(crate) show_count: bool,
    pub(crate) crumbs: Vec<Crumb>,
    pub(crate) rows: Vec<FileRow>,
    pub(crate) next_href: Option<String>,
    pub(crate) download_action: String,
    pub(crate) save_action: String,
    pub(crate) can_save: bool,
}

#[derive(Template)]
#[template(path = "preview.html")]
pub(crate) struct PreviewPage {
    pub(crate) c: Chrome,
    pub(crate) name: String,
    pub(crate) url: String,
    pub(crate) is_image: bool,
    pub(crate) back_href: String,
}

#[derive(Template)]
#[template(path = "signin.html")]
pub(crate) struct SignInPage {
    pub(crate) c: Chrome,
    pub(crate) next: String,
    pub(crate) errors: Vec<String>,
}

#[derive(Template)]
#[template(path = "drive.html")]
pub(crate) struct DrivePage {
    pub(crate) c: Chrome,
    pub(crate) drive_id: String,
    pub(crate) crumbs: Vec<Crumb>,
    pub(crate) rows: Vec<FileRow>,
    pub(crate) next_href: Option<String>,
    pub(crate) errors: Vec<String>,
    pub(crate) legend: &'static str,
    pub(crate) opts: OptionsForm,
}

#[derive(Template)]
#[template(path = "share.html")]
pub(crate) struct SharePage {
    pub(crate) c: Chrome,
    pub(crate) share: ShareCard,
    pub(crate) code: Option<String>,
    pub(crate) qr: String,
    pub(crate) notices: Vec<String>,
    pub(crate) errors: Vec<String>,
    pub(crate) legend: &'static str,
    pub(crate) opts: OptionsForm,
}

#[derive(Template)]
#[template(path = "shares.html")]
pub(crate) struct SharesPage {
    pub(crate) c: Chrome,
    pub(crate) query: String,
    pub(crate) rows: Vec<ShareCard>,
    pub(crate) next_href: Option<String>,
    pub(crate) notices: Vec<String>,
}

/// The security headers of every page (and asset).
pub(crate) fn secure_headers(response: &mut Response, content_origin: Option<&str>) {
    // Signed content URLs may live on another origin (`public_base_url`):
    // images and the download form's redirect may go there, nothing else.
    let extra = content_origin.map_or(String::new(), |o| format!(" {o}"));
    let csp = format!(
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:{extra}; \
         form-action 'self'{extra}; frame-ancestors 'none'; base-uri 'none'"
    );
    let headers = response.headers_mut();
    let mut set = |name: HeaderName, value: &str| {
        if let Ok(v) = HeaderValue::from_str(value) {
            headers.insert(name, v);
        }
    };
    set(header::CONTENT_SECURITY_POLICY, &csp);
    set(header::X_CONTENT_TYPE_OPTIONS, "nosniff");
    set(header::X_FRAME_OPTIONS, "DENY");
    set(header::REFERRER_POLICY, "no-referrer");
    set(
        HeaderName::from_static("cross-origin-opener-policy"),
        "same-origin",
    );
}

/// Renders `page` as an HTML response with `status`, never cached (pages
/// carry CSRF values and per-visitor content).
pub(crate) fn html(status: StatusCode, page: &impl Template) -> Response {
    match page.render() {
        Ok(body) => {
            let mut r = (status, body).into_response();
            let h = r.headers_mut();
            h.insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/html; charset=utf-8"),
            );
            h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            r
        }
        Err(e) => {
            tracing::error!(error = %e, "rendering a page failed");
            (StatusCode::INTERNAL_SERVER_ERROR, "internal error").into_response()
        }
    }
}
