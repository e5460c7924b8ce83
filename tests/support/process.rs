//! The gateway as a separate operating-system process (`gateway serve`),
//! for the tests that kill it (SIGKILL) or run several processes on one
//! database.
//!
//! A [`Deployment`] is the data one or more gateway processes share: a
//! temporary data directory (keys, the SQLite file) or a fresh PostgreSQL
//! database, and a `gateway.toml` naming them. [`Deployment::start`] runs the
//! real `gateway` binary with that file on a loopback port chosen by the
//! system, reads the address it prints and waits for `/healthz`;
//! [`GatewayProcess::kill`] sends SIGKILL. Starting again on the same
//! deployment is a restart on the same data.
//!
//! The binary is the one of this build: `cargo build -p gateway --bin
//! gateway` runs once per test process (a no-op when it is fresh; `scripts/test`
//! builds it before the tests), in the profile of the test binary, so the
//! process never runs stale code. `GATEWAY_BIN` names another binary.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use gateway::auth::Role;
use gateway::config::{DeliverySettings, Secret, Settings};
use gateway::store::Db;
use tempfile::TempDir;

use crate::{Backend, Client, create_pg_database, repo_root};

/// The data gateway processes share, and the test's own connection to it.
pub struct Deployment {
    pub backend: Backend,
    /// The test's connection to the same database (users, assertions).
    pub db: Db,
    settings: Settings,
    config: PathBuf,
    dir: TempDir,
    pg_database: Option<(String, String)>,
    starts: usize,
}

/// One running `gateway serve`.
pub struct GatewayProcess {
    /// `http://127.0.0.1:<port>`.
    pub base: String,
    child: std::process::Child,
    /// Its standard error (the tracing log).
    pub log: PathBuf,
    /// Its standard output (what it tells the operator).
    pub out: PathBuf,
}

impl Deployment {
    /// A fresh data directory (and PostgreSQL database), migrated, with a
    /// configuration file whose `[delivery]` section is `delivery`.
    pub async fn new(backend: Backend, delivery: DeliverySettings) -> Deployment {
        let dir = tempfile::tempdir().expect("temporary directory");
        let data_dir = dir.path().join("data");
        let mut settings =
            Settings { listen: "127.0.0.1:0".parse().unwrap(), data_dir: data_dir.clone(), ..Settings::default() };
        settings.review.policy = repo_root().join("policies/default.toml");
        settings.workflow.policy = repo_root().join("policies/workflow.toml");
        settings.review.cache_dir = Some(repo_root().join("target/test-plugin-cache"));
        settings.delivery = delivery;
        crate::reach_loopback(&mut settings.delivery);
        let pg_database = match backend {
            Backend::Sqlite => None,
            Backend::Postgres => {
                let (admin_url, url, name) = create_pg_database().await;
                settings.database.url = Some(Secret::new(url));
                Some((admin_url, name))
            }
        };
        let config = dir.path().join("gateway.toml");
        std::fs::write(&config, config_toml(&settings)).expect("write gateway.toml");
        let db = gateway::server::open_database(&settings).await.expect("database opens");
        Deployment { backend, db, settings, config, dir, pg_database, starts: 0 }
    }

    /// Sets `[seal] org_code` (needed with a production seal key) and
    /// rewrites the configuration file.
    pub fn set_org_code(&mut self, code: &str) {
        self.settings.seal.org_code = code.to_owned();
        std::fs::write(&self.config, config_toml(&self.settings)).expect("write gateway.toml");
    }

    /// Changes the settings the next processes start with (only what
    /// `gateway.toml` here carries) and rewrites the configuration file.
    pub fn configure(&mut self, change: impl FnOnce(&mut Settings)) {
        change(&mut self.settings);
        std::fs::write(&self.config, config_toml(&self.settings)).expect("write gateway.toml");
    }

    /// The settings the processes run with.
    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    /// Starts `gateway serve` on this deployment and waits until it answers
    /// `/healthz` (up to 60 s: the first start may compile the plugins).
    pub async fn start(&mut self) -> GatewayProcess {
        self.start_with_env(&[]).await
    }

    /// [`Deployment::start`] with extra environment variables (e.g. a seal
    /// key in `GATEWAY_SEAL_KEY`).
    pub async fn start_with_env(&mut self, env: &[(&str, &str)]) -> GatewayProcess {
        self.starts += 1;
        let out = self.dir.path().join(format!("gateway-{}.out", self.starts));
        let log = self.dir.path().join(format!("gateway-{}.log", self.starts));
        let binary = tokio::task::spawn_blocking(gateway_binary).await.expect("binary lookup");
        let child = std::process::Command::new(&binary)
            .arg("--config")
            .arg(&self.config)
            .arg("serve")
            .current_dir(repo_root())
            .env_remove("DATABASE_URL")
            .env_remove("GATEWAY_DATA_DIR")
            .env_remove("GATEWAY_LISTEN")
            .env("RUST_LOG", "info")
            .envs(env.iter().copied())
            .stdin(std::process::Stdio::null())
            .stdout(std::fs::File::create(&out).expect("stdout file"))
            .stderr(std::fs::File::create(&log).expect("log file"))
            .spawn()
            .unwrap_or_else(|e| panic!("cannot run {}: {e}", binary.display()));
        let mut process = GatewayProcess { base: String::new(), child, log, out: out.clone() };
        let started = Instant::now();
        // `gateway serve` prints `…已启动：http://<addr>` once it listens.
        while process.base.is_empty() {
            if let Some(status) = process.child.try_wait().expect("child status") {
                panic!("gateway exited with {status} before listening: {}", process.log_text());
            }
            assert!(started.elapsed() < Duration::from_secs(60), "gateway did not listen: {}", process.log_text());
            let text = std::fs::read_to_string(&out).unwrap_or_default();
            if let Some(addr) = text.lines().find_map(|l| l.split_once("http://").map(|(_, a)| a.trim().to_owned())) {
                process.base = format!("http://{addr}");
            } else {
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
        loop {
            let ok = reqwest::get(format!("{}/healthz", process.base)).await.is_ok_and(|r| r.status().is_success());
            if ok {
                return process;
            }
            assert!(started.elapsed() < Duration::from_secs(60), "no /healthz: {}", process.log_text());
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Runs a `gateway` command (`gateway --config … <args>`) on this
    /// deployment and returns its output.
    pub async fn cli(&self, args: &[&str]) -> std::process::Output {
        let config = self.config.clone();
        let args: Vec<String> = args.iter().map(|a| (*a).to_owned()).collect();
        tokio::task::spawn_blocking(move || {
            let binary = gateway_binary();
            std::process::Command::new(&binary)
                .arg("--config")
                .arg(&config)
                .args(&args)
                .current_dir(repo_root())
                .env_remove("DATABASE_URL")
                .env_remove("GATEWAY_DATA_DIR")
                .env_remove("GATEWAY_LISTEN")
                .stdin(std::process::Stdio::null())
                .output()
                .unwrap_or_else(|e| panic!("cannot run {}: {e}", binary.display()))
        })
        .await
        .expect("cli task")
    }

    /// Creates a user directly in the store and returns a client logged in
    /// as them at `base`.
    pub async fn user(&self, base: &str, username: &str, roles: &[Role], unit: Option<&str>) -> Client {
        crate::logged_in_user(&self.db, base, username, roles, unit).await
    }

    /// Closes the test's connection and drops a PostgreSQL test database
    /// (after the processes were killed or dropped).
    pub async fn stop(mut self) {
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
}

impl GatewayProcess {
    /// The operating-system process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// SIGKILL: no graceful shutdown, no request finishes, nothing is
    /// recorded after this instant. Waits until the process is gone.
    pub async fn kill(mut self) {
        // `Child::kill` is SIGKILL on Unix.
        self.child.kill().expect("SIGKILL");
        let status = self.child.wait().expect("wait for the killed gateway");
        #[cfg(unix)]
        {
            use std::os::unix::process::ExitStatusExt as _;
            assert_eq!(status.signal(), Some(9), "the gateway died of SIGKILL, not {status}");
        }
    }

    /// What it logged so far.
    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for GatewayProcess {
    /// A failing test does not leave a gateway running.
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The configuration file for `settings` (only what the tests change).
fn config_toml(s: &Settings) -> String {
    let path = |p: &Path| toml_string(&p.display().to_string());
    let d = &s.delivery;
    let mut text = format!(
        "listen = \"127.0.0.1:0\"\ndata_dir = {}\n\n[review]\npolicy = {}\ncache_dir = {}\n\n[workflow]\npolicy = {}\nsweep_seconds = {}\n\n",
        path(&s.data_dir),
        path(&s.review.policy),
        path(s.review.cache_dir.as_deref().expect("a cache dir")),
        path(&s.workflow.policy),
        s.workflow.sweep_seconds,
    );
    text.push_str(&format!("[seal]\norg_code = {}\n\n", toml_string(&s.seal.org_code)));
    if let Some(url) = &s.database.url {
        text.push_str(&format!("[database]\nurl = {}\n\n", toml_string(url.expose())));
    }
    text.push_str(&format!(
        "[delivery]\npoll_interval_ms = {}\nretry_base_ms = {}\nretry_cap_secs = {}\ngive_up_after_secs = {}\n\
         timeout_secs = {}\nlease_secs = {}\nconcurrency = {}\nwithdraw_escalate_after_secs = {}\nfeed_retention_days = {}\n\
         allowed_networks = {}\nconnector_api_bases = {}\n",
        d.poll_interval_ms,
        d.retry_base_ms,
        d.retry_cap_secs,
        d.give_up_after_secs,
        d.timeout_secs,
        d.lease_secs,
        d.concurrency,
        d.withdraw_escalate_after_secs,
        d.feed_retention_days,
        serde_json::to_string(&d.allowed_networks.iter().map(ToString::to_string).collect::<Vec<_>>()).unwrap(),
        serde_json::to_string(&d.connector_api_bases).unwrap(),
    ));
    if let (Some(smtp), Some(from)) = (&s.mail.smtp, &s.mail.from) {
        text.push_str(&format!("\n[mail]\nsmtp = {}\nfrom = {}\n", toml_string(smtp), toml_string(from)));
    }
    text
}

/// A TOML basic string (JSON string escaping is valid TOML for these).
fn toml_string(s: &str) -> String {
    serde_json::to_string(s).expect("a string serialises")
}

/// The `gateway` binary of this build (built once per test process).
pub fn gateway_binary() -> PathBuf {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        if let Some(bin) = std::env::var_os("GATEWAY_BIN") {
            return PathBuf::from(bin);
        }
        // target/<profile>/deps/e2e-<hash> → target/<profile>/gateway
        let exe = std::env::current_exe().expect("test binary path");
        let profile_dir = exe.parent().and_then(Path::parent).expect("target/<profile>/deps").to_owned();
        let mut cmd = std::process::Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()));
        cmd.args(["build", "--quiet", "--package", "gateway", "--bin", "gateway"]).current_dir(repo_root());
        if profile_dir.file_name().is_some_and(|n| n == "release") {
            cmd.arg("--release");
        }
        let status = cmd.status().expect("run cargo build for the gateway binary");
        assert!(status.success(), "cargo build -p gateway --bin gateway failed");
        let bin = profile_dir.join("gateway");
        assert!(bin.exists(), "no gateway binary at {}", bin.display());
        bin
    })
    .clone()
}
