//! A real headless Chromium (Debian's `chromium` and `chromium-driver`
//! packages, which `scripts/test` installs) driven over WebDriver by
//! `fantoccini`, for the web UI tests.
//!
//! Each [`Browser`] starts its own `chromedriver` on a free loopback port
//! and a Chromium with a fresh profile, so tests do not share cookies.
//! Chromium runs with the flags this sandbox needs (no sandbox as root, no
//! background networking: the machine has no route out). Missing binaries
//! fail the test with the command that installs them.
//!
//! `GATEWAY_SCREENSHOTS=<dir>` makes [`Browser::screenshot`] write PNGs
//! there (how `docs/screenshots/` is made); otherwise it only checks that a
//! screenshot can be taken.

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use fantoccini::elements::Element;
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::json;
use tempfile::TempDir;

/// Where Debian puts the browser and its driver (overridable).
fn binary(var: &str, default: &str) -> PathBuf {
    let path = PathBuf::from(std::env::var(var).unwrap_or_else(|_| default.to_owned()));
    assert!(
        path.exists(),
        "{} not found: install Debian's chromium and chromium-driver (apt-get install chromium chromium-driver; \
         scripts/test does) or set {var}",
        path.display()
    );
    path
}

pub struct Browser {
    pub client: Client,
    base: String,
    driver: Child,
    _profile: TempDir,
}

impl Browser {
    /// A browser for the gateway at `base` (`http://127.0.0.1:port`), with a
    /// window of `width` × `height` CSS pixels.
    pub async fn start(base: &str, width: u32, height: u32) -> Browser {
        let chromium = binary("GATEWAY_CHROMIUM", "/usr/bin/chromium");
        let chromedriver = binary("GATEWAY_CHROMEDRIVER", "/usr/bin/chromedriver");
        let port = TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).expect("a free port").port();
        // On Linux Chromium takes its locale from the environment (LANGUAGE
        // first), not from `--lang`: the date pickers and validation bubbles
        // speak Chinese. LANG stays a locale every machine has, with UTF-8,
        // so that file paths with Chinese names reach the browser intact.
        let driver = Command::new(chromedriver)
            .env("LANGUAGE", "zh_CN")
            .env("LANG", "C.UTF-8")
            .arg(format!("--port={port}"))
            .arg("--allowed-ips=127.0.0.1")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver starts");
        let profile = tempfile::tempdir().expect("profile dir");
        let url = format!("http://127.0.0.1:{port}");
        let status = format!("{url}/status");
        let mut ready = false;
        for _ in 0..100 {
            if let Ok(r) = reqwest::get(&status).await
                && r.status().is_success()
            {
                ready = true;
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert!(ready, "chromedriver did not answer on {status}");
        let caps = json!({
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": chromium,
                "args": [
                    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                    "--disable-quic", "--no-first-run", "--disable-background-networking",
                    "--disable-component-update", "--disable-sync", "--disable-extensions",
                    "--lang=zh-CN", "--force-device-scale-factor=1",
                    format!("--user-data-dir={}", profile.path().display()),
                    format!("--window-size={width},{height}"),
                ],
            },
        });
        let serde_json::Value::Object(caps) = caps else { unreachable!() };
        let connector = hyper_util::client::legacy::connect::HttpConnector::new();
        let client = ClientBuilder::new(connector).capabilities(caps).connect(&url).await.expect("a WebDriver session");
        client.set_window_size(width, height).await.expect("window size");
        Browser { client, base: base.to_owned(), driver, _profile: profile }
    }

    /// Opens a gateway page.
    pub async fn goto(&self, path: &str) {
        self.client.goto(&format!("{}{path}", self.base)).await.expect("navigation");
    }

    /// The current path and query.
    pub async fn path(&self) -> String {
        let url = self.client.current_url().await.expect("url");
        match url.query() {
            Some(q) => format!("{}?{q}", url.path()),
            None => url.path().to_owned(),
        }
    }

    /// The element, waiting for it to appear (pages load after a click).
    pub async fn find(&self, css: &str) -> Element {
        match self.client.wait().at_most(Duration::from_secs(20)).for_element(Locator::Css(css)).await {
            Ok(element) => element,
            Err(e) => {
                // Say what the page was, so a failure can be read from the log.
                let url = self.client.current_url().await.map(|u| u.to_string()).unwrap_or_default();
                let text = self
                    .client
                    .execute("return document.body ? document.body.innerText : ''", vec![])
                    .await
                    .ok()
                    .and_then(|v| v.as_str().map(|t| t.chars().take(2000).collect::<String>()))
                    .unwrap_or_default();
                panic!("no element {css:?} on the page {url}: {e}\n--- page text ---\n{text}")
            }
        }
    }

    /// Every element matching.
    pub async fn all(&self, css: &str) -> Vec<Element> {
        self.client.find_all(Locator::Css(css)).await.expect("find_all")
    }

    pub async fn text(&self, css: &str) -> String {
        self.find(css).await.text().await.expect("text")
    }

    pub async fn click(&self, css: &str) {
        self.find(css).await.click().await.unwrap_or_else(|e| panic!("cannot click {css:?}: {e}"));
    }

    /// Clicks something that loads a new page (a link, a form's button) and
    /// waits until the new page has loaded, so that nothing is read from
    /// the old one.
    pub async fn click_to(&self, css: &str) {
        self.mark_page().await;
        self.click(css).await;
        self.wait_new_page().await;
    }

    /// Marks the current document; [`Browser::wait_new_page`] waits for a
    /// document without the mark.
    pub async fn mark_page(&self) {
        self.client.execute("window.__gatewayOldPage = true;", vec![]).await.expect("mark the page");
    }

    pub async fn wait_new_page(&self) {
        for _ in 0..200 {
            let fresh = self
                .client
                .execute("return window.__gatewayOldPage !== true && document.readyState === 'complete';", vec![])
                .await;
            if matches!(fresh, Ok(serde_json::Value::Bool(true))) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("no new page loaded within 10 s");
    }

    /// Reloads the page until `ready` holds (what a person waiting for a
    /// channel's confirmation does), for up to 20 s.
    pub async fn reload_until(&self, what: &str, ready: impl AsyncFn(&Browser) -> bool) {
        for _ in 0..100 {
            if ready(self).await {
                return;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
            self.client.refresh().await.expect("reload");
        }
        panic!("the page never showed {what}");
    }

    /// Types into a field (after clearing it).
    pub async fn fill(&self, css: &str, text: &str) {
        let e = self.find(css).await;
        e.clear().await.expect("clear");
        e.send_keys(text).await.expect("typing");
    }

    /// Logs in through the login page.
    pub async fn login(&self, username: &str, password: &str) {
        self.goto("/").await;
        self.fill("#username", username).await;
        self.fill("#password", password).await;
        self.click_to("form[action='/login'] button[type=submit]").await;
        self.find("header .who").await;
    }

    /// Logs out with the button in the header.
    pub async fn logout(&self) {
        self.click_to("form[action='/logout'] button").await;
        self.find("#username").await;
    }

    /// Runs axe-core on the page and returns its serious and critical
    /// violations (WCAG 2.x A/AA rules: labels, contrast, names, landmarks…),
    /// one line each. `GATEWAY_AXE` names axe.min.js (`scripts/test` fetches it).
    pub async fn accessibility_problems(&self) -> Vec<String> {
        let path = std::env::var("GATEWAY_AXE")
            .unwrap_or_else(|_| panic!("GATEWAY_AXE is not set: run scripts/test, which fetches axe-core and sets it"));
        let axe = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("cannot read {path}: {e}"));
        self.client.execute(&format!("{axe}\nreturn typeof axe;"), vec![]).await.expect("axe loads");
        let result = self
            .client
            .execute_async(
                r#"const done = arguments[arguments.length - 1];
                axe.run(document, { runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] } })
                  .then(r => done(r.violations
                    .filter(v => v.impact === 'serious' || v.impact === 'critical')
                    .map(v => v.impact + ' ' + v.id + ': ' + v.help + ' @ ' + v.nodes.slice(0, 3).map(n => n.target.join(' ')).join(' | '))))
                  .catch(e => done(['axe failed: ' + e]));"#,
                vec![],
            )
            .await
            .expect("axe runs");
        serde_json::from_value(result).expect("a list of strings")
    }

    /// Checks the page has no serious or critical accessibility problem.
    pub async fn assert_accessible(&self, page: &str) {
        let problems = self.accessibility_problems().await;
        assert!(problems.is_empty(), "{page} has accessibility problems:\n{}", problems.join("\n"));
    }

    /// Scrolls the element into the middle of the window (before a screenshot).
    pub async fn scroll_to(&self, css: &str) {
        let element = self.find(css).await;
        let arg = serde_json::to_value(&element).expect("element reference");
        self.client.execute("arguments[0].scrollIntoView({block: 'center'});", vec![arg]).await.expect("scrolling");
    }

    /// Takes a screenshot; writes it as `<name>.png` where
    /// `GATEWAY_SCREENSHOTS` points.
    pub async fn screenshot(&self, name: &str) {
        let png = self.client.screenshot().await.expect("screenshot");
        assert!(png.starts_with(b"\x89PNG"), "a screenshot is a PNG");
        if let Ok(dir) = std::env::var("GATEWAY_SCREENSHOTS") {
            std::fs::create_dir_all(&dir).expect("screenshot dir");
            std::fs::write(PathBuf::from(dir).join(format!("{name}.png")), png).expect("write screenshot");
        }
    }

    /// Ends the session and the driver.
    pub async fn stop(mut self) {
        let _ = self.client.clone().close().await;
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.driver.kill();
    }
}
