//! Where the image comes from, found by its content, not its name: an OCI
//! image layout directory, or an oci-archive (the same layout in a tar).
//! A tar is not unpacked: its index (each entry's offset and size) is read
//! once, and blobs are streamed from their place in the file.

use std::collections::HashMap;
use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};

use std::sync::Arc;

use deploykit::{Error, Result};

/// Where one blob's bytes are: a file, from `offset`, `size` bytes.
#[derive(Debug, Clone)]
pub struct Place {
    /// The file, for messages; for a compressed tar, the file given.
    pub path: PathBuf,
    /// The decompressed copy of a compressed tar, which has no name: read
    /// through this descriptor, which keeps it alive.
    file: Option<Arc<File>>,
    pub offset: u64,
    pub size: u64,
}

impl Place {
    /// The place's bytes through a reader of its own: reads at a position
    /// (pread), so any number of readers share one open file.
    pub fn reader(&self) -> std::io::Result<PlaceReader> {
        let file = match &self.file {
            Some(file) => file.clone(),
            None => Arc::new(File::open(&self.path)?),
        };
        Ok(PlaceReader {
            file,
            pos: self.offset,
            end: self.offset.saturating_add(self.size),
        })
    }
}

/// The bytes of one [`Place`], read at their offsets in the file.
#[derive(Debug)]
pub struct PlaceReader {
    file: Arc<File>,
    pos: u64,
    end: u64,
}

impl Read for PlaceReader {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let want = (self.end - self.pos).min(buf.len() as u64) as usize;
        if want == 0 {
            return Ok(0);
        }
        let n = read_at(&self.file, &mut buf[..want], self.pos)?;
        self.pos += n as u64;
        Ok(n)
    }
}

#[cfg(unix)]
fn read_at(file: &File, buf: &mut [u8], at: u64) -> std::io::Result<usize> {
    std::os::unix::fs::FileExt::read_at(file, buf, at)
}

#[cfg(windows)]
fn read_at(file: &File, buf: &mut [u8], at: u64) -> std::io::Result<usize> {
    std::os::windows::fs::FileExt::seek_read(file, buf, at)
}

/// An image source.
#[derive(Debug)]
pub enum Source {
    /// A directory holding `oci-layout`, `index.json` and `blobs/`.
    Layout(PathBuf),
    /// A tar holding the same; each regular entry's place in the file.
    Archive {
        path: PathBuf,
        entries: HashMap<String, (u64, u64)>,
        /// The decompressed copy of a compressed tar (`path` is the file
        /// given): a file with no name, gone when the last descriptor closes.
        file: Option<Arc<File>>,
    },
    /// A `docker save` tar, classic or Docker 25+ (both have
    /// `manifest.json`); symlink entries resolved to what they point at.
    DockerSave {
        path: PathBuf,
        entries: HashMap<String, (u64, u64)>,
        file: Option<Arc<File>>,
    },
}

impl Source {
    /// Opens `path`, telling the format from what is there.
    pub fn open(path: &Path) -> Result<Self> {
        let shown = path.display();
        let meta =
            std::fs::metadata(path).map_err(|e| Error::input(format!("--from {shown}"), &e))?;
        if meta.is_dir() {
            if !path.join("oci-layout").is_file() || !path.join("index.json").is_file() {
                return Err(Error::usage(format!(
                    "--from {shown}: a directory without oci-layout and index.json is not an OCI image layout"
                )));
            }
            return Ok(Source::Layout(path.to_path_buf()));
        }
        if !meta.is_file() {
            return Err(Error::usage(format!(
                "--from {shown}: not a regular file or a directory (a pipe cannot be read in place: save the image to a file first)"
            )));
        }
        let mut magic = [0u8; 4];
        let read = File::open(path)
            .and_then(|mut f| f.read(&mut magic))
            .map_err(|e| Error::input(format!("--from {shown}"), &e))?;
        let outer = if read >= 2 && magic[..2] == [0x1f, 0x8b] {
            Some("gzip")
        } else if read == 4 && magic == [0x28, 0xb5, 0x2f, 0xfd] {
            Some("zstd")
        } else {
            None
        };
        let Some(outer) = outer else {
            return Self::open_tar(path, None);
        };
        // A compressed tar cannot be read in place (no offsets): it is
        // decompressed once into a temporary file in $TMPDIR that has no
        // name (unlinked at once), read through its descriptor: the system
        // frees it when the process ends, however it ends (a signal, a
        // SIGKILL), and nothing is left behind.
        let temp = decompress(path, outer)?;
        deploykit::cli::note(format!(
            "--from {shown}: a {outer}-compressed tar, decompressed into a temporary file first"
        ));
        Self::open_tar(path, Some(Arc::new(temp)))
    }

    /// The tar at `path`, or its decompressed copy `file`, told apart by
    /// its entries.
    fn open_tar(path: &Path, file: Option<Arc<File>>) -> Result<Self> {
        let shown = path.display();
        let whole = Place {
            path: path.to_path_buf(),
            file: file.clone(),
            offset: 0,
            size: u64::MAX,
        };
        let end = match &file {
            Some(file) => file.metadata(),
            None => std::fs::metadata(path),
        }
        .map(|m| m.len())
        .map_err(|e| Error::input(format!("--from {shown}"), &e))?;
        let reader = whole
            .reader()
            .map_err(|e| Error::input(format!("--from {shown}"), &e))?;
        let entries = index_tar(path, reader, end)?;
        // Docker 25+ writes an OCI layout and manifest.json: the latter
        // says what docker would load, so both forms go one way.
        if entries.contains_key("manifest.json") {
            return Ok(Source::DockerSave {
                path: path.to_path_buf(),
                entries,
                file,
            });
        }
        if entries.contains_key("oci-layout") && entries.contains_key("index.json") {
            return Ok(Source::Archive {
                path: path.to_path_buf(),
                entries,
                file,
            });
        }
        Err(Error::usage(format!(
            "--from {shown}: not an OCI image layout, an oci-archive or a docker save tar"
        )))
    }

    /// Where the file `name` (relative to the layout's root) is.
    pub fn place(&self, name: &str) -> Result<Place> {
        match self {
            Source::Layout(dir) => {
                let path = dir.join(name);
                let size = std::fs::metadata(&path)
                    .map_err(|e| Error::input(format!("{} in the layout", name), &e))?
                    .len();
                Ok(Place {
                    path,
                    file: None,
                    offset: 0,
                    size,
                })
            }
            Source::Archive {
                path,
                entries,
                file,
            }
            | Source::DockerSave {
                path,
                entries,
                file,
            } => {
                let (offset, size) = entries.get(name).copied().ok_or_else(|| {
                    Error::usage(format!("{}: the archive has no {name}", path.display()))
                })?;
                Ok(Place {
                    path: path.clone(),
                    file: file.clone(),
                    offset,
                    size,
                })
            }
        }
    }

    /// The blob `digest` (`sha256:<hex>`).
    pub fn blob(&self, digest: &str) -> Result<Place> {
        let hex = digest
            .strip_prefix("sha256:")
            .filter(|h| h.len() == 64 && h.bytes().all(|b| b.is_ascii_hexdigit()))
            .ok_or_else(|| Error::usage(format!("{digest:?} is not a sha256 digest")))?;
        self.place(&format!("blobs/sha256/{hex}"))
    }

    /// A small file read whole (index.json, manifests, configs), at most 16 MiB.
    pub fn read(&self, name: &str) -> Result<Vec<u8>> {
        read_place(&self.place(name)?, name)
    }
}

/// The bytes at `place`, for small files.
pub fn read_place(place: &Place, what: &str) -> Result<Vec<u8>> {
    if place.size > 16 << 20 {
        return Err(Error::usage(format!(
            "{what} is {} bytes: too large for a manifest or config",
            place.size
        )));
    }
    let mut bytes = vec![0; place.size as usize];
    place
        .reader()
        .and_then(|mut reader| reader.read_exact(&mut bytes))
        .map_err(|e| Error::input(format!("reading {what}"), &e))?;
    Ok(bytes)
}

/// Every regular entry of the tar `file` (`end` bytes, from `path`): its
/// name (without `./`) and the offset and size of its bytes in the file.
fn index_tar(path: &Path, file: impl Read, end: u64) -> Result<HashMap<String, (u64, u64)>> {
    let shown = path.display();
    let mut archive = tar::Archive::new(file);
    let bad = |e: std::io::Error| {
        Error::usage(format!(
            "--from {shown}: not a readable tar ({e}); is it truncated?"
        ))
    };
    let mut entries = HashMap::new();
    let mut links: Vec<(String, String)> = Vec::new();
    for entry in archive.entries().map_err(bad)? {
        let entry = entry.map_err(bad)?;
        let name = entry.path().map_err(bad)?.to_string_lossy().into_owned();
        let name = name.trim_start_matches("./").to_string();
        match entry.header().entry_type() {
            tar::EntryType::Regular | tar::EntryType::Continuous => {
                entries.insert(name, (entry.raw_file_position(), entry.size()));
            }
            // skopeo's docker-archive: `<id>/layer.tar` -> `../<diff id>.tar`.
            tar::EntryType::Symlink | tar::EntryType::Link => {
                if let Some(target) = entry.link_name().map_err(bad)? {
                    let target = target.to_string_lossy().into_owned();
                    let resolved = if entry.header().entry_type() == tar::EntryType::Link {
                        target.trim_start_matches("./").to_string()
                    } else {
                        resolve(&name, &target)
                    };
                    links.push((name, resolved));
                }
            }
            _ => {}
        }
    }
    // A link may point at a link: follow up to 40 hops, as the kernel does.
    let targets: HashMap<String, String> = links.into_iter().collect();
    for (name, first) in &targets {
        let mut target = first.clone();
        for _ in 0..40 {
            if let Some(place) = entries.get(&target).copied() {
                entries.insert(name.clone(), place);
                break;
            }
            match targets.get(&target) {
                Some(next) => target = next.clone(),
                None => break,
            }
        }
    }
    if entries.values().any(|(offset, size)| offset + size > end) {
        return Err(Error::usage(format!(
            "--from {shown}: the tar is truncated"
        )));
    }
    if entries.is_empty() {
        return Err(Error::usage(format!(
            "--from {shown}: not an OCI image layout, an oci-archive or a docker save tar"
        )));
    }
    Ok(entries)
}

/// The tar inside the gzip or zstd file at `path`, in a temporary file in
/// $TMPDIR that has no name from the start (O_TMPFILE where the file system
/// has it, else created and unlinked at once): it lives as long as the
/// returned descriptor, and the system frees it however the process ends.
fn decompress(path: &Path, outer: &str) -> Result<File> {
    let shown = path.display();
    let file = File::open(path).map_err(|e| Error::input(format!("--from {shown}"), &e))?;
    let mut temp = tempfile::tempfile()
        .map_err(|e| Error::output("making a temporary file for the decompressed tar", &e))?;
    let input = std::io::BufReader::with_capacity(1 << 20, file);
    let copied = match outer {
        "gzip" => gunzip(input, &mut temp),
        _ => zstd::stream::read::Decoder::with_buffer(input)
            .and_then(|mut d| std::io::copy(&mut d, &mut temp)),
    };
    match copied {
        Ok(_) => Ok(temp),
        // A full disk is ours to say; anything else is the file's fault.
        Err(e) if e.raw_os_error().is_some() && e.kind() != std::io::ErrorKind::InvalidData => {
            Err(Error::output(
                "writing the decompressed tar to a temporary file ($TMPDIR)",
                &e,
            ))
        }
        Err(e) => Err(Error::usage(format!(
            "--from {shown}: not a readable {outer} stream ({e}); is it truncated?"
        ))),
    }
}

/// Every gzip member of `input` into `out`; zeros after the last member
/// (block padding, as `tar` and tape tools leave) are ignored, as gzip -d
/// ignores them; anything else after it is invalid data.
fn gunzip(mut input: impl std::io::BufRead, out: &mut File) -> std::io::Result<u64> {
    let mut total = 0;
    loop {
        let mut member = flate2::bufread::GzDecoder::new(input);
        total += std::io::copy(&mut member, out)?;
        input = member.into_inner();
        let next = input.fill_buf()?;
        if next.is_empty() {
            return Ok(total);
        }
        if next.starts_with(&[0x1f, 0x8b]) {
            continue;
        }
        loop {
            let rest = input.fill_buf()?;
            if rest.is_empty() {
                return Ok(total);
            }
            if rest.iter().any(|b| *b != 0) {
                return Err(std::io::Error::new(
                    std::io::ErrorKind::InvalidData,
                    "data after the gzip stream that is not zero padding",
                ));
            }
            let n = rest.len();
            input.consume(n);
        }
    }
}

/// `target` of a symlink entry `name`, as a path from the tar's root.
fn resolve(name: &str, target: &str) -> String {
    let mut parts: Vec<&str> = if target.starts_with('/') {
        Vec::new()
    } else {
        name.split('/').collect()
    };
    parts.pop(); // the link's own name
    for part in target.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            p => parts.push(p),
        }
    }
    parts.join("/")
}

#[cfg(test)]
mod tests {
    use super::resolve;

    #[test]
    fn symlink_targets_resolve_from_the_links_directory() {
        assert_eq!(resolve("abc/layer.tar", "../def.tar"), "def.tar");
        assert_eq!(
            resolve("abc/layer.tar", "other/layer.tar"),
            "abc/other/layer.tar"
        );
        assert_eq!(resolve("layer.tar", "/x/y.tar"), "x/y.tar");
    }
}
