//! CPU-heavy work of a request, off the async runtime: a request that diffs
//! two 7 MB versions, renders a long item page or builds an export must not
//! stall the runtime's few worker threads, or `/healthz`, logins and every
//! other request wait behind it (issue 16, finding 3).
//!
//! [`CpuPool::run`] moves a closure to Tokio's blocking pool, at most
//! [`CpuPool::permits`] at a time; further jobs wait for a permit
//! asynchronously, for at most [`QUEUE_WAIT`], then the request is answered
//! 503. Each job bounds its own running time (the diff has a deadline, see
//! `http::items`); this module bounds how many run at once and how long a
//! request may queue. The review pipeline has its own pool
//! (`review::Pipeline`) and password hashing uses `spawn_blocking` directly:
//! both are bounded elsewhere.
//!
//! Deliberately not here: deciding what is heavy. Callers wrap the work
//! they know is proportional to a text's size.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Semaphore;

/// The longest a request waits for a free permit before it is refused.
pub const QUEUE_WAIT: Duration = Duration::from_secs(30);

/// Why a job did not produce its result.
#[derive(Debug, thiserror::Error)]
pub enum OffloadError {
    /// Every permit stayed taken for [`QUEUE_WAIT`].
    #[error("no worker for CPU-heavy work became free within {0:?}")]
    Busy(Duration),
    /// The job panicked (the panic is logged by the caller's error path).
    #[error("CPU-heavy job {what} failed: {cause}")]
    Failed { what: &'static str, cause: String },
}

/// A bounded pool for CPU-heavy request work.
pub struct CpuPool {
    permits: Arc<Semaphore>,
    size: usize,
}

impl CpuPool {
    /// At most `size` jobs at once (at least one).
    pub fn new(size: usize) -> CpuPool {
        let size = size.max(1);
        CpuPool { permits: Arc::new(Semaphore::new(size)), size }
    }

    /// One job per CPU but one, at least two and at most four: a flood of
    /// large diffs queues instead of taking the machine, and the runtime's
    /// threads, which the operating system schedules beside the jobs, keep
    /// answering.
    pub fn for_this_machine() -> CpuPool {
        let cores = std::thread::available_parallelism().map_or(1, usize::from);
        CpuPool::new(cores.saturating_sub(1).clamp(2, 4))
    }

    /// How many jobs may run at once.
    pub fn permits(&self) -> usize {
        self.size
    }

    /// Runs `job` on the blocking pool once a permit is free; `what` names
    /// it in errors.
    pub async fn run<T, F>(&self, what: &'static str, job: F) -> Result<T, OffloadError>
    where
        T: Send + 'static,
        F: FnOnce() -> T + Send + 'static,
    {
        let permit = tokio::time::timeout(QUEUE_WAIT, Arc::clone(&self.permits).acquire_owned())
            .await
            .map_err(|_| OffloadError::Busy(QUEUE_WAIT))?
            .map_err(|_| OffloadError::Failed { what, cause: "the pool is closed".into() })?;
        let joined = tokio::task::spawn_blocking(move || {
            let _permit = permit;
            job()
        })
        .await;
        joined.map_err(|e| OffloadError::Failed { what, cause: e.to_string() })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(flavor = "current_thread")]
    async fn jobs_run_off_the_runtime_and_at_most_permits_at_once() {
        let pool = Arc::new(CpuPool::new(2));
        let running = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let most = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let jobs: Vec<_> = (0..6)
            .map(|_| {
                let (pool, running, most) = (pool.clone(), running.clone(), most.clone());
                tokio::spawn(async move {
                    pool.run("test", move || {
                        use std::sync::atomic::Ordering::SeqCst;
                        let now = running.fetch_add(1, SeqCst) + 1;
                        most.fetch_max(now, SeqCst);
                        std::thread::sleep(Duration::from_millis(50));
                        running.fetch_sub(1, SeqCst);
                    })
                    .await
                })
            })
            .collect();
        // The single runtime thread stays free while the jobs sleep.
        let ticked = tokio::time::timeout(Duration::from_millis(20), tokio::task::yield_now()).await;
        assert!(ticked.is_ok());
        for job in jobs {
            job.await.unwrap().unwrap();
        }
        assert_eq!(most.load(std::sync::atomic::Ordering::SeqCst), 2);
    }

    #[tokio::test(flavor = "current_thread")]
    async fn a_panicking_job_is_an_error_not_a_crash() {
        let pool = CpuPool::new(1);
        let err = pool.run("boom", || -> u8 { panic!("boom") }).await.unwrap_err();
        assert!(matches!(err, OffloadError::Failed { what: "boom", .. }), "{err}");
        // The permit came back.
        assert_eq!(pool.run("after", || 7).await.unwrap(), 7);
    }
}
