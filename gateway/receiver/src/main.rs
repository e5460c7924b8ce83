//! `receiver`: the reference channel receiver as a small HTTP server.
//!
//! ```text
//! receiver serve --channel website --transport-key whpk_... [--transport-key whpk_...]
//!                --seal-keys seal-keys.json --dir ./site [--listen 127.0.0.1:9000]
//!                [--tolerance SECS] [--allow-dev-keys] [--revoked KID]...
//!                [--gateway https://gateway.example --token-file channel.token]
//! ```
//!
//! `POST /` takes webhooks; `GET /` (= `index.json`) and `GET /items/{id}`
//! serve what is published, `GET /items/{id}/attachments/{digest}` its
//! attachments; `GET /healthz`. With `--gateway` and `--token-file`, each
//! attachment of a publication is fetched from the gateway with the channel
//! token right after the publish is applied, kept only if its bytes hash to
//! the digest the seal covers, and served from then on (one not fetched yet
//! answers 404). SIGHUP re-reads the seal key
//! file (after a key was revoked or added). Arguments are parsed by hand so
//! the crate needs no argument parser.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use receiver::{
    Applied, Config, DevKeys, DirStore, FileToFetch, Outcome, Receiver, Store as _, TransportKey, WebhookHeaders,
};

const USAGE: &str = "usage:
  receiver serve --channel ID --transport-key whpk_... [--transport-key whpk_...]
                 --seal-keys JWKS_FILE --dir DIR [--listen 127.0.0.1:9000]
                 [--tolerance SECS] [--allow-dev-keys] [--revoked KID]...
      --transport-key: the gateway's transport public key (`gateway channels show`); repeat during a rotation.
      --seal-keys: the pinned JWK Set from the gateway's /.well-known/seal-keys (SIGHUP re-reads it).
      --dir: where items/<id>.json and index.json are written (serve these; not .receiver/).
      --allow-dev-keys: publish seals made with a development key (pilots only).
      --gateway, --token-file: fetch attachments from the gateway (its base URL) with this channel token.";

struct Settings {
    listen: SocketAddr,
    config: Config,
    seal_keys_file: PathBuf,
    dir: PathBuf,
    fetch: Option<Fetch>,
}

/// Where and how attachments are fetched.
#[derive(Clone)]
struct Fetch {
    /// The gateway's base URL, without a trailing slash.
    gateway: String,
    token: String,
    client: reqwest::Client,
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("serve") => match parse(&args[1..]) {
            Ok(settings) => serve(settings),
            Err(msg) => {
                eprintln!("receiver: {msg}");
                ExitCode::from(2)
            }
        },
        Some("-h" | "--help" | "help") => {
            println!("{USAGE}");
            ExitCode::SUCCESS
        }
        _ => {
            eprintln!("receiver: unknown or missing command\n\n{USAGE}");
            ExitCode::from(2)
        }
    }
}

fn parse(args: &[String]) -> Result<Settings, String> {
    let (mut listen, mut channel, mut keys_file, mut dir) = ("127.0.0.1:9000".to_owned(), None, None, None);
    let (mut transport, mut revoked, mut tolerance, mut dev) = (Vec::new(), Vec::new(), None, DevKeys::Refuse);
    let (mut gateway, mut token_file) = (None, None);
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        let mut value = || it.next().cloned().ok_or_else(|| format!("{arg} needs a value"));
        match arg.as_str() {
            "--listen" => listen = value()?,
            "--channel" => channel = Some(value()?),
            "--transport-key" => transport.push(TransportKey::parse(&value()?).map_err(|e| e.to_string())?),
            "--seal-keys" => keys_file = Some(PathBuf::from(value()?)),
            "--dir" => dir = Some(PathBuf::from(value()?)),
            "--tolerance" => tolerance = Some(value()?.parse::<u64>().map_err(|e| format!("--tolerance: {e}"))?),
            "--revoked" => revoked.push(seal::KeyId::parse(&value()?).map_err(|e| e.to_string())?),
            "--allow-dev-keys" => dev = DevKeys::Accept,
            "--gateway" => gateway = Some(value()?),
            "--token-file" => token_file = Some(PathBuf::from(value()?)),
            other => return Err(format!("unknown argument {other}\n\n{USAGE}")),
        }
    }
    let channel = channel.ok_or("--channel is required")?;
    let keys_file = keys_file.ok_or("--seal-keys is required")?;
    let dir = dir.ok_or("--dir is required")?;
    let seal_keys = read_keys(&keys_file)?;
    let mut config = Config::new(&channel, transport, seal_keys).map_err(|e| e.to_string())?;
    config.tolerance_secs = tolerance.unwrap_or(receiver::DEFAULT_TOLERANCE_SECS);
    config.dev_keys = dev;
    config.revoked_keys = revoked;
    let listen = listen.parse().map_err(|e| format!("--listen {listen}: {e}"))?;
    let fetch = match (gateway, token_file) {
        (None, None) => None,
        (Some(gateway), Some(path)) => Some(fetch_settings(&gateway, &path)?),
        _ => return Err("--gateway and --token-file go together".into()),
    };
    Ok(Settings { listen, config, seal_keys_file: keys_file, dir, fetch })
}

fn fetch_settings(gateway: &str, token_file: &std::path::Path) -> Result<Fetch, String> {
    let gateway = gateway.trim_end_matches('/');
    if !(gateway.starts_with("https://") || gateway.starts_with("http://")) {
        return Err(format!("--gateway {gateway}: not an http(s) URL"));
    }
    let token = std::fs::read_to_string(token_file).map_err(|e| format!("{}: {e}", token_file.display()))?;
    let token = token.trim().to_owned();
    if token.is_empty() {
        return Err(format!("{}: empty token", token_file.display()));
    }
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(std::time::Duration::from_secs(60))
        .build()
        .map_err(|e| e.to_string())?;
    Ok(Fetch { gateway: gateway.to_owned(), token, client })
}

fn read_keys(path: &std::path::Path) -> Result<seal::KeySet, String> {
    let text = path.to_string_lossy();
    if text.starts_with("http://") || text.starts_with("https://") {
        // Pinned on purpose (docs/seal.md §5): the receiver never takes keys from the network by itself.
        return Err(format!(
            "--seal-keys takes a file: fetch and check it once, then pin it (curl -fsS {text} -o seal-keys.json)"
        ));
    }
    let bytes = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
    seal::KeySet::from_jwks_json(&bytes).map_err(|e| format!("{}: {e}", path.display()))
}

type Shared = Arc<Mutex<Receiver<DirStore>>>;

/// The server's state: the receiver, and how attachments are fetched.
#[derive(Clone)]
struct App {
    rx: Shared,
    fetch: Option<Fetch>,
}

fn serve(s: Settings) -> ExitCode {
    let store = match DirStore::open(&s.dir) {
        Ok(store) => store,
        Err(e) => {
            eprintln!("receiver: {e}");
            return ExitCode::FAILURE;
        }
    };
    let keys = s.config.seal_keys.len();
    let shared: Shared = Arc::new(Mutex::new(Receiver::new(s.config, store)));
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build();
    let rt = match rt {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("receiver: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = rt.block_on(async move {
        reload_on_sighup(shared.clone(), s.seal_keys_file.clone());
        let app = Router::new()
            .route("/", get(index).post(webhook))
            .route("/items/{id}", get(item))
            .route("/items/{id}/attachments/{digest}", get(attachment))
            .route("/healthz", get(|| async { "ok" }))
            .with_state(App { rx: shared, fetch: s.fetch });
        let listener = tokio::net::TcpListener::bind(s.listen).await?;
        eprintln!(
            "receiver: listening on {} ({} seal keys pinned, writing {})",
            listener.local_addr()?,
            keys,
            s.dir.display()
        );
        axum::serve(listener, app).with_graceful_shutdown(async { _ = tokio::signal::ctrl_c().await }).await
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("receiver: {e}");
            ExitCode::FAILURE
        }
    }
}

#[cfg(unix)]
fn reload_on_sighup(shared: Shared, path: PathBuf) {
    use tokio::signal::unix::{SignalKind, signal};
    tokio::spawn(async move {
        let Ok(mut hup) = signal(SignalKind::hangup()) else { return };
        while hup.recv().await.is_some() {
            match read_keys(&path) {
                Ok(keys) => {
                    eprintln!("receiver: re-read {} ({} keys)", path.display(), keys.len());
                    shared.lock().expect("receiver lock").set_seal_keys(keys);
                }
                Err(e) => eprintln!("receiver: kept the old seal keys: {e}"),
            }
        }
    });
}

#[cfg(not(unix))]
fn reload_on_sighup(_: Shared, _: PathBuf) {}

async fn webhook(State(app): State<App>, headers: HeaderMap, body: Bytes) -> Response {
    let get = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).map(str::to_owned);
    let (id, ts, sig) = (get("webhook-id"), get("webhook-timestamp"), get("webhook-signature"));
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let shared = app.rx.clone();
    let (outcome, to_fetch) = tokio::task::spawn_blocking(move || {
        let h = WebhookHeaders { id: id.as_deref(), timestamp: ts.as_deref(), signature: sig.as_deref() };
        let mut rx = shared.lock().expect("receiver lock");
        let outcome = rx.handle(h, &body, now);
        // After a verified publish: the attachments its seal covers.
        let to_fetch = match (&outcome, serde_json::from_slice::<receiver::Event>(&body)) {
            (Outcome::Applied(Applied::Published { .. }), Ok(event)) => rx.files_to_fetch(&event).unwrap_or_default(),
            _ => Vec::new(),
        };
        (outcome, to_fetch)
    })
    .await
    .expect("the handler does not panic");
    eprintln!("receiver: {} {} {}", outcome.status(), outcome.code(), outcome.reason());
    if let Some(fetch) = app.fetch.clone()
        && !to_fetch.is_empty()
    {
        tokio::spawn(fetch_files(fetch, app.rx.clone(), to_fetch));
    }
    let status = StatusCode::from_u16(outcome.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut response = (status, axum::Json(outcome.to_json())).into_response();
    if let Some(secs) = outcome.retry_after() {
        response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(secs));
    }
    response
}

/// Fetches each attachment from the gateway with the channel token and
/// keeps it if its bytes are the ones the seal covers. The `href` is a path
/// on the gateway (the token goes nowhere else).
async fn fetch_files(fetch: Fetch, shared: Shared, files: Vec<FileToFetch>) {
    for f in files {
        if !f.href.starts_with('/') || f.href.starts_with("//") {
            eprintln!(
                "receiver: attachment {} of item {}: href {:?} is not a gateway path",
                f.digest, f.item_id, f.href
            );
            continue;
        }
        let url = format!("{}{}", fetch.gateway, f.href);
        let got = async {
            let response = fetch.client.get(&url).bearer_auth(&fetch.token).send().await?.error_for_status()?;
            response.bytes().await
        }
        .await;
        match got {
            Ok(bytes) => match shared.lock().expect("receiver lock").accept_file(&f.item_id, &f.digest, &bytes) {
                Ok(()) => eprintln!("receiver: kept attachment {} of item {}", f.digest, f.item_id),
                Err(e) => eprintln!("receiver: refused attachment {} of item {}: {e}", f.digest, f.item_id),
            },
            Err(e) => eprintln!("receiver: could not fetch attachment {} of item {}: {e}", f.digest, f.item_id),
        }
    }
}

async fn index(State(app): State<App>) -> Response {
    let dir = app.rx.lock().expect("receiver lock").store().dir().to_path_buf();
    file(dir.join("index.json")).await
}

async fn item(State(app): State<App>, Path(id): Path<String>) -> Response {
    let id = id.strip_suffix(".json").unwrap_or(&id).to_owned();
    let found = app.rx.lock().expect("receiver lock").store().publication(&id);
    match found {
        Ok(Some(p)) => axum::Json(p).into_response(),
        Ok(None) => (StatusCode::NOT_FOUND, axum::Json(serde_json::json!({"error": "no such item"}))).into_response(),
        Err(e) => (StatusCode::INTERNAL_SERVER_ERROR, e.to_string()).into_response(),
    }
}

/// An attachment of a live publication, as sealed; 404 if the item is not
/// published, the seal does not cover it, or it was not fetched (yet).
async fn attachment(State(app): State<App>, Path((id, digest)): Path<(String, String)>) -> Response {
    let found = app.rx.lock().expect("receiver lock").file(&id, &digest);
    match found {
        Ok(Some((media_type, bytes))) => {
            let media_type =
                HeaderValue::from_str(&media_type).unwrap_or(HeaderValue::from_static("application/octet-stream"));
            (
                [
                    (header::CONTENT_TYPE, media_type),
                    (header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff")),
                    (header::CONTENT_DISPOSITION, HeaderValue::from_static("attachment")),
                ],
                bytes,
            )
                .into_response()
        }
        Ok(None) => {
            (StatusCode::NOT_FOUND, axum::Json(serde_json::json!({"error": "no such attachment"}))).into_response()
        }
        Err(e) => (StatusCode::INTERNAL_SERVER_ERROR, e.to_string()).into_response(),
    }
}

async fn file(path: PathBuf) -> Response {
    match tokio::fs::read(&path).await {
        Ok(bytes) => ([(header::CONTENT_TYPE, "application/json")], bytes).into_response(),
        Err(e) => (StatusCode::INTERNAL_SERVER_ERROR, e.to_string()).into_response(),
    }
}
