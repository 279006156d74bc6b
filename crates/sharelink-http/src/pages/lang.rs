//! The pages' two languages, English and Simplified Chinese (PDS's own
//! users read Chinese), chosen from `Accept-Language`, and every sentence a
//! page shows, in one table so that the two cannot drift apart.

use axum::http::{HeaderMap, header};

/// A language the pages speak.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Lang {
    /// English (the default).
    En,
    /// Simplified Chinese.
    Zh,
}

impl Lang {
    /// The best of ours for `Accept-Language` (RFC 9110 §12.5.4): the
    /// highest `q` wins, ties go to the first listed, anything unknown or
    /// malformed is English.
    pub(crate) fn negotiate(headers: &HeaderMap) -> Self {
        let Some(value) = headers
            .get(header::ACCEPT_LANGUAGE)
            .and_then(|v| v.to_str().ok())
        else {
            return Self::En;
        };
        let mut best: Option<(u16, Self)> = None;
        for part in value.split(',').take(32) {
            let mut fields = part.split(';');
            let tag = fields.next().unwrap_or("").trim().to_ascii_lowercase();
            let q = fields
                .find_map(|f| f.trim().strip_prefix("q="))
                .map_or(1000, parse_q);
            let lang = if tag == "zh" || tag.starts_with("zh-") {
                // Traditional-script tags are not ours; fall through.
                if tag.contains("hant") || tag == "zh-tw" || tag == "zh-hk" || tag == "zh-mo" {
                    continue;
                }
                Self::Zh
            } else if tag == "en" || tag.starts_with("en-") || tag == "*" {
                Self::En
            } else {
                continue;
            };
            if q > 0 && best.is_none_or(|(b, _)| q > b) {
                best = Some((q, lang));
            }
        }
        best.map_or(Self::En, |(_, l)| l)
    }

    /// The `lang` attribute of `<html>`.
    pub(crate) fn code(self) -> &'static str {
        match self {
            Self::En => "en",
            Self::Zh => "zh-CN",
        }
    }

    /// Every sentence, in this language.
    pub(crate) fn text(self) -> &'static Text {
        match self {
            Self::En => &EN,
            Self::Zh => &ZH,
        }
    }
}

/// A `q` value in thousandths; malformed is 0 (not acceptable).
fn parse_q(text: &str) -> u16 {
    let text = text.trim();
    let (int, frac) = text.split_once('.').unwrap_or((text, ""));
    if frac.len() > 3 || !frac.bytes().all(|b| b.is_ascii_digit()) {
        return 0;
    }
    let frac_value = format!("{frac:0<3}").parse::<u16>().unwrap_or(0);
    match int {
        "0" => frac_value,
        "1" if frac_value == 0 => 1000,
        _ => 0,
    }
}

/// Fills `{n}`-style placeholders.
pub(crate) fn fill(template: &str, values: &[(&str, &dyn std::fmt::Display)]) -> String {
    let mut out = template.to_owned();
    for (name, value) in values {
        out = out.replace(&format!("{{{name}}}"), &value.to_string());
    }
    out
}

macro_rules! texts {
    ($($key:ident: $en:literal, $zh:literal;)*) => {
        /// Every sentence the pages show.
        #[derive(Debug)]
        pub(crate) struct Text {
            $(pub(crate) $key: &'static str,)*
        }
        static EN: Text = Text { $($key: $en,)* };
        static ZH: Text = Text { $($key: $zh,)* };
    };
}

texts! {
    site: "sharelink", "sharelink";
    skip: "Skip to content", "跳到正文";
    nav_drive: "My drive", "我的网盘";
    nav_shares: "My shares", "我的分享";
    nav_sign_in: "Sign in", "登录";
    nav_sign_out: "Sign out", "退出";
    shared_by: "Shared by {name}", "分享者：{name}";
    expires: "Expires {when}", "{when} 过期";
    never_expires: "Never expires", "永久有效";
    files_count: "{n} item(s)", "{n} 个项目";
    needs_code: "This share is protected by an extraction code.", "此分享需要提取码。";
    code_label: "Extraction code", "提取码";
    open_share: "Open", "打开";
    no_code_needed: "No code is needed: open the share to see its files.", "无需提取码：打开即可查看文件。";
    members_only_note: "Only signed-in members of the sharer's organisation can open it.", "仅分享者所在组织的已登录成员可以打开。";
    wrong_code: "That code is not right.", "提取码不正确。";
    attempts_left: "You can try {n} more time(s) before you have to wait.", "还可以再试 {n} 次，之后需要等待。";
    wait_before_retry: "Please wait {secs} seconds before trying again.", "请等待 {secs} 秒后再试。";
    throttled_title: "Too many attempts", "尝试次数过多";
    throttled: "Too many attempts on this share. Try again in {secs} seconds.", "对此分享的尝试次数过多，请 {secs} 秒后再试。";
    expired_title: "This share has expired", "分享已过期";
    expired: "The sharer set this link to expire. Ask them for a new one.", "分享者设置的有效期已过。请向分享者索取新的链接。";
    cancelled_title: "This share was cancelled", "分享已取消";
    cancelled: "The sharer cancelled this link. Its files cannot be opened from it any more.", "分享者已取消此链接，无法再通过它打开文件。";
    forbidden_title: "This share is not available", "分享不可用";
    forbidden: "This share has been blocked by an administrator.", "此分享已被管理员屏蔽。";
    not_found_title: "Share not found", "分享不存在";
    not_found: "There is no share at this address. Check the link you were given.", "此地址没有分享。请检查收到的链接。";
    file_not_found_title: "File not found", "文件不存在";
    file_not_found: "This file is not (or no longer) in the share.", "此文件不在（或已不在）分享中。";
    limit_title: "Limit reached", "已达上限";
    limit_download: "This share's download limit of {n} has been reached.", "此分享的下载次数上限（{n} 次）已用完。";
    limit_preview: "This share's preview limit of {n} has been reached.", "此分享的预览次数上限（{n} 次）已用完。";
    limit_save: "This share's save limit of {n} has been reached.", "此分享的转存次数上限（{n} 次）已用完。";
    quota_title: "Daily limit reached", "已达今日上限";
    quota: "The service's daily limit for this organisation is used up. Try again in {secs} seconds.", "该组织今日的使用额度已用完，请 {secs} 秒后再试。";
    members_title: "Members only", "仅限成员";
    members: "Only signed-in members of the sharer's organisation can open this share.", "仅分享者所在组织的已登录成员可以打开此分享。";
    sign_in_to_continue: "Sign in to continue", "登录后继续";
    disabled_title: "Not allowed on this share", "此分享不允许该操作";
    disabled_download: "The sharer does not allow downloads from this share.", "分享者不允许下载此分享中的文件。";
    disabled_preview: "The sharer does not allow previews on this share.", "分享者不允许预览此分享中的文件。";
    disabled_save: "The sharer does not allow saving files from this share.", "分享者不允许转存此分享中的文件。";
    file_type_title: "This file cannot be downloaded here", "无法从此处下载该文件";
    file_type: "Installation packages (APK, IPA) cannot be downloaded from a share for external users.", "面向外部用户的分享不允许下载安装包（APK、IPA）。";
    session_title: "Your session has ended", "会话已结束";
    session_ended: "Open the share again to continue.", "请重新打开分享以继续。";
    sign_in_again: "Your sign-in has ended. Please sign in again.", "登录已失效，请重新登录。";
    busy_title: "Please try again", "请稍后再试";
    busy: "The service is busy. Try again in {secs} seconds.", "服务繁忙，请 {secs} 秒后再试。";
    bad_request_title: "That did not work", "操作未完成";
    form_expired: "This form has expired. Go back, reload the page and try again.", "表单已失效。请返回并刷新页面后重试。";
    internal_title: "Something went wrong", "出错了";
    internal: "Something went wrong on our side. Try again later.", "服务出现问题，请稍后再试。";
    no_permission: "You do not have permission to do that.", "你没有执行此操作的权限。";
    back_to_share: "Back to the share", "返回分享";
    col_name: "Name", "名称";
    col_size: "Size", "大小";
    col_modified: "Modified", "修改时间";
    col_actions: "Actions", "操作";
    col_select: "Select", "选择";
    download: "Download", "下载";
    preview: "Preview", "预览";
    save_to_drive: "Save to my drive", "保存到我的网盘";
    sign_in_to_save: "Sign in to save to your drive", "登录后可保存到网盘";
    saved_title: "Saved", "已保存";
    saved: "“{name}” was saved to your drive.", "“{name}”已保存到你的网盘。";
    saved_folder: "“{name}” is being copied into your drive.", "正在将“{name}”复制到你的网盘。";
    open_drive: "Open my drive", "打开我的网盘";
    empty_folder: "This folder is empty.", "此文件夹为空。";
    breadcrumbs: "Location", "位置";
    share_root: "All files", "全部文件";
    apk_blocked: "Cannot be downloaded from this link: installation packages (APK, IPA) are not allowed on shares for external users.", "无法通过此链接下载：面向外部用户的分享不允许下载安装包（APK、IPA）。";
    cat_folder: "Folder", "文件夹";
    cat_image: "Image", "图片";
    cat_doc: "Document", "文档";
    cat_video: "Video", "视频";
    cat_audio: "Audio", "音频";
    cat_zip: "Archive", "压缩包";
    cat_app: "App package", "安装包";
    cat_others: "File", "文件";
    sign_in_title: "Sign in", "登录";
    sign_in_intro: "Sign in with your access token to share files and save shared files to your drive.", "使用访问令牌登录，即可分享文件或将分享的文件保存到网盘。";
    token_label: "Access token", "访问令牌";
    token_invalid: "That access token was not accepted.", "该访问令牌无效。";
    drive_title: "My drive", "我的网盘";
    no_drive: "You have no drive here.", "你在此没有网盘。";
    create_title: "Share the selected files", "分享所选文件";
    opt_name: "Share name (optional)", "分享名称（可选）";
    opt_description: "Description (optional)", "描述（可选）";
    opt_code: "Extraction code (optional, 4 to 64 characters)", "提取码（可选，4 到 64 个字符）";
    opt_remove_code: "Remove the extraction code", "移除提取码";
    opt_keep_code: "Leave empty to keep the current code.", "留空则保留当前提取码。";
    opt_expiry: "Expires", "有效期";
    exp_never: "Never", "永久";
    exp_hour: "In 1 hour", "1 小时";
    exp_day: "In 1 day", "1 天";
    exp_week: "In 7 days", "7 天";
    exp_month: "In 30 days", "30 天";
    exp_custom: "At a time I choose (UTC)", "自定义时间（UTC）";
    exp_keep: "Keep the current expiry", "保持当前有效期";
    opt_custom_time: "Expiry time (UTC)", "过期时间（UTC）";
    opt_allow_download: "Allow downloads", "允许下载";
    opt_allow_preview: "Allow previews", "允许预览";
    opt_allow_save: "Allow saving to a drive", "允许转存";
    opt_download_limit: "Download limit (0 = no limit)", "下载次数上限（0 为不限）";
    opt_preview_limit: "Preview limit (0 = no limit)", "预览次数上限（0 为不限）";
    opt_save_limit: "Save limit (0 = no limit)", "转存次数上限（0 为不限）";
    opt_members_only: "Members of my organisation only (they must sign in)", "仅限本组织成员（需要登录）";
    create_button: "Create share link", "创建分享链接";
    nothing_selected: "Tick at least one file or folder to share.", "请至少勾选一个文件或文件夹。";
    created_title: "Your share link", "你的分享链接";
    link_label: "Share link", "分享链接";
    copy: "Copy link", "复制链接";
    copied: "Copied", "已复制";
    qr_label: "QR code of the share link", "分享链接二维码";
    code_is: "Extraction code: {code}", "提取码：{code}";
    shares_title: "My shares", "我的分享";
    search_label: "Search by name", "按名称搜索";
    search: "Search", "搜索";
    no_shares: "No shares yet.", "还没有分享。";
    col_status: "Status", "状态";
    col_usage: "Used", "使用情况";
    col_expiry: "Expiry", "有效期";
    status_enabled: "Active", "有效";
    status_expired: "Expired", "已过期";
    status_cancelled: "Cancelled", "已取消";
    status_forbidden: "Blocked", "已屏蔽";
    usage_line: "{downloads} downloads, {previews} previews, {saves} saves, {accesses} visits", "下载 {downloads}，预览 {previews}，转存 {saves}，访问 {accesses}";
    of_limit: "{used} of {limit}", "{used} / {limit}";
    edit: "Edit", "编辑";
    cancel_share: "Cancel share", "取消分享";
    edit_title: "Edit share", "编辑分享";
    save_changes: "Save changes", "保存修改";
    changes_saved: "Changes saved.", "修改已保存。";
    next_page: "More", "更多";
    view_share: "Open the share page", "打开分享页面";
    no_inline_preview: "This file has no picture preview; open the preview instead.", "此文件没有图片预览，请直接打开预览。";
    open_preview: "Open preview", "打开预览";
    home_intro: "Open a share link you were given, or sign in to share your own files.", "打开你收到的分享链接，或登录后分享自己的文件。";
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pick(value: &str) -> Lang {
        let mut h = HeaderMap::new();
        h.insert(header::ACCEPT_LANGUAGE, value.parse().unwrap());
        Lang::negotiate(&h)
    }

    #[test]
    fn accept_language_picks_the_preferred_of_ours() {
        assert_eq!(pick("zh-CN,zh;q=0.9,en;q=0.8"), Lang::Zh);
        assert_eq!(pick("en-US,en;q=0.9,zh-CN;q=0.8"), Lang::En);
        assert_eq!(pick("fr-FR, zh;q=0.5"), Lang::Zh);
        assert_eq!(pick("de"), Lang::En);
        assert_eq!(pick("zh-TW"), Lang::En, "traditional script is not ours");
        assert_eq!(pick("zh-Hans-CN"), Lang::Zh);
        assert_eq!(pick("en;q=0.1, zh;q=0.2"), Lang::Zh);
        assert_eq!(pick("zh;q=0"), Lang::En, "q=0 means not acceptable");
        assert_eq!(pick("zh;q=banana, en;q=0.1"), Lang::En);
        assert_eq!(pick(";;;,,,q=1"), Lang::En);
        assert_eq!(Lang::negotiate(&HeaderMap::new()), Lang::En);
    }

    #[test]
    fn both_languages_fill_the_same_placeholders() {
        let en = fill(EN.attempts_left, &[("n", &3)]);
        let zh = fill(ZH.attempts_left, &[("n", &3)]);
        assert!(en.contains('3') && zh.contains('3'), "{en} / {zh}");
        assert!(!en.contains('{') && !zh.contains('{'));
    }
}
