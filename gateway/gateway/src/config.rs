//! Configuration, read once at start: defaults, then the TOML file, then
//! environment variables, then command-line flags. A bad value stops the
//! process here with a message naming it; nothing else reads `std::env`.
//!
//! With no file at all the gateway runs on `./data/` with SQLite on
//! 127.0.0.1:8080.

use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::Deserialize;

/// A string that never shows up in logs or `Debug` output.
#[derive(Clone, Deserialize, PartialEq, Eq)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    pub fn new(s: impl Into<String>) -> Secret {
        Secret(s.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

/// Everything the gateway is configured with.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Settings {
    /// Address to listen on.
    pub listen: SocketAddr,
    /// Where the SQLite database, the plugin cache and development keys live.
    pub data_dir: PathBuf,
    pub database: DatabaseSettings,
    pub limits: Limits,
    pub session: SessionSettings,
    /// Channel ids items may target.
    pub channels: Vec<String>,
    /// The review pipeline: policy file, plugin limits.
    pub review: crate::plugin_host::PluginSettings,
    /// The review workflow: its policy, reminders, notification hook.
    pub workflow: WorkflowSettings,
    /// Publication seals: organ code, signing key, transparency log.
    pub seal: SealSettings,
    /// Channel delivery: dispatcher timing, retries, withdrawal escalation.
    pub delivery: DeliverySettings,
    /// E-mail to applicants (sealed replies served by e-mail); off unless set.
    pub mail: MailSettings,
    /// The address people and channels reach the gateway at, e.g.
    /// `https://gongkai.example.gov.cn` (scheme, host, port; no path).
    /// Cookie-authenticated writes must come from this origin; `https`
    /// makes the session cookie `Secure` and adds HSTS. Required when
    /// listening on a non-loopback address; unset, it is
    /// `http://<listen address>` (`server.rs` fills in the bound port).
    /// Every URL the gateway writes into something it signs or publishes
    /// comes from here, never from a request's `Host` header.
    pub public_url: Option<String>,
}

/// `[delivery]`: how events reach channels (docs/delivery.md).
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DeliverySettings {
    /// How often the dispatcher looks for due deliveries without a wake-up,
    /// milliseconds.
    pub poll_interval_ms: u64,
    /// The first retry delay, milliseconds; it doubles per attempt (full jitter).
    pub retry_base_ms: u64,
    /// The largest retry delay, seconds.
    pub retry_cap_secs: u64,
    /// Give up (delivery `failed`, endpoint disabled) this long after the
    /// first attempt, seconds (about three days).
    pub give_up_after_secs: u64,
    /// Timeout of one POST, seconds.
    pub timeout_secs: u64,
    /// How long a claim holds before another worker may take it over, seconds.
    pub lease_secs: u64,
    /// Deliveries sent at once.
    pub concurrency: u32,
    /// A withdrawal not confirmed by every channel after this many seconds
    /// is escalated (audit event and a notification to the publishers).
    pub withdraw_escalate_after_secs: u64,
    /// A pull cursor older than this answers 410 Gone, days.
    pub feed_retention_days: u64,
    /// Networks outbound requests (endpoints, connectors, the notification
    /// hook) may reach besides public addresses, as CIDRs: loopback,
    /// link-local and private addresses are refused unless listed here
    /// (environment `GATEWAY_DELIVERY_ALLOWED_NETWORKS`, comma-separated).
    /// Checked on the resolved address at connect time.
    pub allowed_networks: Vec<ipnet::IpNet>,
    /// API bases a connector endpoint may use instead of its platform's real
    /// host (`scheme://host[:port]`; without a port, any port of that host),
    /// e.g. a test double or an agency's audited relay. Only this file can
    /// allow one: an endpoint created through the API cannot send a
    /// platform secret anywhere else.
    pub connector_api_bases: Vec<String>,
}

impl Default for DeliverySettings {
    fn default() -> DeliverySettings {
        DeliverySettings {
            poll_interval_ms: 1000,
            retry_base_ms: 5000,
            retry_cap_secs: 6 * 3600,
            give_up_after_secs: 3 * 24 * 3600,
            timeout_secs: 10,
            lease_secs: 60,
            concurrency: 8,
            withdraw_escalate_after_secs: 900,
            feed_retention_days: 30,
            allowed_networks: Vec::new(),
            connector_api_bases: Vec::new(),
        }
    }
}

/// `[mail]`: serving a sealed reply on an applicant by e-mail, through the
/// agency's own SMTP server. Without `smtp` e-mail service is off: replies
/// are printed and their service recorded by the office.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MailSettings {
    /// The SMTP server: `smtps://host[:465]` (TLS from the start) or
    /// `smtp://host[:587]` (STARTTLS, required). Plain SMTP is allowed only
    /// to a loopback relay (`smtp://127.0.0.1:25`): a reply carries
    /// personal data and never crosses a network in clear text. A user name
    /// goes before the host (`smtps://gongkai@mail.example.gov.cn`).
    pub smtp: Option<String>,
    /// The sender, e.g. `江城市人民政府办公室 <gongkai@example.gov.cn>`.
    pub from: Option<String>,
    /// The name of the secret holding the SMTP password: the environment
    /// variable `GATEWAY_CONNECTOR_SECRET_<name>` or the 0600 file
    /// `<data_dir>/secrets/<name>`, read when a mail is sent (as connector
    /// secrets are), so it can be rotated without a restart.
    pub password_secret: Option<String>,
    /// How long the server may take to accept a mail, seconds.
    pub timeout_secs: u64,
}

impl Default for MailSettings {
    fn default() -> MailSettings {
        MailSettings { smtp: None, from: None, password_secret: None, timeout_secs: 30 }
    }
}

/// How the SMTP connection is secured.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SmtpSecurity {
    /// `smtps://`: TLS from the first byte.
    Tls,
    /// `smtp://` to a host that is not loopback: STARTTLS or no mail.
    StartTls,
    /// `smtp://` to a loopback relay only.
    Plain,
}

/// Where mail goes, read from `[mail] smtp`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SmtpTarget {
    pub host: String,
    pub port: u16,
    pub security: SmtpSecurity,
    pub username: Option<String>,
}

impl MailSettings {
    /// The SMTP server, when e-mail is configured.
    pub fn target(&self) -> Result<Option<SmtpTarget>, String> {
        let Some(url) = self.smtp.as_deref() else { return Ok(None) };
        let url = reqwest::Url::parse(url.trim()).map_err(|_| "must be an smtps:// or smtp:// URL".to_owned())?;
        let security = match url.scheme() {
            "smtps" => SmtpSecurity::Tls,
            "smtp" => SmtpSecurity::StartTls,
            _ => return Err("must be an smtps:// or smtp:// URL".into()),
        };
        if !(url.path().is_empty() || url.path() == "/") || url.query().is_some() || url.password().is_some() {
            return Err("give scheme, user name, host and port only; the password is [mail] password_secret".into());
        }
        let Some(host) = url.host_str().map(|h| h.trim_start_matches('[').trim_end_matches(']').to_owned()) else {
            return Err("has no host".into());
        };
        let loopback = host == "localhost" || host.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback());
        let security = if security == SmtpSecurity::StartTls && loopback { SmtpSecurity::Plain } else { security };
        let port = url.port().unwrap_or(match security {
            SmtpSecurity::Tls => 465,
            SmtpSecurity::StartTls => 587,
            SmtpSecurity::Plain => 25,
        });
        let username = (!url.username().is_empty())
            .then(|| percent_encoding::percent_decode_str(url.username()).decode_utf8_lossy().into_owned());
        Ok(Some(SmtpTarget { host, port, security, username }))
    }
}

/// `[seal]`: how seals are numbered and signed.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SealSettings {
    /// The organ code that starts every serial (`<org_code>-<year>-<6 digits>`),
    /// e.g. the 行政区划代码 `321183`.
    pub org_code: String,
    /// PKCS#8 PEM file of the seal signing key (mode 0600). Without it and
    /// without `GATEWAY_SEAL_KEY`, a development key is generated in
    /// `<data_dir>/keys/dev-seal.pem` and every seal says `dev_key: true`.
    pub key_file: Option<PathBuf>,
    /// The seal signing key as PEM text (environment `GATEWAY_SEAL_KEY` only).
    #[serde(skip)]
    pub key_pem: Option<Secret>,
    /// The transparency log's name (the checkpoint origin and note key name).
    pub log_name: String,
    /// How often a checkpoint is signed when the audit chain moved without a
    /// seal (it anchors the chain's head), seconds.
    pub checkpoint_secs: u64,
}

/// The organ code a gateway starts with: for development only. Two gateways
/// on it would issue the same serials, so a gateway with a production seal
/// key refuses it (docs/seal.md §9a).
pub const DEFAULT_ORG_CODE: &str = "000000";

impl Default for SealSettings {
    fn default() -> SealSettings {
        SealSettings {
            org_code: DEFAULT_ORG_CODE.into(),
            key_file: None,
            key_pem: None,
            log_name: "gateway.local/seal-log".into(),
            checkpoint_secs: 60,
        }
    }
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct WorkflowSettings {
    /// The workflow policy (stages, roles, deadlines, statement).
    pub policy: PathBuf,
    /// How often deadlines are checked for reminders, seconds.
    pub sweep_seconds: u64,
    /// Outgoing hook for notifications (an agency's e-mail/SMS gateway):
    /// each notification is POSTed there as JSON, retried until accepted.
    pub notify_webhook: Option<String>,
    /// Sent as `Authorization: Bearer …` to the hook.
    pub notify_webhook_token: Option<Secret>,
}

impl Default for WorkflowSettings {
    fn default() -> WorkflowSettings {
        WorkflowSettings {
            policy: PathBuf::from("policies/workflow.toml"),
            sweep_seconds: 300,
            notify_webhook: None,
            notify_webhook_token: None,
        }
    }
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DatabaseSettings {
    /// `postgres://…` for PostgreSQL; unset means SQLite in the data directory.
    pub url: Option<Secret>,
    pub max_connections: u32,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Limits {
    /// Largest JSON request body, in bytes.
    pub max_body_bytes: usize,
    /// Largest attachment upload, in bytes.
    pub max_attachment_bytes: usize,
    /// Largest page of a list.
    pub max_page_size: u32,
}

impl Limits {
    /// Largest web form that carries files (the item form without script):
    /// one attachment more than other bodies.
    pub fn max_form_with_files_bytes(&self) -> usize {
        self.max_body_bytes.saturating_add(self.max_attachment_bytes)
    }
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SessionSettings {
    /// Absolute lifetime of a login session, in hours.
    pub ttl_hours: i64,
    /// Idle timeout, in minutes.
    pub idle_minutes: i64,
    /// Set the `Secure` attribute on the session cookie even when
    /// `public_url` is not https (an https `public_url` always sets it).
    pub secure_cookie: bool,
    /// Login attempts per account name in a window of `lockout_minutes`;
    /// beyond them every attempt is refused, with the same answer as a
    /// wrong password, until the window ends or a security administrator
    /// unlocks the account.
    pub max_failed_logins: i64,
    /// Failed login attempts per client address in the same window (an
    /// office behind one NAT shares it).
    pub max_failed_logins_per_address: i64,
    /// The throttling window, minutes. Refused attempts do not extend it.
    pub lockout_minutes: i64,
    /// Take the client address from the last `X-Forwarded-For` entry (only
    /// behind a reverse proxy that sets it), for per-address throttling.
    pub trust_forwarded_for: bool,
}

impl Default for Settings {
    fn default() -> Settings {
        Settings {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            data_dir: PathBuf::from("data"),
            database: DatabaseSettings::default(),
            limits: Limits::default(),
            session: SessionSettings::default(),
            channels: ["website", "wechat", "weibo", "applicant", "bulletin"].map(String::from).to_vec(),
            review: crate::plugin_host::PluginSettings::default(),
            workflow: WorkflowSettings::default(),
            seal: SealSettings::default(),
            delivery: DeliverySettings::default(),
            mail: MailSettings::default(),
            public_url: None,
        }
    }
}

impl Default for DatabaseSettings {
    fn default() -> DatabaseSettings {
        DatabaseSettings { url: None, max_connections: 8 }
    }
}

impl Default for Limits {
    fn default() -> Limits {
        Limits { max_body_bytes: 10 << 20, max_attachment_bytes: 50 << 20, max_page_size: 200 }
    }
}

impl Default for SessionSettings {
    fn default() -> SessionSettings {
        SessionSettings {
            ttl_hours: 12,
            idle_minutes: 30,
            secure_cookie: false,
            max_failed_logins: 5,
            max_failed_logins_per_address: 50,
            lockout_minutes: 15,
            trust_forwarded_for: false,
        }
    }
}

/// Why the configuration could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {path}: {source}")]
    Read { path: PathBuf, source: std::io::Error },
    #[error("config file {path} is invalid: {source}")]
    Parse { path: PathBuf, source: Box<toml::de::Error> },
    #[error("environment variable {name} is invalid: {message}")]
    Env { name: &'static str, message: String },
    #[error("invalid setting {name}: {message}")]
    Invalid { name: &'static str, message: String },
}

/// Environment variables that hold the gateway's own secrets: the seal key
/// and the database URL (with its password).
pub const OWN_SECRET_VARIABLES: [&str; 2] = ["GATEWAY_SEAL_KEY", "DATABASE_URL"];

static TAKEN: std::sync::OnceLock<Vec<(&'static str, String)>> = std::sync::OnceLock::new();

/// Moves the gateway's own secrets ([`OWN_SECRET_VARIABLES`]) out of the
/// process environment into memory that only [`Settings::load`] reads, so
/// no child process, no later `std::env` read and nothing named by an API
/// caller can reach them. Call it first thing in `main`, before any thread
/// is started.
pub fn take_secret_environment() {
    let mut taken = Vec::new();
    for name in OWN_SECRET_VARIABLES {
        if let Some(value) = std::env::var_os(name) {
            // SAFETY: called at the start of `main`, before the runtime or any
            // other thread exists, so nothing reads the environment meanwhile.
            unsafe { std::env::remove_var(name) };
            if let Ok(value) = value.into_string() {
                taken.push((name, value));
            }
        }
    }
    let _ = TAKEN.set(taken);
}

fn taken(name: &str) -> Option<String> {
    TAKEN.get()?.iter().find(|(n, _)| *n == name).map(|(_, v)| v.clone())
}

/// Values given on the command line; they win over file and environment.
#[derive(Clone, Debug, Default)]
pub struct Overrides {
    pub listen: Option<SocketAddr>,
    pub data_dir: Option<PathBuf>,
    pub database_url: Option<String>,
    pub policy: Option<PathBuf>,
}

/// The name of the config file looked for in the working directory when
/// none is given.
pub const DEFAULT_CONFIG_FILE: &str = "gateway.toml";

impl Settings {
    /// Reads `file` (or `gateway.toml` if present), the environment, and
    /// `overrides`, in that order.
    pub fn load(file: Option<&Path>, overrides: &Overrides) -> Result<Settings, ConfigError> {
        let env = |name: &'static str| std::env::var(name).ok().or_else(|| taken(name)).filter(|v| !v.is_empty());
        Settings::load_with_env(file, overrides, env)
    }

    fn load_with_env(
        file: Option<&Path>,
        overrides: &Overrides,
        env: impl Fn(&'static str) -> Option<String>,
    ) -> Result<Settings, ConfigError> {
        let default_file = Path::new(DEFAULT_CONFIG_FILE);
        let file = file.or_else(|| default_file.exists().then_some(default_file));
        let mut settings = match file {
            Some(path) => {
                let text = std::fs::read_to_string(path)
                    .map_err(|source| ConfigError::Read { path: path.to_owned(), source })?;
                toml::from_str(&text)
                    .map_err(|source| ConfigError::Parse { path: path.to_owned(), source: Box::new(source) })?
            }
            None => Settings::default(),
        };

        fn parsed<T: std::str::FromStr>(name: &'static str, value: String) -> Result<T, ConfigError>
        where
            T::Err: fmt::Display,
        {
            value.parse().map_err(|e: T::Err| ConfigError::Env { name, message: e.to_string() })
        }
        if let Some(v) = env("GATEWAY_LISTEN") {
            settings.listen = parsed("GATEWAY_LISTEN", v)?;
        }
        if let Some(v) = env("GATEWAY_DATA_DIR") {
            settings.data_dir = PathBuf::from(v);
        }
        if let Some(v) = env("DATABASE_URL") {
            settings.database.url = Some(Secret::new(v));
        }
        if let Some(v) = env("GATEWAY_POLICY") {
            settings.review.policy = PathBuf::from(v);
        }
        if let Some(v) = env("GATEWAY_WORKFLOW_POLICY") {
            settings.workflow.policy = PathBuf::from(v);
        }
        if let Some(v) = env("GATEWAY_NOTIFY_WEBHOOK") {
            settings.workflow.notify_webhook = Some(v);
        }
        if let Some(v) = env("GATEWAY_SEAL_KEY") {
            settings.seal.key_pem = Some(Secret::new(v));
        }
        if let Some(v) = env("GATEWAY_PUBLIC_URL") {
            settings.public_url = Some(v);
        }
        if let Some(v) = env("GATEWAY_SEAL_KEY_FILE") {
            settings.seal.key_file = Some(PathBuf::from(v));
        }
        if let Some(v) = env("GATEWAY_MAX_BODY_BYTES") {
            settings.limits.max_body_bytes = parsed("GATEWAY_MAX_BODY_BYTES", v)?;
        }
        if let Some(v) = env("GATEWAY_DELIVERY_ALLOWED_NETWORKS") {
            settings.delivery.allowed_networks = v
                .split(',')
                .map(str::trim)
                .filter(|n| !n.is_empty())
                .map(|n| parsed("GATEWAY_DELIVERY_ALLOWED_NETWORKS", n.to_owned()))
                .collect::<Result<_, _>>()?;
        }
        if let Some(v) = env("GATEWAY_MAX_ATTACHMENT_BYTES") {
            settings.limits.max_attachment_bytes = parsed("GATEWAY_MAX_ATTACHMENT_BYTES", v)?;
        }

        if let Some(listen) = overrides.listen {
            settings.listen = listen;
        }
        if let Some(dir) = &overrides.data_dir {
            settings.data_dir = dir.clone();
        }
        if let Some(url) = &overrides.database_url {
            settings.database.url = Some(Secret::new(url.clone()));
        }
        if let Some(policy) = &overrides.policy {
            settings.review.policy = policy.clone();
        }
        // Compiled plugins are cached in the data directory unless configured
        // otherwise: a start then takes milliseconds instead of compiling
        // every plugin again.
        if settings.review.cache_dir.is_none() {
            settings.review.cache_dir = Some(settings.data_dir.join("plugin-cache"));
        }
        settings.validate()?;
        Ok(settings)
    }

    fn validate(&self) -> Result<(), ConfigError> {
        let invalid = |name, message: &str| Err(ConfigError::Invalid { name, message: message.to_owned() });
        if self.limits.max_body_bytes < 1024 {
            return invalid("limits.max_body_bytes", "must be at least 1024");
        }
        if self.limits.max_attachment_bytes < 1024 {
            return invalid("limits.max_attachment_bytes", "must be at least 1024");
        }
        if self.limits.max_page_size == 0 {
            return invalid("limits.max_page_size", "must be at least 1");
        }
        if self.session.ttl_hours <= 0 || self.session.idle_minutes <= 0 {
            return invalid("session", "ttl_hours and idle_minutes must be positive");
        }
        let s = &self.session;
        if s.max_failed_logins <= 0 || s.max_failed_logins_per_address <= 0 || s.lockout_minutes <= 0 {
            return invalid(
                "session",
                "max_failed_logins, max_failed_logins_per_address and lockout_minutes must be positive",
            );
        }
        if self.workflow.sweep_seconds == 0 {
            return invalid("workflow.sweep_seconds", "must be at least 1");
        }
        if let Some(hook) = &self.workflow.notify_webhook
            && !(hook.starts_with("http://") || hook.starts_with("https://"))
        {
            return invalid("workflow.notify_webhook", "must be an http:// or https:// URL");
        }
        let org = &self.seal.org_code;
        if org.is_empty() || org.len() > 32 || !org.bytes().all(|b| b.is_ascii_alphanumeric()) {
            return invalid("seal.org_code", "must be 1-32 ASCII letters or digits");
        }
        if self.seal.key_file.is_some() && self.seal.key_pem.is_some() {
            return invalid("seal.key_file", "give either a key file or GATEWAY_SEAL_KEY, not both");
        }
        // "Development" is the development seal key: no key configured.
        if org.as_str() == DEFAULT_ORG_CODE && (self.seal.key_file.is_some() || self.seal.key_pem.is_some()) {
            return invalid(
                "seal.org_code",
                "the default organ code 000000 is for development (the development seal key) only: \
                 with a production seal key set [seal] org_code to your organ's code, or two gateways \
                 would issue the same serials",
            );
        }
        if self.seal.checkpoint_secs == 0 {
            return invalid("seal.checkpoint_secs", "must be at least 1");
        }
        let name = &self.seal.log_name;
        if name.is_empty()
            || name.len() > 128
            || name.contains('+')
            || name.chars().any(|c| c.is_whitespace() || c.is_control())
        {
            return invalid("seal.log_name", "must be 1-128 characters without spaces or '+'");
        }
        let d = &self.delivery;
        if d.poll_interval_ms == 0
            || d.retry_base_ms == 0
            || d.timeout_secs == 0
            || d.lease_secs == 0
            || d.concurrency == 0
        {
            return invalid(
                "delivery",
                "poll_interval_ms, retry_base_ms, timeout_secs, lease_secs and concurrency must be positive",
            );
        }
        if d.lease_secs <= d.timeout_secs {
            return invalid("delivery.lease_secs", "must be longer than delivery.timeout_secs");
        }
        for base in &d.connector_api_bases {
            let ok = reqwest::Url::parse(base).is_ok_and(|u| {
                matches!(u.scheme(), "http" | "https")
                    && u.host_str().is_some()
                    && u.path() == "/"
                    && u.query().is_none()
            });
            if !ok {
                return invalid("delivery.connector_api_bases", "entries are http(s)://host[:port] without a path");
            }
        }
        match &self.public_url {
            Some(url)
                if public_origin(url).is_none_or(|o| !url.trim().trim_end_matches('/').eq_ignore_ascii_case(&o)) =>
            {
                return invalid("public_url", "must be http:// or https:// with a host and no path, query or fragment");
            }
            None if !self.listen.ip().is_loopback() => {
                return invalid(
                    "public_url",
                    "required when listening on a non-loopback address: same-origin checks use it, never the Host header",
                );
            }
            _ => {}
        }
        match self.mail.target() {
            Err(why) => return Err(ConfigError::Invalid { name: "mail.smtp", message: why }),
            Ok(Some(_)) => {
                let from = self.mail.from.as_deref().unwrap_or("");
                if from.trim().parse::<lettre::message::Mailbox>().is_err() {
                    return invalid(
                        "mail.from",
                        "required with mail.smtp: a sender such as 办公室 <gongkai@example.gov.cn>",
                    );
                }
                if self.mail.timeout_secs == 0 {
                    return invalid("mail.timeout_secs", "must be at least 1");
                }
            }
            Ok(None) => {}
        }
        if self.database.max_connections == 0 {
            return invalid("database.max_connections", "must be at least 1");
        }
        for channel in &self.channels {
            if !is_slug(channel) {
                return invalid("channels", "channel ids are lowercase ASCII letters, digits, '-' or '_'");
            }
        }
        Ok(())
    }

    /// The public base URL, without a trailing slash: `public_url`, or
    /// `http://<listen>`. Never taken from a request.
    pub fn public_base(&self) -> String {
        self.public_origin().unwrap_or_else(|| format!("http://{}", self.listen))
    }

    /// The origin (`scheme://host[:port]`, lowercase, no trailing slash)
    /// of the public URL, if one is configured.
    pub fn public_origin(&self) -> Option<String> {
        self.public_url.as_deref().and_then(public_origin)
    }

    /// Whether the gateway is reached over TLS: then the session cookie is
    /// `Secure` and responses carry `Strict-Transport-Security`.
    pub fn behind_tls(&self) -> bool {
        self.public_origin().is_some_and(|o| o.starts_with("https://"))
    }

    /// Whether a request's `Origin` (or the origin of its `Referer`) is the
    /// gateway's own. A loopback public URL also matches the other loopback
    /// spellings (`localhost`, `127.0.0.1`, `[::1]`) with the same scheme
    /// and port. Never consults the `Host` header.
    pub fn is_own_origin(&self, origin: &str) -> bool {
        let (Some(own), Some(other)) = (self.public_origin(), public_origin(origin)) else {
            return false;
        };
        if own == other {
            return true;
        }
        let loopback = |o: &str| -> Option<(String, String)> {
            let (scheme, rest) = o.split_once("://")?;
            let (host, port) = match rest.rsplit_once(':') {
                Some((h, p)) if !p.contains(']') => (h, p.to_owned()),
                _ => (rest, String::new()),
            };
            matches!(host, "localhost" | "127.0.0.1" | "[::1]").then(|| (scheme.to_owned(), port))
        };
        matches!((loopback(&own), loopback(&other)), (Some(a), Some(b)) if a == b)
    }

    /// The database URL: the configured one, or SQLite in the data directory.
    pub fn database_url(&self) -> String {
        match &self.database.url {
            Some(url) => url.expose().to_owned(),
            None => format!("sqlite://{}?mode=rwc", self.data_dir.join("gateway.db").display()),
        }
    }
}

/// `scheme://host[:port]` of an http(s) URL without path (a lone `/` is
/// allowed), query, fragment or user info, lowercased; `None` otherwise.
/// Also reads the origin of a `Referer` (its path is dropped).
fn public_origin(url: &str) -> Option<String> {
    let lower = url.trim().to_ascii_lowercase();
    let (scheme, rest) = lower.split_once("://")?;
    if scheme != "http" && scheme != "https" {
        return None;
    }
    let authority = rest.split(['/', '?', '#']).next()?;
    if authority.is_empty() || authority.contains('@') || authority.chars().any(|c| c.is_whitespace() || c.is_control())
    {
        return None;
    }
    Some(format!("{scheme}://{authority}"))
}

/// Lowercase ASCII letters, digits, `-` and `_`, starting with a letter, at
/// most 32 characters.
pub fn is_slug(s: &str) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_lowercase())
        && s.len() <= 32
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_without_file_or_env() {
        let s = Settings::load_with_env(None, &Overrides::default(), |_| None).unwrap();
        assert_eq!(s.listen.to_string(), "127.0.0.1:8080");
        assert_eq!(s.database_url(), "sqlite://data/gateway.db?mode=rwc");
    }

    #[test]
    fn file_then_env_then_flags() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("g.toml");
        std::fs::write(&path, "listen = \"127.0.0.1:9000\"\ndata_dir = \"/srv/g\"\n[limits]\nmax_body_bytes = 2048\n")
            .unwrap();
        let env = |name: &str| (name == "GATEWAY_DATA_DIR").then(|| "/env/g".to_owned());
        let flags = Overrides { listen: Some("127.0.0.1:9100".parse().unwrap()), ..Overrides::default() };
        let s = Settings::load_with_env(Some(&path), &flags, env).unwrap();
        assert_eq!(s.listen.to_string(), "127.0.0.1:9100");
        assert_eq!(s.data_dir, PathBuf::from("/env/g"));
        assert_eq!(s.limits.max_body_bytes, 2048);
    }

    #[test]
    fn unknown_keys_and_bad_env_are_errors() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("g.toml");
        std::fs::write(&path, "lisen = \"127.0.0.1:9000\"\n").unwrap();
        let err = Settings::load_with_env(Some(&path), &Overrides::default(), |_| None).unwrap_err();
        assert!(err.to_string().contains("lisen"), "{err}");
        let env = |name: &str| (name == "GATEWAY_LISTEN").then(|| "nowhere".to_owned());
        let err = Settings::load_with_env(None, &Overrides::default(), env).unwrap_err();
        assert!(err.to_string().contains("GATEWAY_LISTEN"), "{err}");
    }

    /// Issue 16: the default organ code is for the development key only.
    #[test]
    fn a_production_seal_key_needs_an_organ_code() {
        let key = |name: &str| (name == "GATEWAY_SEAL_KEY_FILE").then(|| "/etc/gateway/seal.pem".to_owned());
        let err = Settings::load_with_env(None, &Overrides::default(), key).unwrap_err();
        assert!(err.to_string().contains("seal.org_code"), "{err}");
        let pem = |name: &str| (name == "GATEWAY_SEAL_KEY").then(|| "-----BEGIN PRIVATE KEY-----".to_owned());
        assert!(Settings::load_with_env(None, &Overrides::default(), pem).is_err());
        // Development (no key configured) runs on the default.
        Settings::load_with_env(None, &Overrides::default(), |_| None).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("g.toml");
        std::fs::write(&path, "[seal]\norg_code = \"321183\"\n").unwrap();
        let s = Settings::load_with_env(Some(&path), &Overrides::default(), key).unwrap();
        assert_eq!(s.seal.org_code, "321183");
    }

    /// Issue 16: public URLs come from configuration.
    #[test]
    fn public_url_is_configured_not_guessed() {
        let s = Settings::load_with_env(None, &Overrides::default(), |_| None).unwrap();
        assert_eq!(s.public_base(), "http://127.0.0.1:8080");
        let env = |name: &str| (name == "GATEWAY_PUBLIC_URL").then(|| "https://gw.example.gov.cn".to_owned());
        let s = Settings::load_with_env(None, &Overrides::default(), env).unwrap();
        assert_eq!(s.public_base(), "https://gw.example.gov.cn");
        for bad in ["gw.example.gov.cn", "https://gw.example.gov.cn/x", "https://", "ftp://gw", "https://u@gw"] {
            let env = |name: &str| (name == "GATEWAY_PUBLIC_URL").then(|| bad.to_owned());
            assert!(Settings::load_with_env(None, &Overrides::default(), env).is_err(), "{bad}");
        }
    }

    #[test]
    fn origins_come_from_the_public_url_never_from_host() {
        let with = |url: &str| Settings { public_url: Some(url.into()), ..Settings::default() };
        let s = with("https://GongKai.example.gov.cn/");
        assert!(s.behind_tls());
        assert!(s.is_own_origin("https://gongkai.example.gov.cn"));
        assert!(s.is_own_origin("https://gongkai.example.gov.cn/items/1?x=1"));
        assert!(!s.is_own_origin("http://gongkai.example.gov.cn"));
        assert!(!s.is_own_origin("https://gongkai.example.gov.cn.evil.example"));
        assert!(!s.is_own_origin("https://evil.example/https://gongkai.example.gov.cn"));
        assert!(!s.is_own_origin("null"));
        let local = with("http://127.0.0.1:8080");
        assert!(!local.behind_tls());
        assert!(local.is_own_origin("http://localhost:8080"));
        assert!(local.is_own_origin("http://[::1]:8080/"));
        assert!(!local.is_own_origin("http://localhost:8081"));
        assert!(!local.is_own_origin("https://localhost:8080"));
        assert!(!Settings::default().is_own_origin("http://127.0.0.1:8080"));
        // A non-loopback listener needs a public URL; a public URL needs no path.
        let env = |name: &str| (name == "GATEWAY_LISTEN").then(|| "0.0.0.0:8080".to_owned());
        let err = Settings::load_with_env(None, &Overrides::default(), env).unwrap_err();
        assert!(err.to_string().contains("public_url"), "{err}");
        let env = |name: &str| (name == "GATEWAY_PUBLIC_URL").then(|| "https://x.example/gateway".to_owned());
        assert!(Settings::load_with_env(None, &Overrides::default(), env).is_err());
    }

    #[test]
    fn secrets_do_not_print() {
        assert_eq!(format!("{:?}", Secret::new("postgres://u:pw@h/db")), "Secret(***)");
    }
}
