//! Where a receiver keeps what it applied: per item, the event ids and the
//! last sequence applied and the serials retired (withdrawn or superseded);
//! and the live publications. Two stores: [`MemoryStore`] (tests, or a
//! receiver that feeds something else) and [`DirStore`] (JSON files a
//! static website can serve).
//!
//! A store does not decide anything: the receiver checks order, seals and
//! channels, then hands the store one [`Change`] with the new item state.

use std::collections::BTreeMap;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::Error;

/// A live publication: what the page shows, and the envelope to re-verify it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Publication {
    /// The gateway's item id.
    pub item_id: String,
    /// The item version sealed.
    pub version: u64,
    /// The seal serial (show it: anyone can look it up and verify it).
    pub serial: String,
    /// The serial this publication replaced (更正), if any.
    pub supersedes: Option<String>,
    /// 公文种类 of the content (`notice`, `policy`, …).
    pub kind: Option<String>,
    /// The title, as sealed.
    pub title: String,
    /// The body, plain text with LF line endings, as sealed.
    pub body: String,
    /// 发文字号, if any.
    pub doc_number: Option<String>,
    /// The issuing organ (发布机关), from the seal.
    pub issuer: String,
    /// 公开属性 (`public`, `on_request`, `withheld`), from the seal.
    pub attribute: String,
    /// 成文日期, if stated.
    pub formed_at: Option<String>,
    /// Attachments by name, digest, media type and size, as sealed.
    pub attachments: serde_json::Value,
    /// Not to be published before (seconds).
    pub not_before: u64,
    /// When the seal was made (seconds).
    pub sealed_at: u64,
    /// When this receiver applied it (RFC 3339, UTC).
    pub published_at: String,
    /// Whether the seal was made with a development key.
    pub dev_key: bool,
    /// `sha256:` digest of the canonical content.
    pub content_digest: String,
    /// The event that applied it.
    pub event_id: String,
    /// Its sequence.
    pub sequence: u64,
    /// The seal envelope `{"seal", "content"}` as received (`seal verify` reads it).
    pub envelope: serde_json::Value,
}

/// One event the receiver applied.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppliedEvent {
    /// Its id.
    pub event_id: String,
    /// Its sequence.
    pub sequence: u64,
    /// `publish` or `withdraw`.
    #[serde(rename = "type")]
    pub kind: String,
    /// The serial published, if a publish.
    pub serial: Option<String>,
    /// When it was applied (RFC 3339, UTC).
    pub applied_at: String,
}

/// A serial that may not be published again.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RetiredSerial {
    /// The seal serial.
    pub serial: String,
    /// `withdrawn` or `superseded`.
    pub status: String,
}

/// What a receiver knows about one item.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ItemState {
    /// The last sequence applied; 0 for an item never seen.
    pub last_sequence: u64,
    /// Every event applied, in order.
    pub events: Vec<AppliedEvent>,
    /// Serials withdrawn or superseded.
    pub retired: Vec<RetiredSerial>,
}

impl ItemState {
    /// Whether the event with this id was applied.
    pub fn applied(&self, event_id: &str) -> bool {
        self.events.iter().any(|e| e.event_id == event_id)
    }

    /// Why `serial` may not be published again, if it may not.
    pub fn retired(&self, serial: &str) -> Option<&RetiredSerial> {
        self.retired.iter().find(|r| r.serial == serial)
    }
}

/// What applying one event does to the publications.
#[derive(Debug, Clone, PartialEq)]
pub enum Change {
    /// Show this publication (replacing the item's current one, if any).
    Publish(Box<Publication>),
    /// Take the item down (nothing to do if it is not shown).
    Withdraw,
}

/// Applied state and live publications.
pub trait Store {
    /// What is known about an item (the default state for an unknown one).
    fn item_state(&self, item_id: &str) -> Result<ItemState, Error>;
    /// The item's live publication.
    fn publication(&self, item_id: &str) -> Result<Option<Publication>, Error>;
    /// Every live publication, newest seal first.
    fn publications(&self) -> Result<Vec<Publication>, Error>;
    /// Applies `change` and records `state` as the item's new state. If the
    /// store fails halfway, applying the same event again must be harmless:
    /// record the state last.
    fn apply(&mut self, item_id: &str, change: &Change, state: &ItemState) -> Result<(), Error>;
    /// Keeps an attachment's bytes under its digest (checked by the caller).
    fn put_file(&mut self, digest: &str, bytes: &[u8]) -> Result<(), Error>;
    /// An attachment's bytes, if kept.
    fn file(&self, digest: &str) -> Result<Option<Vec<u8>>, Error>;
}

fn newest_first(mut v: Vec<Publication>) -> Vec<Publication> {
    v.sort_by(|a, b| b.sealed_at.cmp(&a.sealed_at).then_with(|| a.item_id.cmp(&b.item_id)));
    v
}

/// Everything in memory.
#[derive(Debug, Default)]
pub struct MemoryStore {
    states: BTreeMap<String, ItemState>,
    live: BTreeMap<String, Publication>,
    files: BTreeMap<String, Vec<u8>>,
    applies: usize,
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> MemoryStore {
        MemoryStore::default()
    }

    /// How many changes were applied (tests count re-application).
    pub fn applies(&self) -> usize {
        self.applies
    }
}

impl Store for MemoryStore {
    fn item_state(&self, item_id: &str) -> Result<ItemState, Error> {
        Ok(self.states.get(item_id).cloned().unwrap_or_default())
    }
    fn publication(&self, item_id: &str) -> Result<Option<Publication>, Error> {
        Ok(self.live.get(item_id).cloned())
    }
    fn publications(&self) -> Result<Vec<Publication>, Error> {
        Ok(newest_first(self.live.values().cloned().collect()))
    }
    fn apply(&mut self, item_id: &str, change: &Change, state: &ItemState) -> Result<(), Error> {
        match change {
            Change::Publish(p) => self.live.insert(item_id.to_owned(), (**p).clone()),
            Change::Withdraw => self.live.remove(item_id),
        };
        self.states.insert(item_id.to_owned(), state.clone());
        self.applies += 1;
        Ok(())
    }
    fn put_file(&mut self, digest: &str, bytes: &[u8]) -> Result<(), Error> {
        self.files.insert(digest.to_owned(), bytes.to_vec());
        Ok(())
    }
    fn file(&self, digest: &str) -> Result<Option<Vec<u8>>, Error> {
        Ok(self.files.get(digest).cloned())
    }
}

/// JSON files in a directory, written atomically (temporary file, fsync,
/// rename):
///
/// - `items/<item_id>.json`: each live [`Publication`] (a withdrawal deletes it);
/// - `index.json`: `{"items": [...]}`, a summary of every live item, newest first;
/// - `files/sha256-<hex>`: each attachment fetched, by digest;
/// - `.receiver/<item_id>.json`: the [`ItemState`] (event ids, sequence,
///   retired serials). Not for the public: serve only `index.json` and `items/`.
///
/// The item file and index are written before the state, so a crash in
/// between makes the gateway redeliver an event that re-applies harmlessly.
#[derive(Debug)]
pub struct DirStore {
    dir: PathBuf,
    live: BTreeMap<String, Publication>,
}

/// One row of `index.json`.
#[derive(Debug, Serialize)]
struct IndexEntry<'a> {
    item_id: &'a str,
    serial: &'a str,
    title: &'a str,
    kind: Option<&'a str>,
    doc_number: Option<&'a str>,
    issuer: &'a str,
    formed_at: Option<&'a str>,
    sealed_at: u64,
    published_at: &'a str,
    dev_key: bool,
    url: String,
}

impl DirStore {
    /// Opens (creating if needed) a store in `dir`, reads the live items and
    /// rewrites `index.json` from them.
    pub fn open(dir: impl AsRef<Path>) -> Result<DirStore, Error> {
        let dir = dir.as_ref().to_path_buf();
        for sub in [dir.join("items"), dir.join("files"), dir.join(".receiver")] {
            std::fs::create_dir_all(&sub).map_err(|e| io(&sub, e))?;
        }
        let mut live = BTreeMap::new();
        let items = dir.join("items");
        for entry in std::fs::read_dir(&items).map_err(|e| io(&items, e))? {
            let path = entry.map_err(|e| io(&items, e))?.path();
            let Some(name) = path.file_name().and_then(|n| n.to_str()) else { continue };
            let Some(id) = name.strip_suffix(".json") else { continue };
            if !crate::event::is_item_id(id) {
                continue; // temporary files start with a dot
            }
            let p: Publication = read_json(&path)?;
            live.insert(id.to_owned(), p);
        }
        let store = DirStore { dir, live };
        store.write_index()?;
        Ok(store)
    }

    /// The directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn item_path(&self, item_id: &str) -> PathBuf {
        self.dir.join("items").join(format!("{item_id}.json"))
    }

    /// The file of an attachment: its digest with `:` as `-` (a
    /// `sha256:<hex>` digest, checked by the caller, is a safe file name).
    fn file_path(&self, digest: &str) -> PathBuf {
        self.dir.join("files").join(digest.replace(':', "-"))
    }

    fn state_path(&self, item_id: &str) -> PathBuf {
        self.dir.join(".receiver").join(format!("{item_id}.json"))
    }

    fn write_index(&self) -> Result<(), Error> {
        let list = newest_first(self.live.values().cloned().collect());
        let entries: Vec<IndexEntry<'_>> = list
            .iter()
            .map(|p| IndexEntry {
                item_id: &p.item_id,
                serial: &p.serial,
                title: &p.title,
                kind: p.kind.as_deref(),
                doc_number: p.doc_number.as_deref(),
                issuer: &p.issuer,
                formed_at: p.formed_at.as_deref(),
                sealed_at: p.sealed_at,
                published_at: &p.published_at,
                dev_key: p.dev_key,
                url: format!("items/{}.json", p.item_id),
            })
            .collect();
        write_json(&self.dir.join("index.json"), &serde_json::json!({ "items": entries }))
    }
}

impl Store for DirStore {
    fn item_state(&self, item_id: &str) -> Result<ItemState, Error> {
        let path = self.state_path(item_id);
        if !path.exists() {
            return Ok(ItemState::default());
        }
        read_json(&path)
    }
    fn publication(&self, item_id: &str) -> Result<Option<Publication>, Error> {
        Ok(self.live.get(item_id).cloned())
    }
    fn publications(&self) -> Result<Vec<Publication>, Error> {
        Ok(newest_first(self.live.values().cloned().collect()))
    }
    fn apply(&mut self, item_id: &str, change: &Change, state: &ItemState) -> Result<(), Error> {
        let path = self.item_path(item_id);
        match change {
            Change::Publish(p) => {
                write_json(&path, p)?;
                self.live.insert(item_id.to_owned(), (**p).clone());
            }
            Change::Withdraw => {
                match std::fs::remove_file(&path) {
                    Ok(()) => sync_dir(path.parent().expect("items/"))?,
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                    Err(e) => return Err(io(&path, e)),
                }
                self.live.remove(item_id);
            }
        }
        self.write_index()?;
        write_json(&self.state_path(item_id), state)
    }
    fn put_file(&mut self, digest: &str, bytes: &[u8]) -> Result<(), Error> {
        write_atomically(&self.file_path(digest), bytes)
    }
    fn file(&self, digest: &str) -> Result<Option<Vec<u8>>, Error> {
        let path = self.file_path(digest);
        match std::fs::read(&path) {
            Ok(bytes) => Ok(Some(bytes)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(io(&path, e)),
        }
    }
}

fn io(path: &Path, e: std::io::Error) -> Error {
    Error::Store(format!("{}: {e}", path.display()))
}

fn read_json<T: serde::de::DeserializeOwned>(path: &Path) -> Result<T, Error> {
    let bytes = std::fs::read(path).map_err(|e| io(path, e))?;
    serde_json::from_slice(&bytes).map_err(|e| Error::Store(format!("{}: {e}", path.display())))
}

/// Writes pretty JSON to a temporary file beside `path`, fsyncs it and
/// renames it over `path`, so a reader sees the old or the new file, never half.
fn write_json<T: Serialize + ?Sized>(path: &Path, value: &T) -> Result<(), Error> {
    let mut bytes = serde_json::to_vec_pretty(value).map_err(|e| Error::Store(e.to_string()))?;
    bytes.push(b'\n');
    write_atomically(path, &bytes)
}

/// Writes `bytes` to a temporary file beside `path`, fsyncs it and renames
/// it over `path`.
fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), Error> {
    let parent = path.parent().expect("store paths have a parent");
    let name = path.file_name().and_then(|n| n.to_str()).expect("store file names are UTF-8");
    let tmp = parent.join(format!(".{name}.tmp-{}", std::process::id()));
    let result = (|| {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    if let Err(e) = result {
        let _ = std::fs::remove_file(&tmp);
        return Err(io(path, e));
    }
    sync_dir(parent)
}

/// Makes a rename or removal durable (on unix; elsewhere a no-op).
fn sync_dir(dir: &Path) -> Result<(), Error> {
    #[cfg(unix)]
    std::fs::File::open(dir).and_then(|d| d.sync_all()).map_err(|e| io(dir, e))?;
    #[cfg(not(unix))]
    let _ = dir;
    Ok(())
}
