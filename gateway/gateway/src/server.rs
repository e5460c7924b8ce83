//! Assembles a running gateway from its settings: data directory, database
//! (migrated), HTTP listener. `main.rs` and the end-to-end tests both start
//! the gateway through here, so tests exercise the real start-up path.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use tokio::net::TcpListener;

use crate::config::Settings;
use crate::http;
use crate::review::Pipeline;
use crate::state::AppState;
use crate::store::{Db, StoreError};

/// Why the gateway could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("cannot create data directory {path}: {source}")]
    DataDir { path: std::path::PathBuf, source: std::io::Error },
    #[error("cannot open database {url}: {source}")]
    Database { url: String, source: StoreError },
    #[error("cannot migrate database: {0}")]
    Migrate(StoreError),
    #[error("cannot load the review policy: {0}")]
    Pipeline(#[from] crate::review::PipelineError),
    #[error("cannot load the workflow policy: {0}")]
    Workflow(#[from] crate::workflow::WorkflowPolicyError),
    #[error("cannot read the holiday arrangements loaded into the database: {0}")]
    Calendar(StoreError),
    #[error("cannot set up the seal keys: {0}")]
    SealKeys(#[from] crate::sealing::SealKeyError),
    #[error("cannot listen on {addr}: {source}")]
    Bind { addr: SocketAddr, source: std::io::Error },
}

/// A gateway that is bound and ready to serve.
pub struct Server {
    state: AppState,
    listener: TcpListener,
}

/// Opens the database named by `settings` and applies pending migrations,
/// after making the data directory private ([`private_data_dir`]).
pub async fn open_database(settings: &Settings) -> Result<Db, StartError> {
    private_data_dir(&settings.data_dir)?;
    let url = settings.database_url();
    let db = Db::connect(&url, settings.database.max_connections)
        .await
        .map_err(|source| StartError::Database { url: crate::store::redact_url(&url), source })?;
    db.migrate().await.map_err(StartError::Migrate)?;
    Ok(db)
}

/// Makes the data directory readable by the gateway's user alone: drafts,
/// withheld items, attachments and keys live there (the SQLite database
/// and its `-wal`/`-shm` files, `keys/`, `secrets/`).
///
/// The process umask becomes 0077 first, so that every file the gateway or
/// SQLite creates from now on is 0600 and every directory 0700 from its
/// creation — there is no window in which another local user can open it.
/// Then the directory is created 0700 if absent, and checked if present:
/// group or other access on it or anything in it is **removed, with an
/// error in the log** naming each path, rather than refused. Earlier
/// versions created exactly these modes (0755/0644) themselves, so refusing
/// would stop every upgraded gateway for a state it caused, while the
/// remedy is unambiguous and the gateway owns the directory; the log says
/// that other users could read the files until now. A path whose mode
/// cannot be changed (another owner) stops the start. Key files and
/// connector secrets (`keys/`, `secrets/`) are not repaired but left to
/// their owners' checks, which refuse a key others could read (a copied key
/// is not made safe by a chmod: rotate it).
pub fn private_data_dir(dir: &std::path::Path) -> Result<(), StartError> {
    use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
    set_private_umask();
    let fail = |path: &std::path::Path| {
        let path = path.to_owned();
        move |source| StartError::DataDir { path, source }
    };
    std::fs::DirBuilder::new().recursive(true).mode(0o700).create(dir).map_err(fail(dir))?;
    let mut pending = vec![dir.to_owned()];
    while let Some(path) = pending.pop() {
        // Symbolic links are not followed: what they point at is not ours.
        let meta = std::fs::symlink_metadata(&path).map_err(fail(&path))?;
        let secrets = path.parent() == Some(dir) && path.file_name().is_some_and(|n| n == "keys" || n == "secrets");
        if meta.file_type().is_symlink() || secrets {
            continue;
        }
        let mode = meta.permissions().mode() & 0o7777;
        if mode & 0o077 != 0 {
            let private = mode & 0o700;
            tracing::error!(
                path = %path.display(),
                was = format!("{mode:04o}"),
                now = format!("{private:04o}"),
                "data directory entry was readable by other local users; access for group and others removed \
                 (its content may have been read before this start)"
            );
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(private)).map_err(fail(&path))?;
        }
        if meta.is_dir() {
            for entry in std::fs::read_dir(&path).map_err(fail(&path))? {
                pending.push(entry.map_err(fail(&path))?.path());
            }
        }
    }
    Ok(())
}

/// umask 0077 for the whole process (see [`private_data_dir`]).
pub fn set_private_umask() {
    // SAFETY: umask(2) only sets the process's file mode creation mask; it
    // touches no memory and cannot fail.
    unsafe {
        libc::umask(0o077);
    }
}

/// Loads the review policy and its plugins (verifying pins, compiling,
/// running the canary) off the async reactor.
pub async fn load_pipeline(settings: &Settings) -> Result<Arc<Pipeline>, StartError> {
    let review = settings.review.clone();
    let pipeline =
        tokio::task::spawn_blocking(move || Pipeline::load(&review)).await.expect("pipeline loading does not panic")?;
    Ok(Arc::new(pipeline))
}

impl Server {
    /// Opens the store and binds the listener.
    pub async fn bind(mut settings: Settings) -> Result<Server, StartError> {
        let db = open_database(&settings).await?;
        let pipeline = load_pipeline(&settings).await?;
        let workflow = Arc::new(crate::workflow::WorkflowPolicy::load(&settings.workflow.policy)?);
        let calendar = Arc::new(crate::calendar::Calendars::new(workflow.shipped_calendar.clone()));
        calendar.refresh(&db).await.map_err(StartError::Calendar)?;
        calendar.log_warning_daily(crate::workflow::today());
        let seal_keys = Arc::new(crate::sealing::SealKeys::init(&settings, &db).await?);
        let transport = Arc::new(crate::delivery::TransportKey::init(&settings)?);
        let listener = TcpListener::bind(settings.listen)
            .await
            .map_err(|source| StartError::Bind { addr: settings.listen, source })?;
        if settings.public_url.is_none() {
            // Loopback only (`Settings::validate`): the bound address, with
            // the port the system chose for `:0`.
            let addr = listener.local_addr().map_err(|source| StartError::Bind { addr: settings.listen, source })?;
            settings.public_url = Some(format!("http://{addr}"));
        }
        Ok(Server {
            state: AppState {
                db,
                settings: Arc::new(settings),
                pipeline,
                workflow,
                calendar,
                seal_keys,
                transport,
                wake: crate::delivery::Wake::default(),
                cpu: Arc::new(crate::offload::CpuPool::for_this_machine()),
            },
            listener,
        })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.listener.local_addr().expect("a bound listener has an address")
    }

    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// Serves until `shutdown` completes, then finishes requests in flight.
    pub async fn run(self, shutdown: impl Future<Output = ()> + Send + 'static) -> std::io::Result<()> {
        let app = http::router(self.state.clone());
        let tasks = crate::workflow_tasks::spawn(self.state.clone());
        let dispatcher = crate::delivery::spawn(self.state.delivery());
        // The peer address feeds the per-address login throttling.
        let app = app.into_make_service_with_connect_info::<SocketAddr>();
        let result = axum::serve(self.listener, app).with_graceful_shutdown(shutdown).await;
        tasks.stop().await;
        dispatcher.stop().await;
        self.state.db.close().await;
        result
    }
}
