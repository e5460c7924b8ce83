//! Reading images and scanned pages: Tesseract (and, for a page of a PDF
//! that has no text layer, poppler's `pdftoppm` to rasterise it) run as a
//! **bounded child process**, never in the gateway's own process.
//!
//! These are native parsers of untrusted files, so each run gets:
//! - a deadline (the process group is killed when it passes) and a CPU-time
//!   limit a little above it (`RLIMIT_CPU`);
//! - an address-space cap (`RLIMIT_AS`): a decompression bomb of an image
//!   makes the child fail, not the gateway;
//! - no files: input on stdin, output on stdout read up to a byte budget,
//!   `RLIMIT_FSIZE` 0 (writing any file kills it), no core dumps;
//! - no network where the kernel lets us (`unshare(CLONE_NEWNET)` as root;
//!   otherwise the tools never open sockets anyway), an empty environment
//!   but for `OMP_THREAD_LIMIT=1` and a C locale, and its own session so the
//!   whole group is killed.
//!
//! The output is Tesseract's TSV (one row per word with its box and
//! confidence), grouped here into lines with their boxes. Whatever goes
//! wrong is an [`OcrError`] the review turns into META-002 ("not
//! scannable"): never a silent pass.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// How OCR runs (the policy's `[ocr]`).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct OcrSettings {
    /// Tesseract's executable (a name looked up on `PATH`, or a path).
    pub command: PathBuf,
    /// Its languages, e.g. `chi_sim+eng`.
    pub languages: String,
    /// poppler's `pdftoppm`, which rasterises image-only PDF pages.
    pub rasterizer: PathBuf,
    /// Deadline of one run (one image or page), ms.
    pub deadline_ms: u64,
    /// Address-space cap of one run, MiB.
    pub memory_mib: u32,
    /// Pages of one file read at the most; the rest are reported unread.
    pub max_pages: u32,
}

impl Default for OcrSettings {
    fn default() -> Self {
        OcrSettings {
            command: "tesseract".into(),
            languages: "chi_sim+eng".into(),
            rasterizer: "pdftoppm".into(),
            deadline_ms: 30_000,
            memory_mib: 1024,
            max_pages: 20,
        }
    }
}

/// Bytes of output read from one run at the most (TSV of a dense page is
/// well under a megabyte; a rasterised page is a few).
const MAX_OUTPUT: usize = 64 << 20;
/// The long side of a rasterised page, pixels (about 300 dpi for A4).
const RASTER_PIXELS: u32 = 3000;
/// A line whose mean word confidence is below this is dropped as noise.
const MIN_LINE_CONFIDENCE: f32 = 30.0;

/// Why an image or page could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OcrError {
    /// Tesseract (or a language, or the rasteriser) is not installed.
    #[error("文字识别（OCR）不可用：{0}")]
    Unavailable(String),
    /// The deadline passed; the process group was killed.
    #[error("文字识别超时（{0} 毫秒）")]
    TimedOut(u64),
    /// The tool failed (a memory cap hit, a malformed image).
    #[error("文字识别失败：{0}")]
    Failed(String),
}

/// A line of recognised text and where it is on the page.
#[derive(Debug, Clone, PartialEq)]
pub struct OcrLine {
    /// The text, words joined as written (no spaces between Chinese characters).
    pub text: String,
    /// Left, top, width, height in pixels of the image read.
    pub bbox: [u32; 4],
    /// Mean confidence of its words, 0–100.
    pub confidence: f32,
}

/// The OCR engine as a policy configures it, checked once when loaded.
#[derive(Debug, Clone)]
pub struct Ocr {
    settings: OcrSettings,
    /// Why it cannot run here, if it cannot (checked at load).
    unavailable: Option<String>,
}

/// The image formats Tesseract (leptonica) reads that attachments come in.
pub fn image_format(bytes: &[u8]) -> Option<&'static str> {
    match bytes {
        [0x89, b'P', b'N', b'G', ..] => Some("png"),
        [0xFF, 0xD8, 0xFF, ..] => Some("jpeg"),
        [b'I', b'I', 0x2A, 0x00, ..] | [b'M', b'M', 0x00, 0x2A, ..] => Some("tiff"),
        [b'B', b'M', ..] => Some("bmp"),
        _ => None,
    }
}

impl Ocr {
    /// Checks that Tesseract runs and has every language; remembers why
    /// not if it does not (reviews then report what they could not read).
    pub fn load(settings: OcrSettings) -> Ocr {
        let unavailable = check(&settings).err();
        if let Some(why) = &unavailable {
            tracing::warn!(%why, "OCR is unavailable: images and scanned pages will be reported as not reviewed");
        }
        Ocr { settings, unavailable }
    }

    /// The settings in force.
    pub fn settings(&self) -> &OcrSettings {
        &self.settings
    }

    /// Whether OCR can run on this machine.
    pub fn available(&self) -> Result<(), OcrError> {
        match &self.unavailable {
            Some(why) => Err(OcrError::Unavailable(why.clone())),
            None => Ok(()),
        }
    }

    /// Reads an image (PNG, JPEG, TIFF, BMP).
    pub fn image(&self, bytes: &[u8]) -> Result<Vec<OcrLine>, OcrError> {
        self.available()?;
        let s = &self.settings;
        let args = ["stdin", "stdout", "-l", s.languages.as_str(), "--psm", "3", "tsv"];
        let out = bounded_run(&s.command, &args, bytes, s.deadline_ms, s.memory_mib)?;
        let tsv = String::from_utf8(out).map_err(|_| OcrError::Failed("输出不是 UTF-8 文本".into()))?;
        Ok(lines(&tsv))
    }

    /// Rasterises page `page` (1-based) of a PDF and reads it.
    pub fn pdf_page(&self, pdf: &[u8], page: u32) -> Result<Vec<OcrLine>, OcrError> {
        self.available()?;
        let s = &self.settings;
        let (page, scale) = (page.to_string(), RASTER_PIXELS.to_string());
        let args = ["-png", "-gray", "-scale-to", &scale, "-f", &page, "-l", &page, "-singlefile", "-"];
        let png = bounded_run(&s.rasterizer, &args, pdf, s.deadline_ms, s.memory_mib)?;
        if image_format(&png) != Some("png") {
            return Err(OcrError::Failed("无法将该页转换为图像".into()));
        }
        self.image(&png)
    }
}

/// Runs `command --list-langs` within the limits and checks every language.
fn check(s: &OcrSettings) -> Result<(), String> {
    let out =
        bounded_run(&s.command, &["--list-langs"], &[], s.deadline_ms, s.memory_mib).map_err(|e| e.to_string())?;
    let listed = String::from_utf8_lossy(&out);
    let have: Vec<&str> = listed.lines().map(str::trim).collect();
    let missing: Vec<&str> = s.languages.split('+').filter(|l| !have.contains(l)).collect();
    if !missing.is_empty() {
        return Err(format!("缺少语言包 {}（Debian：tesseract-ocr-chi-sim 等）", missing.join("、")));
    }
    bounded_run(&s.rasterizer, &["-v"], &[], s.deadline_ms, s.memory_mib)
        .map(drop)
        .map_err(|e| format!("缺少 PDF 页面转换工具 {}：{e}", s.rasterizer.display()))
}

/// Groups TSV word rows (level 5) into lines (by block, paragraph and line
/// number), joining words as written: a space only between two words whose
/// facing characters are both ASCII letters or digits.
pub fn lines(tsv: &str) -> Vec<OcrLine> {
    struct Acc {
        key: (u32, u32, u32, u32),
        text: String,
        bbox: [u32; 4],
        confidence: f32,
        words: u32,
    }
    let mut out = Vec::new();
    let mut current: Option<Acc> = None;
    let flush = |acc: Option<Acc>, out: &mut Vec<OcrLine>| {
        if let Some(a) = acc.filter(|a| a.words > 0) {
            let confidence = a.confidence / a.words as f32;
            if confidence >= MIN_LINE_CONFIDENCE && !a.text.trim().is_empty() {
                out.push(OcrLine { text: a.text, bbox: a.bbox, confidence });
            }
        }
    };
    for row in tsv.lines().skip(1) {
        let cols: Vec<&str> = row.splitn(12, '\t').collect();
        if cols.len() < 12 || cols[0] != "5" {
            continue;
        }
        let num = |i: usize| cols[i].trim().parse::<u32>().ok();
        let (Some(page), Some(block), Some(par), Some(line)) = (num(1), num(2), num(3), num(4)) else { continue };
        let (Some(left), Some(top), Some(width), Some(height)) = (num(6), num(7), num(8), num(9)) else { continue };
        let Ok(conf) = cols[10].trim().parse::<f32>() else { continue };
        let word = cols[11].trim();
        if word.is_empty() || conf < 0.0 {
            continue;
        }
        let key = (page, block, par, line);
        if current.as_ref().is_none_or(|a| a.key != key) {
            flush(current.take(), &mut out);
            current =
                Some(Acc { key, text: String::new(), bbox: [left, top, width, height], confidence: 0.0, words: 0 });
        }
        let acc = current.as_mut().expect("set above");
        let joins_ascii = acc.text.chars().last().is_some_and(|c| c.is_ascii_alphanumeric())
            && word.chars().next().is_some_and(|c| c.is_ascii_alphanumeric());
        if joins_ascii {
            acc.text.push(' ');
        }
        acc.text.push_str(word);
        let [l, t, w, h] = acc.bbox;
        let (right, bottom) = ((l + w).max(left + width), (t + h).max(top + height));
        let (l, t) = (l.min(left), t.min(top));
        acc.bbox = [l, t, right - l, bottom - t];
        acc.confidence += conf;
        acc.words += 1;
    }
    flush(current, &mut out);
    out
}

/// Runs `command args` with `input` on stdin under the limits above and
/// returns its stdout; a non-zero exit, a signal, a deadline or output over
/// the budget is an error.
fn bounded_run(
    command: &Path,
    args: &[&str],
    input: &[u8],
    deadline_ms: u64,
    memory_mib: u32,
) -> Result<Vec<u8>, OcrError> {
    let mut cmd = Command::new(command);
    cmd.args(args)
        .env_clear()
        .env("OMP_THREAD_LIMIT", "1")
        .env("LC_ALL", "C")
        .env("PATH", "/usr/local/bin:/usr/bin:/bin")
        .current_dir("/")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    if let Some(prefix) = std::env::var_os("TESSDATA_PREFIX") {
        cmd.env("TESSDATA_PREFIX", prefix);
    }
    let cpu_seconds = deadline_ms.div_ceil(1000) + 1;
    let memory = u64::from(memory_mib) << 20;
    // SAFETY: between fork and exec the closure calls only async-signal-safe
    // functions (setsid, setrlimit, unshare) and allocates nothing.
    unsafe {
        use std::os::unix::process::CommandExt;
        cmd.pre_exec(move || confine(cpu_seconds, memory));
    }
    let mut child = cmd.spawn().map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => OcrError::Unavailable(format!("找不到程序 {}", command.display())),
        _ => OcrError::Unavailable(format!("无法启动 {}：{e}", command.display())),
    })?;
    let outcome = supervise(&mut child, input, Duration::from_millis(deadline_ms));
    if outcome.is_err() {
        kill_group(&child);
    }
    let _ = child.wait();
    outcome
}

/// In the child, before exec: its own session, the resource limits, and no
/// network namespace of the host's where the kernel allows it.
fn confine(cpu_seconds: u64, memory: u64) -> std::io::Result<()> {
    let limit = |resource, value: u64| {
        let lim = libc::rlimit { rlim_cur: value as libc::rlim_t, rlim_max: value as libc::rlim_t };
        // SAFETY: setrlimit with a valid pointer to a local struct.
        if unsafe { libc::setrlimit(resource, &lim) } != 0 {
            return Err(std::io::Error::last_os_error());
        }
        Ok(())
    };
    // SAFETY: plain system calls without pointers.
    unsafe {
        libc::setsid();
        // Without CAP_SYS_ADMIN this fails (EPERM) and the tool still opens
        // no sockets: it is defence in depth, not the only guard.
        let _ = libc::unshare(libc::CLONE_NEWNET);
    }
    limit(libc::RLIMIT_CPU, cpu_seconds)?;
    limit(libc::RLIMIT_AS, memory)?;
    limit(libc::RLIMIT_FSIZE, 0)?;
    limit(libc::RLIMIT_CORE, 0)?;
    Ok(())
}

/// Feeds stdin, reads stdout and stderr within the budget, and waits for
/// the exit within the deadline.
fn supervise(child: &mut Child, input: &[u8], deadline: Duration) -> Result<Vec<u8>, OcrError> {
    let started = Instant::now();
    let mut stdin = child.stdin.take().expect("piped");
    let mut stdout = child.stdout.take().expect("piped");
    let mut stderr = child.stderr.take().expect("piped");
    let input = input.to_vec();
    // A child that stops reading (it died, or it reads no input) makes the
    // write fail with EPIPE, which ends this thread.
    let writer = std::thread::spawn(move || {
        let _ = stdin.write_all(&input);
    });
    let reader = std::thread::spawn(move || {
        let mut out = Vec::new();
        let read = (&mut stdout).take(MAX_OUTPUT as u64 + 1).read_to_end(&mut out);
        read.map(|_| out)
    });
    let errors = std::thread::spawn(move || {
        let mut tail = Vec::new();
        let _ = (&mut stderr).take(64 << 10).read_to_end(&mut tail);
        tail
    });
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if started.elapsed() >= deadline => {
                kill_group(child);
                let _ = child.wait();
                return Err(OcrError::TimedOut(deadline.as_millis() as u64));
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(10)),
            Err(e) => return Err(OcrError::Failed(format!("等待子进程失败：{e}"))),
        }
    };
    let _ = writer.join();
    let out = reader
        .join()
        .map_err(|_| OcrError::Failed("读取输出失败".into()))?
        .map_err(|e| OcrError::Failed(format!("读取输出失败：{e}")))?;
    let tail = errors.join().unwrap_or_default();
    if out.len() > MAX_OUTPUT {
        return Err(OcrError::Failed("输出超出上限".into()));
    }
    if !status.success() {
        let why = String::from_utf8_lossy(&tail);
        let last = why.lines().rev().find(|l| !l.trim().is_empty()).unwrap_or("").trim();
        let what = match std::os::unix::process::ExitStatusExt::signal(&status) {
            Some(signal) => format!("进程被信号 {signal} 终止（可能超出内存或时间上限）"),
            None => format!("退出码 {}", status.code().unwrap_or(-1)),
        };
        return Err(OcrError::Failed(if last.is_empty() { what } else { format!("{what}：{last}") }));
    }
    Ok(out)
}

/// Kills the child's whole process group (it leads its own session).
fn kill_group(child: &Child) {
    if let Ok(pid) = libc::pid_t::try_from(child.id()) {
        // SAFETY: a plain system call; the group is the child's own.
        unsafe {
            libc::kill(-pid, libc::SIGKILL);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TSV: &str = "level\tpage_num\tblock_num\tpar_num\tline_num\tword_num\tleft\ttop\twidth\theight\tconf\ttext
1\t1\t0\t0\t0\t0\t0\t0\t1240\t600\t-1\t
4\t1\t1\t1\t1\t0\t199\t50\t686\t46\t-1\t
5\t1\t1\t1\t1\t1\t199\t62\t86\t32\t91.7\t2026
5\t1\t1\t1\t1\t2\t300\t57\t48\t39\t92.5\t年
5\t1\t1\t1\t1\t3\t347\t46\t33\t58\t97.0\t公示
5\t1\t1\t1\t2\t1\t59\t240\t40\t30\t90.0\t1
5\t1\t1\t1\t2\t2\t180\t240\t90\t30\t88.0\t王小明
5\t1\t1\t1\t2\t3\t380\t240\t180\t30\t95.0\t13812345678
5\t1\t1\t1\t2\t4\t650\t240\t300\t30\t94.0\t320102198001011238
5\t1\t1\t1\t3\t1\t59\t400\t40\t30\t12.0\t~
";

    #[test]
    fn words_join_into_lines_with_boxes() {
        let got = lines(TSV);
        assert_eq!(got.len(), 2, "{got:?}");
        assert_eq!(got[0].text, "2026年公示");
        assert_eq!(got[0].bbox, [199, 46, 181, 58]);
        assert_eq!(got[1].text, "1王小明13812345678 320102198001011238");
        assert!(got.iter().all(|l| l.confidence >= MIN_LINE_CONFIDENCE), "the noise line is dropped");
    }

    #[test]
    fn images_are_told_by_their_bytes() {
        assert_eq!(image_format(b"\x89PNG\r\n\x1a\n"), Some("png"));
        assert_eq!(image_format(&[0xFF, 0xD8, 0xFF, 0xE0]), Some("jpeg"));
        assert_eq!(image_format(b"%PDF-1.7"), None);
    }

    fn script(body: &str) -> (tempfile::TempDir, PathBuf) {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("tool.sh");
        std::fs::write(&path, format!("#!/bin/sh\n{body}\n")).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
        (dir, path)
    }

    #[test]
    fn a_hanging_tool_is_killed_at_the_deadline() {
        let (_dir, tool) = script("sleep 30");
        let started = Instant::now();
        let got = bounded_run(&tool, &[], b"x", 300, 256);
        assert_eq!(got, Err(OcrError::TimedOut(300)));
        assert!(started.elapsed() < Duration::from_secs(5), "killed, not waited for");
    }

    #[test]
    fn a_tool_over_its_memory_cap_fails_closed() {
        // `head -c` into a shell variable grows the shell's heap past the cap.
        let (_dir, tool) = script("x=$(head -c 300000000 /dev/zero | tr '\\0' a); echo ${#x}");
        let got = bounded_run(&tool, &[], b"", 10_000, 64);
        assert!(matches!(got, Err(OcrError::Failed(_))), "{got:?}");
    }

    #[test]
    fn a_tool_may_not_write_files() {
        let (dir, tool) = script(&format!("echo leaked > {}/out.txt; echo done", "$1"));
        let target = dir.path().to_str().unwrap().to_owned();
        let got = bounded_run(&tool, &[&target], b"", 5_000, 256);
        let written = std::fs::read(dir.path().join("out.txt")).unwrap_or_default();
        assert!(written.is_empty(), "RLIMIT_FSIZE 0 keeps files empty: {got:?}");
    }

    #[test]
    fn a_missing_tool_is_unavailable() {
        let got = bounded_run(Path::new("/nonexistent/tesseract"), &[], b"", 1_000, 64);
        assert!(matches!(got, Err(OcrError::Unavailable(_))), "{got:?}");
        let ocr = Ocr::load(OcrSettings { command: "/nonexistent/tesseract".into(), ..OcrSettings::default() });
        assert!(matches!(ocr.image(b"\x89PNG"), Err(OcrError::Unavailable(_))));
    }

    #[test]
    fn output_over_the_budget_fails() {
        let (_dir, tool) = script(&format!("head -c {} /dev/zero", MAX_OUTPUT + 10));
        let got = bounded_run(&tool, &[], b"", 20_000, 256);
        assert!(matches!(got, Err(OcrError::Failed(_))), "{got:?}");
    }
}
