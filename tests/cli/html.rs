//! `--format html` in a real browser: Debian's `chromium`, headless, on the README's
//! release-manager walk-through (the demo's deployed release against a new snapshot).
//! The page must show its sections and the finding counts the JSON report has, lay
//! out without widening the page at 1280 px and at a phone's 390 px, and load
//! nothing: the browser runs behind a proxy that records every request, and a
//! control page shows that the trap does catch a page's loads.
//!
//! `BLESS=1` also copies the 1280 px screenshot to `docs/images/demo-report.png`,
//! which the README shows.

use std::io::{BufRead as _, BufReader};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use crate::support::*;

/// Requests Chromium makes for itself (clock, component updates, sign-in) whatever
/// flags it is given; a page's loads are anything else.
const BROWSER_OWN_HOSTS: &[&str] = &[".google.com", ".googleapis.com", ".gstatic.com"];

/// A proxy that accepts connections and records each request line, answering none.
struct Trap {
    port: u16,
    requests: Arc<Mutex<Vec<String>>>,
}

impl Trap {
    fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let requests = Arc::new(Mutex::new(Vec::new()));
        let seen = Arc::clone(&requests);
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let _ = stream.set_read_timeout(Some(std::time::Duration::from_secs(2)));
                let mut line = String::new();
                let _ = BufReader::new(&stream).read_line(&mut line);
                seen.lock().unwrap().push(line.trim().to_owned());
            }
        });
        Self { port, requests }
    }

    /// The recorded requests that are not the browser's own.
    fn page_requests(&self) -> Vec<String> {
        self.requests
            .lock()
            .unwrap()
            .iter()
            .filter(|line| {
                let host = line
                    .split_whitespace()
                    .nth(1)
                    .unwrap_or_default()
                    .trim_start_matches("http://")
                    .trim_start_matches("https://")
                    .split(['/', ':'])
                    .next()
                    .unwrap_or_default()
                    .to_owned();
                !BROWSER_OWN_HOSTS.iter().any(|own| host.ends_with(own))
            })
            .cloned()
            .collect()
    }
}

/// Runs headless Chromium with the flags a CI machine needs, behind `trap`.
fn chromium(trap: &Trap, args: &[&str]) -> String {
    let profile = tempfile::tempdir().unwrap();
    let o = std::process::Command::new("chromium")
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            "--hide-scrollbars",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .arg(format!("--proxy-server=127.0.0.1:{}", trap.port))
        .args(args)
        .output()
        .unwrap();
    assert!(o.status.success(), "chromium {args:?}: {}", stderr(&o));
    stdout(&o)
}

/// A copy of `html` with a probe that records, once the document is parsed, how wide
/// the page lays out when the root is `width` px wide (0: the window's width), how
/// tall it is, and how many resources the page fetched. The probe goes before the
/// report's own Content-Security-Policy, which forbids scripts after it.
fn probed(html: &str, width: u32) -> String {
    let probe = format!(
        "<script>document.addEventListener('DOMContentLoaded',function(){{var r=document.documentElement;if({width}>0){{r.style.width='{width}px';}}var w={width}>0?{width}:window.innerWidth;var b=document.body;var sw=Math.max(b.scrollWidth,{width}>0?0:r.scrollWidth);b.setAttribute('data-probe-overflow',String(sw>w));b.setAttribute('data-probe-width',String(sw));b.setAttribute('data-probe-height',String(r.scrollHeight));b.setAttribute('data-probe-resources',String(performance.getEntriesByType('resource').length));}});</script>"
    );
    html.replacen("<head>\n", &format!("<head>\n{probe}"), 1)
}

/// The value of `data-probe-NAME` on the dumped `<body>`.
fn probe(dom: &str, name: &str) -> String {
    let key = format!("data-probe-{name}=\"");
    let at = dom
        .find(&key)
        .unwrap_or_else(|| panic!("no {key} in the DOM:\n{dom}"));
    dom[at + key.len()..].split('"').next().unwrap().to_owned()
}

fn file_url(path: &Path) -> String {
    format!("file://{}", path.display())
}

/// The width and height a PNG file declares (its IHDR chunk).
fn png_size(path: &Path) -> (u32, u32) {
    let bytes = std::fs::read(path).unwrap();
    assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n", "not a PNG");
    let be = |at: usize| u32::from_be_bytes(bytes[at..at + 4].try_into().unwrap());
    (be(16), be(20))
}

#[test]
fn the_release_managers_html_report_reads_in_a_real_browser() {
    if !require_tool("chromium") {
        return;
    }
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let dir = tempfile::tempdir().unwrap();
    let report = dir.path().join("release-report.html");
    let json = dir.path().join("report.json");
    // The README's commands, word for word, from a directory that sees the
    // repository's `testdata` (the release manifest is written there, not into the
    // repository).
    std::os::unix::fs::symlink(root.join("testdata"), dir.path().join("testdata")).unwrap();

    // The walk-through: the next release is snapshotted with its label, then compared
    // with the one deployed.
    let o = buildproof()
        .current_dir(dir.path())
        .args([
            "snapshot",
            "-c",
            "testdata/demo/buildproof.toml",
            "--label",
            "v1.4.2",
            "-o",
            "v1.4.2.json",
        ])
        .output()
        .unwrap();
    assert_exit(&o, 0);
    let o = buildproof()
        .current_dir(dir.path())
        .args([
            "diff",
            "testdata/demo/deployed.json",
            "v1.4.2.json",
            "-c",
            "testdata/demo/buildproof.toml",
            "--format",
            "html",
            "-o",
            "release-report.html",
            "--report",
            "json=report.json",
        ])
        .output()
        .unwrap();
    assert_exit(&o, 1);
    // The report went to files; the log still says how the run went.
    assert!(o.stdout.is_empty(), "{}", stdout(&o));
    assert!(
        stderr(&o).starts_with("buildproof diff: FAIL: 2 checked, 3 errors"),
        "{}",
        stderr(&o)
    );
    let html = std::fs::read_to_string(&report).unwrap();
    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    let errors = summary["summary"]["errors"].as_u64().unwrap();
    assert_eq!(errors, 3);

    // Self-contained as written: no script, no link, nothing to fetch, and a policy
    // that would stop the browser fetching anything anyway.
    for needle in ["<script", "src=", "href=", "url(", "@import"] {
        assert!(!html.contains(needle), "the report contains `{needle}`");
    }
    assert!(html.contains(
        "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\">"
    ));

    let trap = Trap::start();
    let page = dir.path().join("probe-1280.html");
    std::fs::write(&page, probed(&html, 0)).unwrap();
    let dom = chromium(
        &trap,
        &["--window-size=1280,1000", "--dump-dom", &file_url(&page)],
    );
    assert_eq!(probe(&dom, "overflow"), "false", "wider than 1280 px");
    assert_eq!(probe(&dom, "resources"), "0", "the page fetched something");
    // The sections, and the counts the JSON report has.
    for id in [
        "header",
        "releases",
        "summary",
        "findings",
        "changes",
        "component-goinstance",
        "component-web",
    ] {
        assert!(dom.contains(&format!("id=\"{id}\"")), "no #{id}");
    }
    assert!(
        dom.contains("v1.4.1 → v1.4.2 ("),
        "header without both releases"
    );
    assert!(
        dom.contains(&format!(
            "id=\"count-error\"><strong>{errors}</strong>errors"
        )),
        "error count"
    );
    assert_eq!(
        dom.matches("<article class=\"finding error\"").count() as u64,
        errors
    );
    assert!(dom.contains("data-rule=\"stale-artifact\""));
    // Findings keep their Dockerfile and config lines.
    assert!(dom.contains("<code>testdata/demo/web/Dockerfile:8</code>"));
    assert!(dom.contains("<code>testdata/demo/buildproof.toml:10</code>"));
    // The changes: the stale component's changed source, the honest one's outputs,
    // the Dockerfile's startup side by side.
    assert!(dom.contains("<code>goinstance/main.go</code>"));
    assert!(dom.contains("<code>app.js</code>"));
    assert!(dom.contains("<code>ENTRYPOINT</code>"));

    // A phone's width: nothing makes the page wider than the screen.
    let page = dir.path().join("probe-390.html");
    std::fs::write(&page, probed(&html, 390)).unwrap();
    let dom = chromium(
        &trap,
        &["--window-size=500,900", "--dump-dom", &file_url(&page)],
    );
    assert_eq!(
        probe(&dom, "overflow"),
        "false",
        "wider than 390 px: {}",
        probe(&dom, "width")
    );
    let height: u32 = {
        let page = dir.path().join("probe-height.html");
        std::fs::write(&page, probed(&html, 0)).unwrap();
        let dom = chromium(
            &trap,
            &["--window-size=1280,1000", "--dump-dom", &file_url(&page)],
        );
        probe(&dom, "height").parse().unwrap()
    };

    // The page as it is, photographed whole at 1280 px.
    let shot = dir.path().join("report.png");
    chromium(
        &trap,
        &[
            &format!("--window-size=1280,{}", height.clamp(600, 6000)),
            &format!("--screenshot={}", shot.display()),
            &file_url(&report),
        ],
    );
    let (w, h) = png_size(&shot);
    assert_eq!(w, 1280);
    assert!(h >= 600, "{h}");
    if std::env::var_os("BLESS").is_some() {
        let dest = root.join("docs/images/demo-report.png");
        std::fs::create_dir_all(dest.parent().unwrap()).unwrap();
        std::fs::copy(&shot, &dest).unwrap();
    }

    // Printable: Chromium prints it to PDF (print CSS opens every fold).
    let pdf = dir.path().join("report.pdf");
    chromium(
        &trap,
        &[
            "--no-pdf-header-footer",
            &format!("--print-to-pdf={}", pdf.display()),
            &file_url(&report),
        ],
    );
    let bytes = std::fs::read(&pdf).unwrap();
    assert!(bytes.starts_with(b"%PDF-"), "not a PDF");
    assert!(bytes.len() > 10_000, "{} bytes", bytes.len());

    // Nothing went to the network from the report. The control page proves the
    // trap would have seen it.
    assert_eq!(trap.page_requests(), Vec::<String>::new());
    let control = dir.path().join("control.html");
    std::fs::write(
        &control,
        "<!DOCTYPE html><html><body><img src=\"http://buildproof-trap.invalid/x.png\"></body></html>",
    )
    .unwrap();
    chromium(&trap, &["--dump-dom", &file_url(&control)]);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    while trap.page_requests().is_empty() && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    assert!(
        trap.page_requests()
            .iter()
            .any(|r| r.contains("buildproof-trap.invalid")),
        "the trap saw nothing of the control page: {:?}",
        trap.requests.lock().unwrap()
    );
}
