//! Harness for the end-to-end tests: starts the real gateway in-process on
//! a loopback port with a fresh database (a SQLite file in a temporary
//! directory, or a new database on the PostgreSQL server named by
//! `GATEWAY_TEST_DATABASE_URL`), and gives typed HTTP helpers.
//!
//! PostgreSQL is not optional: without the variable, or with a server that
//! does not answer, the PostgreSQL variant of every test fails loudly.

use std::collections::BTreeSet;
use std::net::SocketAddr;

use gateway::auth::Role;
use gateway::config::{Secret, Settings};
use gateway::server::Server;
use gateway::store::Db;
use reqwest::StatusCode;
use serde_json::Value;
use sqlx::Row;
use tempfile::TempDir;

pub mod browser;
pub mod mail;
pub mod platforms;
pub mod process;
pub mod team;

pub use reqwest;
pub use serde_json::json;

/// Which database a test runs on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// The environment variable naming the PostgreSQL server for tests: a URL
/// to a database the test user may `CREATE DATABASE` from.
pub const PG_ENV: &str = "GATEWAY_TEST_DATABASE_URL";

/// Runs an async test body once per backend, as `name::sqlite` and
/// `name::postgres`.
#[macro_export]
macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                super::$name($crate::Backend::Sqlite).await
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                super::$name($crate::Backend::Postgres).await
            }
        }
    )*};
}

/// A running gateway and what it takes to restart it on the same data.
pub struct TestApp {
    pub base: String,
    pub addr: SocketAddr,
    pub db: Db,
    pub backend: Backend,
    settings: Settings,
    data_dir: TempDir,
    pg_database: Option<(String, String)>,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<std::io::Result<()>>>,
}

impl TestApp {
    /// A gateway with default settings on a fresh database.
    pub async fn spawn(backend: Backend) -> TestApp {
        TestApp::spawn_with(backend, |_| {}).await
    }

    /// A gateway on a fresh database, with settings adjusted by `configure`.
    pub async fn spawn_with(backend: Backend, configure: impl FnOnce(&mut Settings)) -> TestApp {
        let data_dir = tempfile::tempdir().expect("temporary directory");
        let mut settings = Settings {
            listen: "127.0.0.1:0".parse().unwrap(),
            data_dir: data_dir.path().to_owned(),
            ..Settings::default()
        };
        settings.review.policy = repo_root().join("policies/default.toml");
        settings.workflow.policy = repo_root().join("policies/workflow.toml");
        // Compiled plugins are cached across tests (written atomically), in
        // the build directory, which only this user writes.
        settings.review.cache_dir = Some(repo_root().join("target/test-plugin-cache"));
        reach_loopback(&mut settings.delivery);
        let pg_database = match backend {
            Backend::Sqlite => None,
            Backend::Postgres => {
                let (admin_url, url, name) = create_pg_database().await;
                settings.database.url = Some(Secret::new(url));
                Some((admin_url, name))
            }
        };
        configure(&mut settings);
        let mut app = TestApp {
            base: String::new(),
            addr: "127.0.0.1:0".parse().unwrap(),
            db: gateway::server::open_database(&settings).await.expect("database opens"),
            backend,
            settings,
            data_dir,
            pg_database,
            shutdown: None,
            task: None,
        };
        app.start().await;
        app
    }

    async fn start(&mut self) {
        let server = Server::bind(self.settings.clone()).await.expect("gateway starts");
        self.addr = server.local_addr();
        self.base = format!("http://{}", self.addr);
        self.db = server.state().db.clone();
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        self.shutdown = Some(tx);
        self.task = Some(tokio::spawn(server.run(async {
            let _ = rx.await;
        })));
    }

    /// Stops the server (finishing requests in flight) and starts a new one
    /// on the same data directory and database.
    pub async fn restart(&mut self) {
        self.stop_server().await;
        self.settings.listen = "127.0.0.1:0".parse().unwrap();
        self.start().await;
    }

    async fn stop_server(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(task) = self.task.take() {
            task.await.expect("server task").expect("server stopped cleanly");
        }
    }

    /// Stops the server and drops a PostgreSQL test database.
    pub async fn stop(mut self) {
        self.stop_server().await;
        self.db.close().await;
        if let Some((admin_url, name)) = self.pg_database.take() {
            let admin = Db::connect(&admin_url, 1).await.expect("postgres admin connection");
            sqlx::query(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
                .execute(admin.pool())
                .await
                .expect("drop test database");
            admin.close().await;
        }
    }

    /// The settings it runs with (for a second gateway on the same data).
    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    pub fn data_dir(&self) -> &std::path::Path {
        self.data_dir.path()
    }

    /// Creates a user directly in the store (as `gateway user add` does) and
    /// returns a client logged in as them over HTTP.
    pub async fn user(&self, username: &str, roles: &[Role], unit: Option<&str>) -> Client {
        logged_in_user(&self.db, &self.base, username, roles, unit).await
    }

    /// Appoints the people the default workflow needs for an item of `unit`
    /// (初审, 复审, 保密审查, 终审签发), so that a submitted item goes to
    /// review instead of being blocked for want of reviewers.
    /// A channel account: token-only (channel accounts have no password),
    /// created in the store, with a security administrator who issues its
    /// tokens ([`ChannelAccount::token`]).
    pub async fn channel_account(&self, username: &str) -> ChannelAccount {
        let new = gateway::http::new_user(
            username.to_owned(),
            format!("渠道{username}"),
            None,
            BTreeSet::from([Role::Channel]),
            None,
        )
        .expect("valid channel account");
        let user = self.db.create_user(None, &new).await.expect("channel account created");
        let security = self.user(&format!("sec-{username}"), &[Role::SecurityAdmin], None).await;
        ChannelAccount { id: user.id.to_string(), security }
    }

    pub async fn review_team(&self, unit: Option<&str>) {
        let tag = unit.map_or(0, |u| u.chars().map(u32::from).sum::<u32>());
        for (name, role) in [("first", Role::Reviewer), ("second", Role::Reviewer)] {
            self.user(&format!("{name}-{tag}"), &[role], unit).await;
        }
        self.user(&format!("secrecy-{tag}"), &[Role::SecrecyReviewer], None).await;
        self.user(&format!("approver-{tag}"), &[Role::Approver], unit).await;
    }

    /// A client with a cookie store and no credentials yet.
    pub fn client(&self) -> Client {
        browser_like_client(&self.base)
    }

    /// A fingerprint of everything the store holds about items, users and
    /// attachments, to assert that a refused request changed nothing.
    pub async fn snapshot(&self) -> Vec<String> {
        let mut out = Vec::new();
        for sql in [
            "SELECT id || '|' || state || '|' || CAST(current_version AS TEXT) AS r FROM items ORDER BY id",
            "SELECT item_id || '|' || CAST(version AS TEXT) || '|' || content_digest || '|' || title || '|' || body AS r \
             FROM item_versions ORDER BY item_id, version",
            "SELECT digest AS r FROM blobs ORDER BY digest",
            "SELECT username AS r FROM users ORDER BY username",
        ] {
            for row in sqlx::query(sql).fetch_all(self.db.pool()).await.expect("snapshot query") {
                out.push(row.try_get::<String, _>("r").expect("text column"));
            }
            out.push("--".into());
        }
        out
    }
}

/// Creates a user in `db` (password `Pw-<username>-2026`) and logs them in
/// at the gateway at `base`. The password stands for one the person chose
/// themselves (they changed the administrator's initial one), so the
/// session is not held to a password change; `tests/e2e/accounts.rs` tests
/// that obligation.
pub async fn logged_in_user(db: &Db, base: &str, username: &str, roles: &[Role], unit: Option<&str>) -> Client {
    let password = format!("Pw-{username}-2026");
    let mut new = gateway::http::new_user(
        username.to_owned(),
        format!("测试{username}"),
        unit.map(str::to_owned),
        roles.iter().copied().collect::<BTreeSet<_>>(),
        Some(&password),
    )
    .expect("valid test user");
    new.must_change_password = false;
    db.create_user(None, &new).await.expect("user created");
    let client = browser_like_client(base);
    let (status, body) = client.post("/api/v1/auth/login", &json!({"username": username, "password": password})).await;
    assert_eq!(status, StatusCode::OK, "login failed: {body}");
    client
}

/// Polls `cond` every 50 ms until it holds; panics naming `what` after
/// `secs` seconds.
pub async fn until<F: AsyncFnMut() -> bool>(secs: u64, what: &str, mut cond: F) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(secs);
    while std::time::Instant::now() < deadline {
        if cond().await {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("timed out after {secs} s waiting for {what}");
}

/// [`until`] with the 20 s the loopback tests allow for a delivery.
pub async fn eventually<F: AsyncFnMut() -> bool>(what: &str, cond: F) {
    until(20, what, cond).await;
}

/// A token-only channel account and the security administrator who issues
/// its tokens.
pub struct ChannelAccount {
    pub id: String,
    pub security: Client,
}

impl ChannelAccount {
    /// A client holding a new token of the account with `scopes`, bound to
    /// `channels`.
    pub async fn token(&self, scopes: &[&str], channels: &[&str]) -> Client {
        self.security.with_token(&self.issue(scopes, channels).await)
    }

    /// A new token of the account (the secret).
    pub async fn issue(&self, scopes: &[&str], channels: &[&str]) -> String {
        let (status, created) = self
            .security
            .post(
                "/api/v1/tokens",
                &json!({"user_id": self.id, "name": "渠道令牌", "scopes": scopes, "channels": channels}),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "channel token: {created}");
        created["token"].as_str().expect("a token").to_owned()
    }
}

/// Lets outbound requests reach the test's loopback receivers and platform
/// fakes, as an operator's configuration file would allow a relay, unless
/// the test set its own: `[delivery] allowed_networks` 127.0.0.0/8 and
/// `connector_api_bases` `http://127.0.0.1` (any port). Nothing else is
/// reachable.
pub fn reach_loopback(delivery: &mut gateway::config::DeliverySettings) {
    if delivery.allowed_networks.is_empty() {
        delivery.allowed_networks = vec!["127.0.0.0/8".parse().unwrap()];
    }
    if delivery.connector_api_bases.is_empty() {
        delivery.connector_api_bases = vec!["http://127.0.0.1".into()];
    }
}

/// A client with a cookie store and no credentials yet. Like a browser on
/// the gateway's own pages, [`Client::request`] sends `Origin: <base>`
/// (cookie-authenticated writes from another origin are refused).
pub fn browser_like_client(base: &str) -> Client {
    Client {
        http: reqwest::Client::builder().cookie_store(true).build().expect("http client"),
        base: base.to_owned(),
        bearer: None,
    }
}

/// A person's TOTP second factor, enrolled through the API as they would on
/// `/account`; gives codes the way an authenticator app would, each step
/// once (the gateway refuses a code used before).
pub struct Totp {
    secret: Vec<u8>,
    last_step: std::sync::Mutex<i64>,
}

impl Totp {
    /// Enrols a TOTP for the client's person: the secret shown once, then
    /// a first code to confirm it.
    pub async fn enrol(client: &Client) -> Totp {
        let (status, enrolment) = client.post("/api/v1/auth/totp", &json!({})).await;
        assert_eq!(status, StatusCode::OK, "totp enrolment: {enrolment}");
        let secret =
            gateway::auth::totp::from_base32(enrolment["secret"].as_str().expect("a secret")).expect("base32 secret");
        assert!(enrolment["otpauth_uri"].as_str().unwrap().starts_with("otpauth://totp/"), "{enrolment}");
        let totp = Totp { secret, last_step: std::sync::Mutex::new(-1) };
        let (status, body) = client.post("/api/v1/auth/totp/confirm", &json!({"code": totp.code().await})).await;
        assert_eq!(status, StatusCode::NO_CONTENT, "totp confirmation: {body}");
        totp
    }

    /// The secret, for computing a code independently.
    pub fn secret(&self) -> &[u8] {
        &self.secret
    }

    /// A code of a step not used before: the current one, or the next (an
    /// authenticator's clock may run up to 30 s ahead), or after waiting for
    /// the next step.
    pub async fn code(&self) -> String {
        use gateway::auth::totp;
        loop {
            let now = time::OffsetDateTime::now_utc().unix_timestamp();
            let current = totp::step_at(now);
            let step = {
                let mut last = self.last_step.lock().expect("totp lock");
                let step = (*last + 1).max(current);
                (step <= current + 1).then(|| {
                    *last = step;
                    step
                })
            };
            match step {
                Some(step) => return totp::code(&self.secret, step),
                None => {
                    let wait = (current + 1) * totp::STEP_SECS - now;
                    tokio::time::sleep(std::time::Duration::from_millis(u64::try_from(wait).unwrap_or(1) * 1000 + 50))
                        .await;
                }
            }
        }
    }
}

/// The repository root (this crate lives in `tests/`).
pub fn repo_root() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("tests/ has a parent").to_owned()
}

/// The SHA-256 pin of a built plugin, from `plugins/dist/manifest.toml`.
pub fn dist_pin(name: &str) -> String {
    gateway::plugin_host::built_pin(&repo_root().join("plugins/dist"), name).unwrap_or_else(|e| panic!("{e}"))
}

async fn create_pg_database() -> (String, String, String) {
    let admin_url = std::env::var(PG_ENV).unwrap_or_else(|_| {
        panic!("{PG_ENV} is not set: the PostgreSQL half of the suite needs a server (run `scripts/test`, which starts one)")
    });
    let admin =
        Db::connect(&admin_url, 1).await.unwrap_or_else(|e| panic!("PostgreSQL at {PG_ENV} does not answer: {e}"));
    let name = format!("gwtest_{}", uuid::Uuid::now_v7().simple());
    sqlx::query(&format!("CREATE DATABASE \"{name}\"")).execute(admin.pool()).await.expect("create test database");
    admin.close().await;
    let (prefix, _) = admin_url.rsplit_once('/').expect("database url has a path");
    let query = admin_url.split_once('?').map(|(_, q)| format!("?{q}")).unwrap_or_default();
    (admin_url.clone(), format!("{prefix}/{name}{query}"), name)
}

/// An HTTP client bound to one gateway, with JSON helpers that return the
/// status and the parsed body (or the raw text as a JSON string).
#[derive(Clone)]
pub struct Client {
    pub http: reqwest::Client,
    pub base: String,
    bearer: Option<String>,
}

impl Client {
    /// The same gateway, authenticating with a bearer token instead.
    pub fn with_token(&self, token: &str) -> Client {
        Client {
            http: reqwest::Client::builder().build().expect("http client"),
            base: self.base.clone(),
            bearer: Some(token.to_owned()),
        }
    }

    /// The same credentials against another address (after a restart).
    pub fn rebased(&self, base: &str) -> Client {
        Client { http: self.http.clone(), base: base.to_owned(), bearer: self.bearer.clone() }
    }

    pub fn request(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        let builder = self.http.request(method, format!("{}{path}", self.base));
        match &self.bearer {
            Some(token) => builder.bearer_auth(token),
            None => builder.header(reqwest::header::ORIGIN, self.base.as_str()),
        }
    }

    pub async fn send(&self, builder: reqwest::RequestBuilder) -> (StatusCode, Value) {
        let response = builder.send().await.expect("request sent");
        let status = response.status();
        let content_type =
            response.headers().get("content-type").and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
        let text = response.text().await.expect("response body");
        if status.is_client_error() || status.is_server_error() {
            assert_eq!(content_type, "application/problem+json", "error {status} without a problem document: {text}");
        }
        let body = serde_json::from_str(&text).unwrap_or(Value::String(text));
        (status, body)
    }

    pub async fn get(&self, path: &str) -> (StatusCode, Value) {
        self.send(self.request(reqwest::Method::GET, path)).await
    }

    pub async fn post(&self, path: &str, body: &Value) -> (StatusCode, Value) {
        self.send(self.request(reqwest::Method::POST, path).json(body)).await
    }

    pub async fn put(&self, path: &str, body: &Value) -> (StatusCode, Value) {
        self.send(self.request(reqwest::Method::PUT, path).json(body)).await
    }

    /// Creates an item and returns its JSON view, asserting 201.
    pub async fn create_item(&self, item: &Value) -> Value {
        let (status, body) = self.post("/api/v1/items", item).await;
        assert_eq!(status, StatusCode::CREATED, "create failed: {body}");
        body
    }
}

/// A plain 主动公开 notice for the website.
pub fn sample_item() -> Value {
    json!({
        "kind": "notice",
        "title": "关于开展2025年度政务公开业务培训的通知",
        "body": "各区、各部门：\n为进一步提升政务公开工作人员业务能力，定于2025年3月18日举办培训班。\n江城市人民政府办公室\n2025年3月1日",
        "attribute": "public",
        "doc_number": "江政办发〔2025〕3号",
        "issuer": "江城市人民政府办公室",
        "channels": ["website"],
        "formed_at": "2025-03-01"
    })
}

/// The attack of issue 16 on the audit trail: whoever holds the database
/// edits the events from `from_seq` on (`edit`) and recomputes every hash
/// after them, as `store::audit` computes it, and the head. Returns the new
/// hash of every event from `from_seq` on, by sequence number.
pub async fn rewrite_audit_chain(
    db: &Db,
    from_seq: i64,
    mut edit: impl FnMut(&mut gateway::store::AuditEvent),
) -> std::collections::BTreeMap<i64, String> {
    let events = db.audit_events(None, from_seq - 1, 100_000).await.expect("audit events");
    let mut prev = events.first().expect("an event to rewrite").prev_hash.clone();
    let mut hashes = std::collections::BTreeMap::new();
    for mut event in events {
        edit(&mut event);
        event.prev_hash = prev;
        let canonical = json!({
            "seq": event.seq, "at": event.at, "actor_id": event.actor_id, "action": event.action,
            "item_id": event.item_id, "version": event.version, "detail": event.detail,
            "prev_hash": event.prev_hash,
        });
        event.hash = seal::ContentDigest::of(&seal::canonical::to_vec(&canonical).unwrap()).to_string();
        sqlx::query("UPDATE audit_events SET actor_id = $1, detail = $2, prev_hash = $3, hash = $4 WHERE seq = $5")
            .bind(event.actor_id.as_deref())
            .bind(event.detail.to_string())
            .bind(event.prev_hash.as_str())
            .bind(event.hash.as_str())
            .bind(event.seq)
            .execute(db.pool())
            .await
            .expect("rewrite an event");
        hashes.insert(event.seq, event.hash.clone());
        prev = event.hash;
    }
    sqlx::query("UPDATE audit_head SET hash = $1 WHERE id = 1").bind(prev).execute(db.pool()).await.expect("the head");
    hashes
}

/// A reference receiver's configuration for `channel` at the gateway
/// `base`: its transport and seal keys pinned, as an operator would, and
/// its development seal key accepted (the test gateway seals with one).
pub async fn pinned_receiver_config(base: &str, channel: &str) -> receiver::Config {
    use base64::Engine as _;
    let keys: Value = reqwest::get(format!("{base}/.well-known/webhook-keys")).await.unwrap().json().await.unwrap();
    let x = keys["keys"][0]["x"].as_str().unwrap();
    let bytes: [u8; 32] = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(x).unwrap().try_into().unwrap();
    let transport =
        receiver::TransportKey::from_verifying_key(ed25519_dalek::VerifyingKey::from_bytes(&bytes).unwrap());
    let seal_keys = reqwest::get(format!("{base}/.well-known/seal-keys")).await.unwrap().text().await.unwrap();
    let seal_keys = seal::KeySet::from_jwks_json(seal_keys.as_bytes()).unwrap();
    let mut config = receiver::Config::new(channel, vec![transport], seal_keys).unwrap();
    config.dev_keys = receiver::DevKeys::Accept;
    config
}
