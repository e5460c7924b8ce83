//! `seal`: verify publication seals, make keys, publish key sets.
//!
//! ```text
//! seal verify --keys jwks.json [--content FILE] [--channel ID] [--now SECS]
//!             [--status valid|withdrawn|suspended|superseded|revoked] [--revoked KID]...
//!             [--refuse-dev-keys] ENVELOPE
//! seal keygen --out key.pem
//! seal jwks [--nbf SECS] [--exp SECS] KEY.pem...
//! ```
//!
//! ENVELOPE is a `.jws` file (the seal alone) or a JSON envelope
//! `{"seal": "<jws>", "content": {…}}`; `-` reads standard input. Exit
//! status: 0 valid, 1 invalid (the failing check and its reason are
//! printed), 2 usage or input error. Arguments are parsed by hand so the
//! crate needs no argument parser.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use seal::{Content, ContentDigest, Ed25519Signer, Envelope, KeyId, KeySet, SealStatus, Signer as _, Validity};

const USAGE: &str = "usage:
  seal verify --keys JWKS [--content FILE] [--channel ID] [--now SECS]
              [--status valid|withdrawn|suspended|superseded|revoked] [--revoked KID]...
              [--refuse-dev-keys] ENVELOPE
      ENVELOPE: a .jws file, or a JSON envelope {\"seal\": \"<jws>\", \"content\": {...}}; - for stdin.
        A .jws file holds the seal; one final line ending (LF or CRLF) is dropped, nothing else.
      --status: the seal's status as GET /api/v1/seals/{serial}/status gives it.
      --refuse-dev-keys: refuse a seal whose key the key set marks \"dev_key\": true (or that says so itself).
      --content FILE: the canonical content bytes (gov-disclosure/content@1, RFC 8785).
      --now: the time to check not_before against (default: this machine's clock).
  seal keygen --out KEY.pem          new Ed25519 key, PKCS#8 v1 PEM, mode 0600
  seal jwks [--nbf SECS] [--exp SECS] KEY.pem...   the JWKS (public keys) for these keys";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("verify") => verify(&args[1..]),
        Some("keygen") => keygen(&args[1..]),
        Some("jwks") => jwks(&args[1..]),
        Some("-h" | "--help" | "help") => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        _ => Err(format!("unknown or missing command\n\n{USAGE}")),
    };
    match result {
        Ok(code) => code,
        Err(msg) => {
            eprintln!("seal: {msg}");
            ExitCode::from(2)
        }
    }
}

/// Options and positional arguments, parsed by hand.
struct Args {
    opts: Vec<(String, Option<String>)>,
    positional: Vec<String>,
}

impl Args {
    /// `flags` take no value; every other `--name` takes the next argument.
    fn parse(args: &[String], flags: &[&str], known: &[&str]) -> Result<Args, String> {
        let mut a = Args { opts: Vec::new(), positional: Vec::new() };
        let mut it = args.iter();
        while let Some(arg) = it.next() {
            if let Some(name) = arg.strip_prefix("--") {
                let (name, inline) = match name.split_once('=') {
                    Some((n, v)) => (n, Some(v.to_owned())),
                    None => (name, None),
                };
                if flags.contains(&name) {
                    a.opts.push((name.to_owned(), None));
                } else if known.contains(&name) {
                    let v = inline.or_else(|| it.next().cloned()).ok_or_else(|| format!("--{name} needs a value"))?;
                    a.opts.push((name.to_owned(), Some(v)));
                } else {
                    return Err(format!("unknown option --{name}\n\n{USAGE}"));
                }
            } else {
                a.positional.push(arg.clone());
            }
        }
        Ok(a)
    }

    fn one(&self, name: &str) -> Result<Option<&str>, String> {
        let mut vals = self.opts.iter().filter(|(n, _)| n == name).filter_map(|(_, v)| v.as_deref());
        let first = vals.next();
        if vals.next().is_some() {
            return Err(format!("--{name} given twice"));
        }
        Ok(first)
    }

    fn all(&self, name: &str) -> Vec<&str> {
        self.opts.iter().filter(|(n, _)| n == name).filter_map(|(_, v)| v.as_deref()).collect()
    }

    fn flag(&self, name: &str) -> bool {
        self.opts.iter().any(|(n, v)| n == name && v.is_none())
    }
}

fn read(path: &str) -> Result<Vec<u8>, String> {
    if path == "-" {
        let mut buf = Vec::new();
        std::io::Read::read_to_end(&mut std::io::stdin(), &mut buf).map_err(|e| format!("cannot read stdin: {e}"))?;
        return Ok(buf);
    }
    std::fs::read(path).map_err(|e| format!("cannot read {path}: {e}"))
}

fn secs(name: &str, v: &str) -> Result<u64, String> {
    v.parse().map_err(|_| format!("--{name} takes seconds since the Unix epoch, not {v:?}"))
}

fn verify(args: &[String]) -> Result<ExitCode, String> {
    let a = Args::parse(args, &["refuse-dev-keys"], &["keys", "content", "channel", "now", "status", "revoked"])?;
    let [envelope_path] = a.positional.as_slice() else {
        return Err(format!("verify takes one ENVELOPE\n\n{USAGE}"));
    };
    let keys_path = a.one("keys")?.ok_or("verify needs --keys JWKS")?;
    let keys = KeySet::from_jwks_json(&read(keys_path)?).map_err(|e| format!("{keys_path}: {e}"))?;

    let raw = read(envelope_path)?;
    let text = std::str::from_utf8(&raw).map_err(|_| format!("{envelope_path} is not UTF-8"))?;
    let (jws, envelope_content) = if text.trim_start().starts_with('{') {
        let env = Envelope::parse(raw.as_slice()).map_err(|e| format!("{envelope_path}: {e}"))?;
        let content = env.content_bytes().map_err(|e| format!("{envelope_path}: {e}"))?;
        (env.seal, content)
    } else {
        // A .jws file: the seal and nothing else. One final line ending is
        // the file's, not the seal's (docs/seal.md §6); any other byte is
        // the seal's and must pass the structure check.
        let seal = text.strip_suffix("\r\n").or_else(|| text.strip_suffix('\n')).unwrap_or(text);
        (seal.to_owned(), None)
    };

    let file_content = a.one("content")?.map(read).transpose()?;
    let content_bytes = match (&file_content, &envelope_content) {
        (Some(_), Some(_)) => return Err("the envelope carries content already: drop --content".into()),
        (Some(b), None) | (None, Some(b)) => Some(b.as_slice()),
        (None, None) => None,
    };

    let now = match a.one("now")? {
        Some(v) => secs("now", v)?,
        None => std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_err(|_| "the clock is before 1970")?
            .as_secs(),
    };
    let seal_status =
        match a.one("status")? {
            None => None,
            Some(s) => Some(SealStatus::parse(s).ok_or_else(|| {
                format!("--status {s:?}: expected valid, withdrawn, suspended, superseded or revoked")
            })?),
        };
    let revoked: Vec<KeyId> =
        a.all("revoked").into_iter().map(KeyId::parse).collect::<Result<_, _>>().map_err(|e| e.to_string())?;

    let opts = seal::VerifyOptions {
        content: content_bytes.map_or(Content::NotChecked, Content::Bytes),
        channel: a.one("channel")?,
        now: Some(now),
        revoked_keys: &revoked,
        seal_status,
        refuse_dev_keys: a.flag("refuse-dev-keys"),
    };
    let report = seal::verify_report(&jws, &keys, &opts);
    println!("{report}");
    if let (Err(seal::Error::DigestMismatch { .. }), Some(bytes)) = (&report.verdict, &file_content) {
        hint_not_canonical(bytes);
    }
    Ok(if report.is_valid() { ExitCode::SUCCESS } else { ExitCode::from(1) })
}

/// A common mistake: a pretty-printed content file. Say so, without
/// accepting it (the digest covers the canonical bytes only).
fn hint_not_canonical(bytes: &[u8]) {
    let Ok(value) = serde_json::from_slice::<serde_json::Value>(bytes) else {
        return;
    };
    if let Ok(canonical) = seal::canonical::to_vec(&value)
        && canonical != bytes
    {
        eprintln!(
            "hint: --content is not in canonical form (RFC 8785); its canonical form hashes to {}",
            ContentDigest::of(&canonical)
        );
    }
}

fn keygen(args: &[String]) -> Result<ExitCode, String> {
    let a = Args::parse(args, &[], &["out"])?;
    if !a.positional.is_empty() {
        return Err(format!("keygen takes no positional argument\n\n{USAGE}"));
    }
    let out = PathBuf::from(a.one("out")?.ok_or("keygen needs --out KEY.pem")?);
    let signer = Ed25519Signer::generate();
    signer.write_key_file(&out).map_err(|e| e.to_string())?;
    eprintln!("wrote {} (PKCS#8 v1, mode 0600)", out.display());
    println!("{}", signer.kid());
    Ok(ExitCode::SUCCESS)
}

fn jwks(args: &[String]) -> Result<ExitCode, String> {
    let a = Args::parse(args, &[], &["nbf", "exp"])?;
    if a.positional.is_empty() {
        return Err(format!("jwks needs at least one KEY.pem\n\n{USAGE}"));
    }
    let validity = Validity {
        nbf: a.one("nbf")?.map(|v| secs("nbf", v)).transpose()?,
        exp: a.one("exp")?.map(|v| secs("exp", v)).transpose()?,
    };
    let mut keys = Vec::new();
    for path in &a.positional {
        let signer = Ed25519Signer::from_key_file(Path::new(path)).map_err(|e| e.to_string())?;
        eprintln!("{path}: kid {}", signer.kid());
        keys.push(signer.jwk(validity));
    }
    print!("{}", seal::jwks_json(&keys));
    Ok(ExitCode::SUCCESS)
}
