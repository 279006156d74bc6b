//! The share pages in a real browser: headless Chromium (Debian's
//! `chromium` and `chromium-driver`) driven over WebDriver against the real
//! server process on loopback.
//!
//! Where no Chromium is installed this prints one "skipped: no chromium"
//! line and passes, unless `SHARELINK_REQUIRE_BROWSER=1` (CI sets it). The
//! accessibility check needs axe-core from the npm registry
//! (`.ci/browser.sh` installs it under `target/browser-tools`, or point
//! `SHARELINK_AXE_JS` at `axe.min.js`); it is required whenever the browser
//! is.
//!
//! Screenshots go to `target/screenshots/`; a few are committed under
//! `docs/` and shown in the README.

#[path = "common/mod.rs"]
mod common;
#[path = "hostile/harness.rs"]
mod harness;
#[path = "support/webdriver.rs"]
mod webdriver;

use std::path::{Path, PathBuf};

use harness::{ALICE_DRIVE, Server, client};
use serde_json::json;
use webdriver::{Browser, Driver};

fn required() -> bool {
    std::env::var("SHARELINK_REQUIRE_BROWSER").is_ok_and(|v| v == "1")
}

/// Whether the browser tests can run here; says why not otherwise.
fn browser_ready() -> bool {
    if webdriver::available() {
        return true;
    }
    assert!(
        !required(),
        "SHARELINK_REQUIRE_BROWSER=1 but {} or {} is missing (apt-get install chromium chromium-driver)",
        webdriver::CHROMIUM,
        webdriver::CHROMEDRIVER
    );
    say(&format!(
        "skipped: no chromium ({} not found)",
        webdriver::CHROMIUM
    ));
    false
}

/// Straight to the stderr handle: the test harness captures `eprintln!`
/// of passing tests, and a "skipped" line must show.
fn say(line: &str) {
    use std::io::Write as _;
    let _ = writeln!(std::io::stderr(), "{line}");
}

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// axe-core's source, if installed.
fn axe_source() -> Option<String> {
    let path = std::env::var("SHARELINK_AXE_JS")
        .map(PathBuf::from)
        .unwrap_or_else(|_| {
            workspace().join("target/browser-tools/node_modules/axe-core/axe.min.js")
        });
    match std::fs::read_to_string(&path) {
        Ok(s) => Some(s),
        Err(_) => {
            assert!(
                !required(),
                "SHARELINK_REQUIRE_BROWSER=1 but axe-core is missing at {} (bash .ci/browser.sh installs it)",
                path.display()
            );
            say(&format!(
                "skipped: no axe-core at {} (accessibility checks not run)",
                path.display()
            ));
            None
        }
    }
}

fn shot(browser: &Browser, name: &str) {
    let dir = workspace().join("target/screenshots");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join(format!("{name}.png")), browser.screenshot()).unwrap();
}

/// Runs axe-core on the current page: no critical or serious violation.
fn check_accessibility(browser: &Browser, axe: Option<&str>, page: &str) {
    let Some(axe) = axe else { return };
    browser.run(&format!("{axe}\n;return true;"));
    let result = browser.run_async(
        "const done = arguments[arguments.length - 1];
         axe.run(document, { resultTypes: ['violations'] })
            .then(r => done(r.violations.map(v => ({ id: v.id, impact: v.impact, help: v.help,
                 nodes: v.nodes.map(n => n.target.join(' ')).slice(0, 5) }))))
            .catch(e => done([{ id: 'axe-error', impact: 'critical', help: String(e), nodes: [] }]));",
    );
    let bad: Vec<_> = result
        .as_array()
        .unwrap()
        .iter()
        .filter(|v| matches!(v["impact"].as_str(), Some("critical" | "serious")))
        .collect();
    assert!(bad.is_empty(), "axe on {page}: {bad:#?}");
}

fn demo_share(server: &Server) -> String {
    std::fs::read_to_string(server.data_dir().join("demo-share"))
        .unwrap()
        .trim()
        .to_owned()
}

fn sign_in(browser: &Browser, server: &Server, token: &str) {
    browser.goto(&format!("{}/signin", server.base));
    browser.type_into(&browser.find("#token"), token);
    browser.click_to_page(&browser.find("form[action='/signin'] button[type=submit]"));
}

fn sign_out(browser: &Browser) {
    browser.click_to_page(&browser.find("form[action='/signout'] button"));
}

/// The row of the files table whose name is `name`.
fn row_button(browser: &Browser, name: &str, label: &str) -> webdriver::Element {
    browser.find(&format!("button[aria-label='{label}: {name}']"))
}

#[test]
fn a_person_walks_the_share_pages_in_chromium() {
    if !browser_ready() {
        return;
    }
    let axe = axe_source();
    let server = Server::start(&[]);
    let driver = Driver::start();
    let downloads = tempfile::tempdir().unwrap();
    let browser = driver.session(downloads.path(), 1280, 900, "en-US");
    let share = demo_share(&server);
    let link = format!("{}/s/{share}", server.base);

    // 1. Open the link: the public view, with a code form.
    browser.goto(&link);
    let text = browser.body_text();
    assert!(text.contains("Alice's holiday"), "{text}");
    assert!(text.contains("Shared by Ali**ll"), "{text}");
    assert!(text.contains("extraction code"), "{text}");
    shot(&browser, "share-code");
    check_accessibility(&browser, axe.as_deref(), "the code form");

    // 2. A wrong code, then the right one.
    browser.type_into(&browser.find("#code"), "wrong-code");
    browser.click_to_page(&browser.find("main form button[type=submit]"));
    let text = browser.body_text();
    assert!(text.contains("That code is not right."), "{text}");
    assert!(text.contains("You can try 4 more time(s)"), "{text}");
    check_accessibility(&browser, axe.as_deref(), "the wrong-code page");
    browser.type_into(&browser.find("#code"), "s3cret");
    browser.click_to_page(&browser.find("main form button[type=submit]"));
    let text = browser.body_text();
    assert!(
        text.contains("welcome.txt") && text.contains("photos"),
        "{text}"
    );
    // The token lives in an HttpOnly cookie: no script can read it.
    assert_eq!(browser.run("return document.cookie;"), json!(""));
    assert!(
        !browser.current_url().contains("v1."),
        "no token in the URL"
    );

    // 4. The APK is listed, with the reason and no download button.
    assert!(
        text.contains(
            "installation packages (APK, IPA) are not allowed on shares for external users"
        ),
        "{text}"
    );
    assert!(
        browser
            .find_all("button[aria-label='Download: app-release.apk']")
            .is_empty()
    );
    shot(&browser, "share-files");
    check_accessibility(&browser, axe.as_deref(), "the file list");

    // 3. Open a folder (breadcrumbs) and download a file: its bytes.
    browser.click_to_page(&browser.find("a[href$='folder=photos']"));
    let crumbs = browser.text_of(&browser.find("nav.crumbs"));
    assert!(
        crumbs.contains("All files") && crumbs.contains("photos"),
        "{crumbs}"
    );
    browser.click(&row_button(&browser, "notes.md", "Download")); // a download: no new page
    assert_eq!(
        browser.downloaded("notes.md"),
        b"# Holiday notes\n\n- sunset at 19:42\n"
    );
    // An image preview through the rendition.
    browser.click_to_page(&browser.find("a[aria-label='Preview: sunset.jpg']"));
    let loaded = browser.run(
        "const img = document.querySelector('img.preview');
         return img && img.complete && img.naturalWidth > 0;",
    );
    assert_eq!(loaded, json!(true), "the preview image loads");
    shot(&browser, "share-preview");

    // The API counted one download and one preview, as its own calls do.
    let counted = server.post(
        &client(),
        "/v2/share_link/get",
        json!({ "share_id": share }),
        &[("authorization", &server.alice_auth())],
    );
    assert_eq!(counted.json()["download_count"], 1, "{:?}", counted.json());
    assert_eq!(counted.json()["preview_count"], 1, "{:?}", counted.json());

    // 5. Bob signs in, follows the link from another site (as from a chat:
    // `localhost` is another site than `127.0.0.1`) and arrives signed in,
    // then saves welcome.txt into his drive.
    sign_in(&browser, &server, &server.bob);
    let elsewhere = server.base.replace("127.0.0.1", "localhost");
    browser.goto(&format!("{elsewhere}/signin"));
    browser.follow_link_to(&link);
    assert!(
        browser.current_url().starts_with(&link),
        "{}",
        browser.current_url()
    );
    assert!(
        browser.body_text().contains("Bob Builder"),
        "signed in after a cross-site link: {}",
        browser.body_text()
    );
    browser.goto(&link);
    browser.click_to_page(&row_button(&browser, "welcome.txt", "Save to my drive"));
    let text = browser.body_text();
    assert!(
        text.contains("“welcome.txt” was saved to your drive."),
        "{text}"
    );
    browser.click_to_page(&browser.find("a[href='/my/drive']"));
    let text = browser.body_text();
    assert!(text.contains("welcome.txt"), "bob's drive: {text}");
    check_accessibility(&browser, axe.as_deref(), "bob's drive");
    sign_out(&browser);

    // 6. Alice signs in, shares welcome.txt with a code, sees the QR code,
    // then cancels the share.
    sign_in(&browser, &server, &server.alice);
    browser.goto(&format!("{}/my/drive", server.base));
    browser.click(&browser.find("input[aria-label='Select: welcome.txt']"));
    browser.type_into(&browser.find("#share_name"), "Welcome note");
    browser.type_into(&browser.find("#share_pwd"), "2024");
    // Keyboard-usable: the members-only switch toggles from its label.
    browser.click(&browser.find("label[for=members_only]"));
    assert_eq!(
        browser.run("return document.getElementById('members_only').checked;"),
        json!(true)
    );
    browser.click(&browser.find("label[for=members_only]"));
    shot(&browser, "my-drive");
    check_accessibility(&browser, axe.as_deref(), "My drive");
    browser
        .click_to_page(&browser.find("form.drive-form > section:last-child > button[type=submit]"));
    let text = browser.body_text();
    assert!(
        text.contains("Your share link") && text.contains("Extraction code: 2024"),
        "{text}"
    );
    let new_link = browser.run("return document.getElementById('link').value;");
    let new_link = new_link.as_str().unwrap().to_owned();
    assert!(
        new_link.starts_with(&format!("{}/s/", server.base)),
        "{new_link}"
    );
    let qr_cells = browser
        .run("return document.querySelectorAll('figure.qr svg path, figure.qr svg rect').length;");
    assert!(qr_cells.as_u64().unwrap() > 0, "a QR code is drawn");
    shot(&browser, "share-created");
    check_accessibility(&browser, axe.as_deref(), "the new share");
    browser.goto(&format!("{}/my/shares", server.base));
    let text = browser.body_text();
    assert!(
        text.contains("Welcome note") && text.contains("Active"),
        "{text}"
    );
    check_accessibility(&browser, axe.as_deref(), "My shares");
    browser.click_to_page(&browser.find("button[aria-label='Cancel share: Welcome note']"));
    let text = browser.body_text();
    assert!(text.contains("Cancelled"), "{text}");
    shot(&browser, "my-shares");

    // 7. Reopen the link: the cancelled page, with its status.
    browser.goto(&new_link);
    let text = browser.body_text();
    assert!(text.contains("This share was cancelled"), "{text}");
    check_accessibility(&browser, axe.as_deref(), "the cancelled page");
    let status = client().get(&new_link).send().unwrap().status().as_u16();
    assert_eq!(status, 403);
}

#[test]
fn the_pages_fit_a_phone_and_escape_hostile_file_names() {
    if !browser_ready() {
        return;
    }
    let axe = axe_source();
    let server = Server::start(&[]);
    // Files named to run script, if anything failed to escape them.
    let dir = tempfile::tempdir().unwrap();
    let album = dir.path().join("album");
    std::fs::create_dir(&album).unwrap();
    let hostile = [
        "<img src=x onerror=\"window.__xss=1\">.txt",
        "\"><script>window.__xss=2;<!-- .txt",
        "'><svg onload=window.__xss=3>.txt",
    ];
    for name in hostile {
        std::fs::write(album.join(name), b"hostile name, harmless bytes").unwrap();
    }
    let album_id = server.import("alice", &server.alice, &album);
    let share = server.share_with(
        &[&album_id],
        json!({ "share_name": "<script>window.__xss=4</script>", "description": "<b>bold?</b>" }),
    );
    let driver = Driver::start();
    let downloads = tempfile::tempdir().unwrap();
    // A phone: 375 CSS pixels wide.
    let browser = driver.session(downloads.path(), 375, 812, "en-US");
    browser.phone(375, 812);
    let link = format!("{}/s/{share}", server.base);
    browser.goto(&link);
    browser.click_to_page(&browser.find("main form button[type=submit]"));
    browser.click_to_page(&browser.find(&format!("a[href$='folder={album_id}']")));
    let text = browser.body_text();
    for name in hostile {
        assert!(text.contains(name), "{name:?} is shown as text: {text}");
    }
    assert!(
        text.contains("<script>window.__xss=4</script>"),
        "the share name is text"
    );
    let ran = browser.run(
        "return [typeof window.__xss, document.querySelectorAll('img[src=\"x\"], main script, svg[onload]').length];",
    );
    assert_eq!(
        ran,
        json!(["undefined", 0]),
        "nothing injected ran or was parsed"
    );
    // Readable at 375 px: nothing wider than the viewport.
    assert_eq!(browser.run("return window.innerWidth;"), json!(375));
    let fits = browser.run("return document.documentElement.scrollWidth <= window.innerWidth;");
    assert_eq!(fits, json!(true), "no horizontal scrolling on a phone");
    shot(&browser, "phone-files");
    check_accessibility(&browser, axe.as_deref(), "the phone file list");

    // The creator's pages escape them too, and fit the phone.
    sign_in(&browser, &server, &server.alice);
    browser.goto(&format!("{}/my/shares", server.base));
    let ran = browser.run("return typeof window.__xss;");
    assert_eq!(ran, json!("undefined"));
    assert!(
        browser
            .body_text()
            .contains("<script>window.__xss=4</script>")
    );
    let fits = browser.run("return document.documentElement.scrollWidth <= window.innerWidth;");
    assert_eq!(fits, json!(true), "My shares fits a phone");
    shot(&browser, "phone-my-shares");
    browser.goto(&format!("{}/my/drive?folder={album_id}", server.base));
    assert_eq!(
        browser.run("return typeof window.__xss;"),
        json!("undefined")
    );
    let fits = browser.run("return document.documentElement.scrollWidth <= window.innerWidth;");
    assert_eq!(fits, json!(true), "My drive fits a phone");
    check_accessibility(&browser, axe.as_deref(), "My drive on a phone");
    let _ = ALICE_DRIVE;
}
