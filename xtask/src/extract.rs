//! Safe, deterministic extraction of source tarballs.
//!
//! `unpack` reads a `.tar`, `.tar.gz`, `.tar.bz2` or `.tar.xz` (recognised by
//! its magic bytes, not its name), strips the single top-level directory and
//! writes the tree into `DEST.partial`, renamed to `DEST` only once every
//! entry is out and the archive's bytes turned out to have the expected
//! sha256. The hash is taken over the very bytes that were unpacked, while
//! unpacking (no second read, no window for the file to change between the
//! check and the use): whatever an earlier quick check trusted, a tree is
//! only ever made from the pinned tarball.
//!
//! It refuses anything that could write outside the tree or create something
//! other than files, directories and links: absolute paths, `..`, symbolic
//! links whose target leaves the tree (or climbs after descending), hard
//! links to anything but a file already extracted, writes through a symbolic
//! link, device nodes and fifos. Ownership is never set; modes are normalised
//! to 0755/0644 whatever the umask; files keep the archive's mtime, so the
//! same tarball always gives the same tree.

use std::collections::HashSet;
use std::fs::{File, OpenOptions};
use std::io::{self, BufRead, BufReader, Read};
use std::os::unix::fs::PermissionsExt;
use std::path::Component;
use std::sync::mpsc::{Receiver, SyncSender};
use std::time::{Duration, SystemTime};

use anyhow::{bail, Context, Result};
use camino::{Utf8Path, Utf8PathBuf};
use sha2::{Digest, Sha256};
use tar::EntryType;

use crate::fsutil;

pub mod patch;

/// Unpack `archive`, whose sha256 must be `sha256` (lower-case hex), into
/// `dest` (replaced if it exists), stripping the archive's single top-level
/// directory, then apply `patches` ([`patch::apply`]) before the tree takes
/// its place. On any error, a wrong sha256 or a patch that does not apply
/// included, `dest` is left as it was and nothing else remains.
pub fn unpack(
    archive: &Utf8Path,
    sha256: &str,
    dest: &Utf8Path,
    patches: &[Utf8PathBuf],
) -> Result<()> {
    let partial = fsutil::partial_path(dest);
    fsutil::remove_dir_all_if_exists(&partial)?;
    let result =
        unpack_into(archive, sha256, &partial).and_then(|()| patch::apply(&partial, patches));
    if let Err(e) = result {
        let _ = std::fs::remove_dir_all(&partial);
        return Err(e.context(format!("cannot unpack {archive} into {dest}")));
    }
    fsutil::remove_dir_all_if_exists(dest)?;
    fsutil::rename(&partial, dest)
}

/// Wrap `input` in the decoder its first bytes (`magic`) call for.
pub fn decompressor<'a, R: Read + Send + Sync + 'a>(
    magic: &[u8],
    input: R,
) -> Box<dyn Read + Send + Sync + 'a> {
    if magic.starts_with(&[0x1f, 0x8b]) {
        Box::new(flate2::read::MultiGzDecoder::new(input))
    } else if magic.starts_with(b"BZh") {
        Box::new(bzip2::read::MultiBzDecoder::new(input))
    } else if magic.starts_with(&[0xfd, b'7', b'z', b'X', b'Z', 0]) {
        Box::new(xz2::read::XzDecoder::new_multi_decoder(input))
    } else {
        Box::new(input)
    }
}

fn unpack_into(archive: &Utf8Path, sha256: &str, root: &Utf8Path) -> Result<()> {
    std::fs::create_dir_all(root).with_context(|| format!("cannot create {root}"))?;
    set_mode(root, 0o755)?;
    let file = File::open(archive).with_context(|| format!("cannot open {archive}"))?;
    let mut raw = Hashing {
        inner: file,
        hasher: Sha256::new(),
    };
    let mut state = State {
        root,
        top: None,
        symlinks: HashSet::new(),
        dirs: Vec::new(),
    };
    // Decompress (and hash) on a second thread while this one writes files:
    // the kernel's 1.5 GB of tar take half the time on two cores.
    std::thread::scope(|scope| -> Result<()> {
        let (tx, rx) = std::sync::mpsc::sync_channel(16);
        let raw = &mut raw;
        scope.spawn(move || read_all(raw, tx));
        let mut tar = tar::Archive::new(ChannelReader {
            rx,
            chunk: Vec::new(),
            pos: 0,
        });
        let entries = tar
            .entries()
            .with_context(|| format!("{archive}: not a tar archive"))?;
        for entry in entries {
            let mut entry = entry.with_context(|| format!("{archive}: corrupt tar archive"))?;
            if let Err(e) = state.entry(&mut entry) {
                let name = String::from_utf8_lossy(&entry.path_bytes()).into_owned();
                return Err(e.context(format!("{archive}: entry `{name}`")));
            }
        }
        Ok(())
    })?;
    let actual = hex::encode(raw.hasher.finalize());
    if actual != sha256 {
        bail!(
            "sha256 mismatch for {archive}\n  expected {sha256}\n  actual   {actual}\n  \
             likely cause: the file changed after `cargo xtask fetch` verified it (its quick \
             check trusts a file whose inode, size, mtime and ctime are unchanged). Nothing was \
             unpacked. Run `cargo xtask verify`, which rehashes every source and deletes a bad \
             one from the download cache, then `cargo xtask fetch`."
        );
    }
    if state.top.is_none() {
        bail!("{archive}: the archive is empty");
    }
    // Directory mtimes last, deepest first: creating files changed them.
    for (dir, mtime) in state.dirs.iter().rev() {
        let f = File::open(dir).with_context(|| format!("cannot open {dir}"))?;
        f.set_modified(*mtime)
            .with_context(|| format!("cannot set the mtime of {dir}"))?;
    }
    Ok(())
}

/// A reader that hashes everything read through it.
struct Hashing<R> {
    inner: R,
    hasher: Sha256,
}

impl<R: Read> Read for Hashing<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hasher.update(&buf[..n]);
        Ok(n)
    }
}

/// The second thread: decompress `raw` into `tx`, then read what is left
/// of it (past the tar's end-of-archive blocks, or after the receiver gave
/// up) so that the hash covers the whole file.
fn read_all<R: Read + Send + Sync>(raw: &mut Hashing<R>, tx: SyncSender<io::Result<Vec<u8>>>) {
    {
        let mut input = BufReader::with_capacity(1 << 20, &mut *raw);
        let magic = match input.fill_buf() {
            Ok(m) => m.to_vec(),
            Err(e) => {
                let _ = tx.send(Err(e));
                return;
            }
        };
        decompress_into(decompressor(&magic, input), &tx);
    }
    if let Err(e) = io::copy(raw, &mut io::sink()) {
        let _ = tx.send(Err(e));
    }
}

/// Read `input` in 1 MiB chunks into `tx` until the end, an error, or the
/// receiver hanging up.
fn decompress_into(mut input: impl Read, tx: &SyncSender<io::Result<Vec<u8>>>) {
    loop {
        let mut chunk = vec![0u8; 1 << 20];
        let mut filled = 0;
        while filled < chunk.len() {
            match input.read(&mut chunk[filled..]) {
                Ok(0) => break,
                Ok(n) => filled += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => {
                    let _ = tx.send(Err(e));
                    return;
                }
            }
        }
        if filled == 0 {
            return;
        }
        chunk.truncate(filled);
        if tx.send(Ok(chunk)).is_err() {
            return;
        }
    }
}

/// The reading end of `decompress_into`.
struct ChannelReader {
    rx: Receiver<io::Result<Vec<u8>>>,
    chunk: Vec<u8>,
    pos: usize,
}

impl Read for ChannelReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.pos == self.chunk.len() {
            match self.rx.recv() {
                Ok(chunk) => {
                    self.chunk = chunk?;
                    self.pos = 0;
                }
                Err(_) => return Ok(0), // the sender finished
            }
        }
        let n = buf.len().min(self.chunk.len() - self.pos);
        buf[..n].copy_from_slice(&self.chunk[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}

struct State<'a> {
    root: &'a Utf8Path,
    /// The archive's single top-level directory, once seen.
    top: Option<String>,
    /// Symbolic links created so far (relative paths): nothing may be
    /// written through them.
    symlinks: HashSet<Utf8PathBuf>,
    dirs: Vec<(Utf8PathBuf, SystemTime)>,
}

impl State<'_> {
    fn entry<R: Read>(&mut self, entry: &mut tar::Entry<R>) -> Result<()> {
        let kind = entry.header().entry_type();
        if matches!(kind, EntryType::XGlobalHeader | EntryType::XHeader) {
            return Ok(()); // pax metadata (git archive writes a global header)
        }
        let path = entry.path().context("unreadable path")?.into_owned();
        let Some(rel) = self.strip_top(&path, kind)? else {
            return Ok(()); // the top-level directory itself
        };
        self.check_no_symlink_on_the_way(&rel)?;
        let dest = self.root.join(&rel);
        let mtime =
            SystemTime::UNIX_EPOCH + Duration::from_secs(entry.header().mtime().unwrap_or(0));
        match kind {
            EntryType::Regular | EntryType::Continuous => {
                let exec = entry.header().mode().unwrap_or(0o644) & 0o111 != 0;
                let mut f = create_new(&dest)?;
                io::copy(entry, &mut f).with_context(|| format!("cannot write {dest}"))?;
                f.set_permissions(std::fs::Permissions::from_mode(if exec {
                    0o755
                } else {
                    0o644
                }))
                .with_context(|| format!("cannot chmod {dest}"))?;
                f.set_modified(mtime)
                    .with_context(|| format!("cannot set the mtime of {dest}"))?;
            }
            EntryType::Directory => {
                if self.symlinks.contains(&rel) {
                    bail!("directory over the symbolic link `{rel}`: refusing");
                }
                std::fs::create_dir_all(&dest).with_context(|| format!("cannot create {dest}"))?;
                set_mode(&dest, 0o755)?;
                self.dirs.push((dest, mtime));
            }
            EntryType::Symlink => {
                let target = entry
                    .link_name()
                    .context("unreadable link target")?
                    .context("symbolic link without a target")?;
                let target = utf8(&target)?;
                check_symlink_target(&rel, &target)?;
                remove_existing(&dest)?;
                std::os::unix::fs::symlink(target.as_std_path(), &dest)
                    .with_context(|| format!("cannot create the symbolic link {dest}"))?;
                self.symlinks.insert(rel);
            }
            EntryType::Link => {
                let target = entry
                    .link_name()
                    .context("unreadable link target")?
                    .context("hard link without a target")?;
                let Some(target_rel) = self.strip_top(&target, EntryType::Regular)? else {
                    bail!("hard link to the top-level directory");
                };
                self.check_no_symlink_on_the_way(&target_rel)?;
                let source = self.root.join(&target_rel);
                let is_file = std::fs::symlink_metadata(&source).is_ok_and(|m| m.is_file());
                if !is_file {
                    bail!("hard link to `{target_rel}`, which is not a file extracted earlier: refusing");
                }
                remove_existing(&dest)?;
                std::fs::hard_link(&source, &dest)
                    .with_context(|| format!("cannot link {dest} to {source}"))?;
            }
            EntryType::Char | EntryType::Block | EntryType::Fifo => {
                bail!("device node or fifo: source tarballs have none, refusing")
            }
            other => bail!("unsupported entry type {other:?}: refusing"),
        }
        Ok(())
    }

    /// `path` below the single top-level directory; `None` for that directory.
    fn strip_top(
        &mut self,
        path: &std::path::Path,
        kind: EntryType,
    ) -> Result<Option<Utf8PathBuf>> {
        let path = utf8(path)?;
        let mut parts = Vec::new();
        for c in path.as_std_path().components() {
            match c {
                Component::Normal(p) => parts.push(p.to_str().expect("UTF-8 checked")),
                Component::CurDir => {}
                Component::ParentDir => bail!("path contains `..`: refusing"),
                Component::RootDir | Component::Prefix(_) => bail!("absolute path: refusing"),
            }
        }
        let Some((first, rest)) = parts.split_first() else {
            bail!("empty path");
        };
        match &self.top {
            Some(top) if top != first => bail!(
                "outside the top-level directory `{top}/`: expected a tarball with a single top-level directory"
            ),
            Some(_) => {}
            None => self.top = Some((*first).to_owned()),
        }
        if rest.is_empty() {
            if kind != EntryType::Directory {
                bail!("not inside a top-level directory: expected a tarball with a single top-level directory");
            }
            return Ok(None);
        }
        Ok(Some(rest.iter().collect()))
    }

    fn check_no_symlink_on_the_way(&self, rel: &Utf8Path) -> Result<()> {
        for dir in rel.ancestors().skip(1) {
            if self.symlinks.contains(dir) {
                bail!("goes through the symbolic link `{dir}`: refusing");
            }
        }
        Ok(())
    }
}

/// A link at `link` (relative to the tree) may point to `target` when the
/// target is relative, its `..` come first and do not climb above the tree.
/// (A `..` after a normal component could climb out through another link.)
fn check_symlink_target(link: &Utf8Path, target: &Utf8Path) -> Result<()> {
    if target.is_absolute() {
        bail!("symbolic link to the absolute path `{target}`: refusing");
    }
    let depth = link.components().count() - 1;
    let mut ups = 0;
    let mut descended = false;
    for c in target.components() {
        match c.as_str() {
            ".." if descended => {
                bail!("symbolic link to `{target}`: `..` after a directory name, refusing")
            }
            ".." => ups += 1,
            "." => {}
            _ => descended = true,
        }
    }
    if ups > depth {
        bail!("symbolic link to `{target}` points outside the tree: refusing");
    }
    Ok(())
}

fn create_new(path: &Utf8Path) -> Result<File> {
    let open = || OpenOptions::new().write(true).create_new(true).open(path);
    match open() {
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
            // A later entry replaces an earlier one (tar semantics); the
            // earlier one is a file or link we created, never followed.
            remove_existing(path)?;
            open()
        }
        r => r,
    }
    .with_context(|| format!("cannot create {path}"))
}

fn remove_existing(path: &Utf8Path) -> Result<()> {
    match std::fs::symlink_metadata(path) {
        Ok(m) if m.is_dir() => bail!("{path} exists as a directory"),
        Ok(_) => std::fs::remove_file(path).with_context(|| format!("cannot remove {path}")),
        Err(_) => Ok(()),
    }
}

fn set_mode(path: &Utf8Path, mode: u32) -> Result<()> {
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
        .with_context(|| format!("cannot chmod {path}"))
}

fn utf8(path: &std::path::Path) -> Result<Utf8PathBuf> {
    Utf8PathBuf::from_path_buf(path.to_owned())
        .map_err(|p| anyhow::anyhow!("path `{}` is not UTF-8", p.display()))
}

#[cfg(test)]
mod tests;
