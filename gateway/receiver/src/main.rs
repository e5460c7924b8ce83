//! `receiver`: the reference channel receiver as a small HTTP server.
//!
//! ```text
//! receiver serve --channel website --transport-key whpk_... [--transport-key whpk_...]
//!                --seal-keys seal-keys.json --dir ./site [--listen 127.0.0.1:9000]
//!                [--tolerance SECS] [--allow-dev-keys] [--revoked KID]...
//! ```
//!
//! `POST /` takes webhooks; `GET /` (= `index.json`) and `GET /items/{id}`
//! serve what is published; `GET /healthz`. SIGHUP re-reads the seal key
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
use receiver::{Config, DevKeys, DirStore, Receiver, Store as _, TransportKey, WebhookHeaders};

const USAGE: &str = "usage:
  receiver serve --channel ID --transport-key whpk_... [--transport-key whpk_...]
                 --seal-keys JWKS_FILE --dir DIR [--listen 127.0.0.1:9000]
                 [--tolerance SECS] [--allow-dev-keys] [--revoked KID]...
      --transport-key: the gateway's transport public key (`gateway channels show`); repeat during a rotation.
      --seal-keys: the pinned JWK Set from the gateway's /.well-known/seal-keys (SIGHUP re-reads it).
      --dir: where items/<id>.json and index.json are written (serve these; not .receiver/).
      --allow-dev-keys: publish seals made with a development key (pilots only).";

struct Settings {
    listen: SocketAddr,
    config: Config,
    seal_keys_file: PathBuf,
    dir: PathBuf,
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
    Ok(Settings { listen, config, seal_keys_file: keys_file, dir })
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
            .route("/healthz", get(|| async { "ok" }))
            .with_state(shared);
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

async fn webhook(State(shared): State<Shared>, headers: HeaderMap, body: Bytes) -> Response {
    let get = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).map(str::to_owned);
    let (id, ts, sig) = (get("webhook-id"), get("webhook-timestamp"), get("webhook-signature"));
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let outcome = tokio::task::spawn_blocking(move || {
        let h = WebhookHeaders { id: id.as_deref(), timestamp: ts.as_deref(), signature: sig.as_deref() };
        shared.lock().expect("receiver lock").handle(h, &body, now)
    })
    .await
    .expect("the handler does not panic");
    eprintln!("receiver: {} {} {}", outcome.status(), outcome.code(), outcome.reason());
    let status = StatusCode::from_u16(outcome.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut response = (status, axum::Json(outcome.to_json())).into_response();
    if let Some(secs) = outcome.retry_after() {
        response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(secs));
    }
    response
}

async fn index(State(shared): State<Shared>) -> Response {
    let dir = shared.lock().expect("receiver lock").store().dir().to_path_buf();
    file(dir.join("index.json")).await
}

async fn item(State(shared): State<Shared>, Path(id): Path<String>) -> Response {
    let id = id.strip_suffix(".json").unwrap_or(&id).to_owned();
    let found = shared.lock().expect("receiver lock").store().publication(&id);
    match found {
        Ok(Some(p)) => axum::Json(p).into_response(),
        Ok(None) => (StatusCode::NOT_FOUND, axum::Json(serde_json::json!({"error": "no such item"}))).into_response(),
        Err(e) => (StatusCode::INTERNAL_SERVER_ERROR, e.to_string()).into_response(),
    }
}

async fn file(path: PathBuf) -> Response {
    match tokio::fs::read(&path).await {
        Ok(bytes) => ([(header::CONTENT_TYPE, "application/json")], bytes).into_response(),
        Err(e) => (StatusCode::INTERNAL_SERVER_ERROR, e.to_string()).into_response(),
    }
}
