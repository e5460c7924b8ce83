//! ZIP containers: the bounded reader that DOCX, XLSX and OFD parts and archive
//! entries all go through, and archives of attachments (nested up to the
//! depth bound).
//!
//! Every entry read is checked against its declared size, the compression
//! ratio (a zip bomb is a small entry that inflates enormously), the total
//! uncompressed bytes of the whole file and the number of entries, and the
//! inflater is cut off at the declared size, so a lying header cannot make
//! it inflate more.

use std::io::{Cursor, Read};

use zip::ZipArchive;
use zip::result::ZipError;

use crate::{Failure, FailureKind, Out, limit, malformed, read_file};

/// Below this size an entry's compression ratio is not suspicious (small,
/// repetitive XML compresses very well).
const RATIO_FLOOR: u64 = 1 << 20;

/// An opened ZIP container.
pub(crate) struct Zip<'a> {
    archive: ZipArchive<Cursor<&'a [u8]>>,
    /// The container's path, for locators and messages.
    pub(crate) path: String,
}

fn zip_error(path: &str, e: ZipError) -> Failure {
    match e {
        ZipError::UnsupportedArchive(what) => malformed(path, format!("压缩文件使用了不支持的格式或压缩方法：{what}")),
        ZipError::InvalidPassword => {
            Failure {
                kind: FailureKind::Encrypted, file: path.to_owned(), message: "压缩文件已加密，无法读取".into()
            }
        }
        other => malformed(path, format!("不是有效的 ZIP 文件：{other}")),
    }
}

impl<'a> Zip<'a> {
    pub(crate) fn open(out: &mut Out<'_>, path: &str, bytes: &'a [u8]) -> Result<Zip<'a>, Failure> {
        let archive = ZipArchive::new(Cursor::new(bytes)).map_err(|e| zip_error(path, e))?;
        if archive.len() as u64 > u64::from(out.bounds.max_entries) {
            return Err(limit(
                path,
                format!("压缩文件有 {} 个条目，超过上限 {} 个", archive.len(), out.bounds.max_entries),
            ));
        }
        Ok(Zip { archive, path: path.to_owned() })
    }

    pub(crate) fn has(&self, name: &str) -> bool {
        self.archive.index_for_name(name).is_some()
    }

    /// Names of the entries, in archive order.
    pub(crate) fn names(&self) -> Vec<String> {
        self.archive.file_names().filter_map(Result::ok).map(|n| n.into_owned()).collect()
    }

    /// Reads the entry `name`, if present, within every bound.
    pub(crate) fn read(&mut self, out: &mut Out<'_>, name: &str) -> Result<Option<Vec<u8>>, Failure> {
        let Some(index) = self.archive.index_for_name(name) else {
            return Ok(None);
        };
        self.read_index(out, index).map(Some)
    }

    pub(crate) fn read_index(&mut self, out: &mut Out<'_>, index: usize) -> Result<Vec<u8>, Failure> {
        let path = self.path.clone();
        out.entries += 1;
        if out.entries > out.bounds.max_entries {
            return Err(limit(&path, format!("压缩条目总数超过上限 {} 个", out.bounds.max_entries)));
        }
        let entry = self.archive.by_index(index).map_err(|e| zip_error(&path, e))?;
        let name = entry.name().map_err(|e| zip_error(&path, e))?.into_owned();
        let here = format!("{path}/{name}");
        if entry.encrypted() {
            return Err(Failure {
                kind: FailureKind::Encrypted, file: here, message: "条目已加密，无法读取".into()
            });
        }
        let size = entry.size();
        let packed = entry.compressed_size().max(1);
        if size > RATIO_FLOOR && size / packed > u64::from(out.bounds.max_ratio) {
            return Err(limit(
                &here,
                format!(
                    "疑似压缩炸弹：{} 字节压缩后仅 {} 字节（压缩比 {}:1，上限 {}:1）",
                    size,
                    packed,
                    size / packed,
                    out.bounds.max_ratio
                ),
            ));
        }
        let left = out.bounds.max_total_bytes.saturating_sub(out.archive_bytes);
        if size > left {
            return Err(limit(&here, format!("解压后总大小超过上限 {} MiB", out.bounds.max_total_bytes >> 20)));
        }
        let mut data = Vec::with_capacity(size.min(1 << 20) as usize);
        // Cut the inflater off just past the declared size: a header that
        // lies about the size cannot make us inflate more than the budget.
        entry.take(size + 1).read_to_end(&mut data).map_err(|e| malformed(&here, format!("条目无法解压：{e}")))?;
        if data.len() as u64 != size {
            return Err(malformed(&here, "条目解压后的大小与其声明不符（文件损坏或被篡改）"));
        }
        out.archive_bytes += size;
        Ok(data)
    }
}

/// Reads a ZIP container: a DOCX or XLSX by its parts, otherwise an archive
/// whose entries are read as files of their own.
///
/// A file named `.ofd` or declared `application/ofd` is read as OFD and must
/// have its `OFD.xml`; it is never read as a plain archive.
pub(crate) fn read_zip(
    out: &mut Out<'_>,
    path: &str,
    bytes: &[u8],
    depth: u32,
    ofd: bool,
) -> Result<&'static str, Failure> {
    let mut zip = Zip::open(out, path, bytes)?;
    if ofd || zip.has("OFD.xml") {
        crate::ofd::read(out, &mut zip, depth)?;
        return Ok("ofd");
    }
    if zip.has("word/document.xml") {
        crate::docx::read(out, &mut zip)?;
        return Ok("docx");
    }
    if zip.has("xl/workbook.xml") {
        crate::xlsx::read(out, &mut zip)?;
        return Ok("xlsx");
    }
    if depth >= out.bounds.max_depth {
        return Err(limit(path, format!("压缩文件嵌套超过 {} 层", out.bounds.max_depth)));
    }
    for index in 0..zip.archive.len() {
        let name = match zip.archive.name_for_index(index) {
            Some(Ok(n)) => n.into_owned(),
            Some(Err(e)) => return Err(zip_error(path, e)),
            None => continue,
        };
        if name.ends_with('/') {
            continue;
        }
        let data = zip.read_index(out, index)?;
        read_file(out, &format!("{path}/{name}"), "", &data, depth + 1)?;
    }
    Ok("zip")
}
