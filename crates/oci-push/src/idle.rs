//! `--idle-timeout` as it says: an upload fails when no byte has gone out
//! and no answer has come for that long, never because it takes long. A
//! 1 GiB layer through a slow link progresses for minutes; a registry (or
//! a proxy) that stops reading stalls the body at once.
//!
//! reqwest's read time-out cannot say so: it runs from the request's start,
//! and upload progress does not reset it. So the clients that upload have
//! none, and each upload is watched here instead: its body stream marks
//! [`Progress`] at every chunk it hands on (the HTTP client takes the next
//! only once the last is written out, so a peer that stops reading stops
//! the marks), and [`within`] ends the request when the marks stop. After
//! the last byte the wait for the answer counts as silence too.

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tokio::time::Instant;

/// When an upload last moved: a byte handed on, or the request begun.
#[derive(Debug, Clone)]
pub struct Progress {
    start: Instant,
    /// Milliseconds from `start` to the last mark.
    last: Arc<AtomicU64>,
}

impl Default for Progress {
    fn default() -> Self {
        Progress {
            start: Instant::now(),
            last: Arc::new(AtomicU64::new(0)),
        }
    }
}

impl Progress {
    /// Something moved now.
    pub fn mark(&self) {
        let now = self.start.elapsed().as_millis() as u64;
        self.last.fetch_max(now, Ordering::Relaxed);
    }

    /// How long since something last moved.
    fn idle(&self) -> Duration {
        let last = Duration::from_millis(self.last.load(Ordering::Relaxed));
        self.start.elapsed().saturating_sub(last)
    }
}

/// The upload was silent for the whole `--idle-timeout`.
#[derive(Debug)]
pub struct Silent(pub Duration);

impl std::fmt::Display for Silent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "nothing sent or received for {}s (--idle-timeout)",
            self.0.as_secs()
        )
    }
}

/// Runs `request` until it ends, or until `progress` has not moved for
/// `idle` (then the request is dropped, which closes its connection).
pub async fn within<F: Future>(
    progress: &Progress,
    idle: Duration,
    request: F,
) -> Result<F::Output, Silent> {
    tokio::pin!(request);
    loop {
        let left = idle.saturating_sub(progress.idle());
        if left.is_zero() {
            return Err(Silent(idle));
        }
        tokio::select! {
            out = &mut request => return Ok(out),
            () = tokio::time::sleep(left) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::retry::tests::block_on;

    #[test]
    fn a_request_that_keeps_moving_outlives_the_idle_time() {
        block_on(async {
            let progress = Progress::default();
            let moving = async {
                for _ in 0..10 {
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    progress.mark();
                }
                "done"
            };
            // Half a second in all, never 300 ms silent.
            let out = within(&progress, Duration::from_millis(300), moving).await;
            assert_eq!(out.unwrap(), "done");
        });
    }

    #[test]
    fn a_request_that_stops_moving_ends_after_the_idle_time() {
        block_on(async {
            let progress = Progress::default();
            let stalled = async {
                progress.mark();
                std::future::pending::<()>().await;
            };
            let out = within(&progress, Duration::from_millis(100), stalled).await;
            assert_eq!(out.unwrap_err().0, Duration::from_millis(100));
        });
    }
}
