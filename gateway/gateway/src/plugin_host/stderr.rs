//! A guest's stderr, kept as a bounded tail in memory.
//!
//! Rust guests print their panic message to stderr before trapping. The host
//! keeps the last [`TAIL`] bytes so that a `plugin_failure` can name the
//! panic (`panicked at src/lib.rs:12: …`) instead of a bare `unreachable`.
//! Writes never fail and never grow the buffer past the tail, so a chatty
//! plugin cannot exhaust host memory or trap because stderr is "full".

use std::collections::VecDeque;
use std::io;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use bytes::Bytes;
use wasmtime_wasi::cli::{IsTerminal, StdoutStream};
use wasmtime_wasi::p2::{OutputStream, Pollable, StreamResult};

/// Bytes of stderr kept per instance.
const TAIL: usize = 2048;

/// The tail of one instance's stderr; clones share the buffer.
#[derive(Clone, Default)]
pub(crate) struct StderrTail(Arc<Mutex<VecDeque<u8>>>);

impl StderrTail {
    fn push(&self, bytes: &[u8]) {
        let mut buf = self.0.lock().expect("stderr lock");
        let bytes = &bytes[bytes.len().saturating_sub(TAIL)..];
        let overflow = (buf.len() + bytes.len()).saturating_sub(TAIL);
        buf.drain(..overflow);
        buf.extend(bytes);
    }

    /// The last non-empty line written, lossily decoded, or `None`.
    pub(crate) fn last_line(&self) -> Option<String> {
        let buf = self.0.lock().expect("stderr lock");
        let (a, b) = buf.as_slices();
        let text = String::from_utf8_lossy(&[a, b].concat()).into_owned();
        text.lines()
            .rev()
            .map(str::trim)
            .find(|l| !l.is_empty() && !l.starts_with("note: run with `RUST_BACKTRACE"))
            .map(|l| l.chars().take(300).collect())
    }

    /// Forgets what was written (before each call).
    pub(crate) fn clear(&self) {
        self.0.lock().expect("stderr lock").clear();
    }
}

impl IsTerminal for StderrTail {
    fn is_terminal(&self) -> bool {
        false
    }
}

impl StdoutStream for StderrTail {
    fn p2_stream(&self) -> Box<dyn OutputStream> {
        Box::new(self.clone())
    }

    fn async_stream(&self) -> Box<dyn tokio::io::AsyncWrite + Send + Sync> {
        Box::new(self.clone())
    }
}

#[wasmtime_wasi::async_trait]
impl Pollable for StderrTail {
    async fn ready(&mut self) {}
}

#[wasmtime_wasi::async_trait]
impl OutputStream for StderrTail {
    fn write(&mut self, bytes: Bytes) -> StreamResult<()> {
        self.push(&bytes);
        Ok(())
    }

    fn flush(&mut self) -> StreamResult<()> {
        Ok(())
    }

    fn check_write(&mut self) -> StreamResult<usize> {
        Ok(64 * 1024)
    }
}

impl tokio::io::AsyncWrite for StderrTail {
    fn poll_write(self: Pin<&mut Self>, _cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        self.push(buf);
        Poll::Ready(Ok(buf.len()))
    }

    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_only_the_tail_and_the_last_line() {
        let t = StderrTail::default();
        assert_eq!(t.last_line(), None);
        t.push(&vec![b'x'; 5000]);
        t.push(b"\nthread '<unnamed>' panicked at src/lib.rs:3:9:\nboom\nnote: run with `RUST_BACKTRACE=1`\n");
        assert_eq!(t.0.lock().unwrap().len(), TAIL);
        assert_eq!(t.last_line().as_deref(), Some("boom"));
        t.clear();
        assert_eq!(t.last_line(), None);
    }
}
