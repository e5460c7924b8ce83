//! A mail server on loopback for the tests: enough SMTP (RFC 5321) for a
//! real client to deliver to it, keeping each message as received, and
//! able to refuse the next message as a real server does (550 after DATA).

use std::sync::{Arc, Mutex};

use base64::Engine as _;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;

/// One message as the server took it.
#[derive(Clone, Debug)]
pub struct Received {
    pub mail_from: String,
    pub rcpt_to: Vec<String>,
    /// The message as sent (headers and body, CRLF line ends, dot-unstuffed).
    pub data: String,
}

/// One MIME part: its headers (lower-cased names) and its decoded body.
pub struct Part {
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Part {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
    }
}

impl Received {
    /// The leaf parts of a multipart message, bodies decoded from base64
    /// or quoted-printable.
    pub fn parts(&self) -> Vec<Part> {
        let (_, body) = self.data.split_once("\r\n\r\n").expect("headers end");
        let boundary = self
            .data
            .split("boundary=")
            .nth(1)
            .map(|b| b.trim_start_matches('"').split(['"', '\r', ';']).next().unwrap().to_owned())
            .expect("a multipart message");
        body.split(&format!("--{boundary}"))
            .filter(|p| !p.trim().is_empty() && !p.starts_with("--"))
            .map(|p| {
                let (head, content) = p.trim_start_matches("\r\n").split_once("\r\n\r\n").unwrap_or((p, ""));
                let headers = unfold(head);
                let encoding = headers
                    .iter()
                    .find(|(n, _)| n == "content-transfer-encoding")
                    .map(|(_, v)| v.to_ascii_lowercase())
                    .unwrap_or_default();
                let body = match encoding.as_str() {
                    "base64" => base64::engine::general_purpose::STANDARD
                        .decode(content.chars().filter(|c| !c.is_whitespace()).collect::<String>())
                        .expect("base64 body"),
                    "quoted-printable" => quoted_printable(content),
                    _ => content.trim_end_matches("\r\n").as_bytes().to_vec(),
                };
                Part { headers, body }
            })
            .collect()
    }
}

fn unfold(head: &str) -> Vec<(String, String)> {
    let mut headers: Vec<(String, String)> = Vec::new();
    for line in head.split("\r\n") {
        if line.starts_with([' ', '\t']) {
            if let Some((_, v)) = headers.last_mut() {
                v.push_str(line.trim_start());
            }
        } else if let Some((n, v)) = line.split_once(':') {
            headers.push((n.trim().to_ascii_lowercase(), v.trim().to_owned()));
        }
    }
    headers
}

fn quoted_printable(text: &str) -> Vec<u8> {
    let mut out = Vec::new();
    let bytes = text.replace("=\r\n", "").into_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'=' && i + 2 < bytes.len() {
            let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap();
            out.push(u8::from_str_radix(hex, 16).expect("quoted-printable escape"));
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    out
}

/// The server: where it listens, what it received.
pub struct SmtpSink {
    pub port: u16,
    received: Arc<Mutex<Vec<Received>>>,
    refuse_next: Arc<Mutex<bool>>,
    task: tokio::task::JoinHandle<()>,
}

impl SmtpSink {
    pub async fn start() -> SmtpSink {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind the mail sink");
        let port = listener.local_addr().unwrap().port();
        let received = Arc::new(Mutex::new(Vec::new()));
        let refuse_next = Arc::new(Mutex::new(false));
        let (r, refuse) = (received.clone(), refuse_next.clone());
        let task = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                tokio::spawn(session(stream, r.clone(), refuse.clone()));
            }
        });
        SmtpSink { port, received, refuse_next, task }
    }

    /// `[mail] smtp` for a gateway that sends here (plain SMTP: loopback).
    pub fn url(&self) -> String {
        format!("smtp://127.0.0.1:{}", self.port)
    }

    pub fn received(&self) -> Vec<Received> {
        self.received.lock().unwrap().clone()
    }

    /// The next message is refused after its data, with a permanent error.
    pub fn refuse_next(&self) {
        *self.refuse_next.lock().unwrap() = true;
    }
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn session(stream: tokio::net::TcpStream, received: Arc<Mutex<Vec<Received>>>, refuse: Arc<Mutex<bool>>) {
    let (read, mut write) = stream.into_split();
    let mut lines = BufReader::new(read);
    reply(&mut write, "220 sink.test ESMTP\r\n").await;
    let (mut from, mut to) = (String::new(), Vec::new());
    let mut line = String::new();
    loop {
        line.clear();
        if lines.read_line(&mut line).await.unwrap_or(0) == 0 {
            return;
        }
        let command = line.trim_end().to_owned();
        let verb = command.split([' ', ':']).next().unwrap_or("").to_ascii_uppercase();
        match verb.as_str() {
            "EHLO" => reply(&mut write, "250-sink.test\r\n250-8BITMIME\r\n250 SMTPUTF8\r\n").await,
            "HELO" => reply(&mut write, "250 sink.test\r\n").await,
            "MAIL" => {
                from = address(&command);
                to.clear();
                reply(&mut write, "250 OK\r\n").await;
            }
            "RCPT" => {
                to.push(address(&command));
                reply(&mut write, "250 OK\r\n").await;
            }
            "DATA" => {
                reply(&mut write, "354 go ahead\r\n").await;
                let mut data = String::new();
                loop {
                    line.clear();
                    if lines.read_line(&mut line).await.unwrap_or(0) == 0 {
                        return;
                    }
                    if line == ".\r\n" {
                        break;
                    }
                    data.push_str(line.strip_prefix('.').filter(|_| line.starts_with("..")).unwrap_or(&line));
                }
                let refused = std::mem::take(&mut *refuse.lock().unwrap());
                if refused {
                    reply(&mut write, "550 5.7.1 message refused by policy\r\n").await;
                } else {
                    received.lock().unwrap().push(Received {
                        mail_from: from.clone(),
                        rcpt_to: std::mem::take(&mut to),
                        data,
                    });
                    reply(&mut write, "250 OK queued\r\n").await;
                }
            }
            "RSET" | "NOOP" => reply(&mut write, "250 OK\r\n").await,
            "QUIT" => {
                reply(&mut write, "221 bye\r\n").await;
                return;
            }
            _ => reply(&mut write, "502 command not implemented\r\n").await,
        }
    }
}

async fn reply(w: &mut tokio::net::tcp::OwnedWriteHalf, text: &str) {
    let _ = w.write_all(text.as_bytes()).await;
}

/// The address in `MAIL FROM:<a>` or `RCPT TO:<a>`.
fn address(command: &str) -> String {
    command.split('<').nth(1).and_then(|s| s.split('>').next()).unwrap_or("").to_owned()
}
