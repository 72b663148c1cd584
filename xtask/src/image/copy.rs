//! Copy the input image to the output quickly and without filling holes:
//! a reflink (FICLONE) where the filesystem shares extents (btrfs, XFS),
//! else only the data extents (SEEK_DATA/SEEK_HOLE) with copy_file_range,
//! which the kernel may still do without passing the bytes through us.

use std::fs::File;
use std::io;
use std::os::fd::AsRawFd;
use std::os::unix::fs::FileExt;

/// How the copy was made, for the user.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    Reflink,
    Sparse,
}

impl std::fmt::Display for Method {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Method::Reflink => "reflink (shared extents)",
            Method::Sparse => "sparse copy (data extents only, copy_file_range)",
        })
    }
}

/// Copy all of `src` into the empty file `dst`.
pub fn copy(src: &File, dst: &File) -> io::Result<Method> {
    const FICLONE: libc::c_ulong = 0x4004_9409;
    // SAFETY: FICLONE takes the source descriptor as its argument; both
    // descriptors are open for the duration of the call.
    if unsafe { libc::ioctl(dst.as_raw_fd(), FICLONE as _, src.as_raw_fd()) } == 0 {
        return Ok(Method::Reflink);
    }
    let len = src.metadata()?.len();
    dst.set_len(len)?;
    let mut pos = 0u64;
    while pos < len {
        let data = match seek(src, pos, libc::SEEK_DATA) {
            Ok(d) => d,
            Err(e) if e.raw_os_error() == Some(libc::ENXIO) => break, // only a hole left
            Err(e) if e.raw_os_error() == Some(libc::EINVAL) => pos,  // no SEEK_DATA here: copy all
            Err(e) => return Err(e),
        };
        let hole = seek(src, data, libc::SEEK_HOLE).unwrap_or(len).min(len);
        copy_range(src, dst, data, hole)?;
        pos = hole;
    }
    Ok(Method::Sparse)
}

fn seek(f: &File, pos: u64, whence: libc::c_int) -> io::Result<u64> {
    // SAFETY: lseek on an open descriptor; the result is checked.
    let r = unsafe { libc::lseek(f.as_raw_fd(), pos as libc::off_t, whence) };
    if r < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(r as u64)
    }
}

fn copy_range(src: &File, dst: &File, start: u64, end: u64) -> io::Result<()> {
    let mut off_in = start as libc::loff_t;
    let mut off_out = start as libc::loff_t;
    while (off_in as u64) < end {
        let want = (end - off_in as u64).min(1 << 30) as usize;
        // SAFETY: both descriptors are open and the offsets are ours.
        let n = unsafe {
            libc::copy_file_range(
                src.as_raw_fd(),
                &mut off_in,
                dst.as_raw_fd(),
                &mut off_out,
                want,
                0,
            )
        };
        if n < 0 {
            let e = io::Error::last_os_error();
            return match e.raw_os_error() {
                Some(libc::EXDEV | libc::ENOSYS | libc::EOPNOTSUPP | libc::EINVAL) => {
                    copy_by_hand(src, dst, off_in as u64, end)
                }
                _ => Err(e),
            };
        }
        if n == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "the input shrank while copying",
            ));
        }
    }
    Ok(())
}

fn copy_by_hand(src: &File, dst: &File, mut pos: u64, end: u64) -> io::Result<()> {
    let mut buf = vec![0u8; 1 << 20];
    while pos < end {
        let n = ((end - pos) as usize).min(buf.len());
        src.read_exact_at(&mut buf[..n], pos)?;
        // Keep runs of zeros as holes in the output.
        if buf[..n].iter().any(|&b| b != 0) {
            dst.write_all_at(&buf[..n], pos)?;
        }
        pos += n as u64;
    }
    Ok(())
}
