//! Files a tool writes besides stdout (`--output-file`, `--digest-file`,
//! `$GITHUB_OUTPUT`): checked before any work, so that a path that cannot be
//! written is exit 2 having sent nothing, and written so that what they hold
//! stays the user's: a file these functions create is mode 0600 whatever
//! the umask (a rendered task definition can hold environment values); an
//! existing file keeps its mode.
//!
//! A whole file ([`write`]) that is new is written atomically: a temporary
//! file in the same directory, renamed to the path (the file a symlink
//! points to), so no reader sees half of it. An existing file is the user's
//! and is written in place: it keeps its owner, mode and hard links, and
//! `/dev/stdout` or `/dev/stderr` (links to whatever those are) stay what
//! they are. An append ([`append`]: `$GITHUB_OUTPUT`, which the runner
//! creates) adds to the file as it is.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use crate::{Error, Result};

/// The longest file name most file systems take.
const MAX_NAME: usize = 255;

/// The mode of a file these functions create.
pub const NEW_FILE_MODE: u32 = 0o600;

/// Checks, before any work, that [`write`] can write `path` (given as
/// `flag`, which the message names with the path): it is not a directory,
/// an existing file opens for writing, and a file can be made in its
/// directory (which must exist). Exit 2 otherwise. Nothing is created.
pub fn check(flag: &str, path: &Path) -> Result<()> {
    check_path(flag, path, false)
}

/// [`check`] for [`append`]: an existing file must open for appending; a
/// missing one, be creatable in its directory.
pub fn check_append(flag: &str, path: &Path) -> Result<()> {
    check_path(flag, path, true)
}

fn check_path(flag: &str, path: &Path, appending: bool) -> Result<()> {
    let shown = || format!("{flag} {}", path.display());
    if path.as_os_str().is_empty() {
        return Err(Error::usage(format!("{flag}: needs a file path")));
    }
    // `dir/` names a directory, existing or not: no file can be written there.
    if path.as_os_str().as_encoded_bytes().ends_with(b"/") {
        return Err(Error::usage(format!(
            "{}: ends with /, so it names a directory, not a file",
            shown()
        )));
    }
    let target = resolve_symlink(path);
    match fs::metadata(&target) {
        Ok(meta) if meta.is_dir() => {
            return Err(Error::usage(format!("{}: is a directory", shown())));
        }
        Ok(_) => {
            // Opened as it will be, without truncating or creating anything:
            // a read-only file is refused as the shell's `>` refuses it.
            let mut options = OpenOptions::new();
            if appending {
                options.append(true);
            } else {
                options.write(true);
            }
            options
                .open(&target)
                .map_err(|e| Error::input(shown(), &e))?;
            // An existing file (a device, a pipe) is written in place:
            // the directory need not take a new file.
            return Ok(());
        }
        // A part of the path that is a file is said below, by name.
        Err(e)
            if matches!(
                e.kind(),
                io::ErrorKind::NotFound | io::ErrorKind::NotADirectory
            ) => {}
        Err(e) => return Err(Error::input(shown(), &e)),
    }
    if target.file_name().is_some_and(|name| name.len() > MAX_NAME) {
        return Err(Error::usage(format!(
            "{}: the file name is longer than {MAX_NAME} bytes",
            shown()
        )));
    }
    let dir = parent(&target);
    match fs::metadata(dir) {
        Ok(meta) if meta.is_dir() => {}
        Ok(_) => {
            return Err(Error::usage(format!(
                "{}: {} is not a directory",
                shown(),
                dir.display()
            )));
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            return Err(Error::usage(format!(
                "{}: the directory {} does not exist",
                shown(),
                dir.display()
            )));
        }
        Err(e) => return Err(Error::input(shown(), &e)),
    }
    // A file with no name (O_TMPFILE where there is one): the try leaves
    // nothing behind, even when the process is killed.
    tempfile::tempfile_in(dir).map_err(|e| {
        Error::input(
            format!(
                "{}: the directory {} cannot be written",
                shown(),
                dir.display()
            ),
            &e,
        )
    })?;
    Ok(())
}

/// Writes `bytes` as the whole of `path` (named `flag` in the message):
/// atomically, mode 0600 when the file is new, its mode kept when it
/// exists (see the module docs). Exit 1 on failure; no temporary file is
/// left.
pub fn write(flag: &str, path: &Path, bytes: &[u8]) -> Result<()> {
    replace(path, bytes)
        .map_err(|e| Error::output(format!("writing {flag} {}", path.display()), &e))
}

fn replace(path: &Path, bytes: &[u8]) -> io::Result<()> {
    match fs::metadata(path) {
        // An existing file is the user's: written in place, so it keeps its
        // owner, mode and hard links, and `/dev/stdout` (a link to whatever
        // stdout is) stays what it is.
        Ok(_) => {
            let mut file = OpenOptions::new().write(true).truncate(true).open(path)?;
            return file.write_all(bytes);
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) => return Err(e),
    }
    let target = resolve_symlink(path);
    let dir = parent(&target);
    // Created 0600 by tempfile, removed when dropped unless persisted; a
    // short name of its own, so a long target name does not overflow it.
    let mut temp = tempfile::Builder::new()
        .prefix(".tmp")
        .suffix(".part")
        .tempfile_in(dir)?;
    temp.write_all(bytes)?;
    temp.as_file().sync_all()?;
    temp.persist(&target).map_err(|e| e.error)?;
    // The rename is durable once the directory is; not every file system
    // can fsync a directory, and the file is in place either way.
    if let Ok(d) = File::open(dir) {
        let _ = d.sync_all();
    }
    Ok(())
}

/// Appends `bytes` to `path` (named `flag` in the message), creating it
/// mode 0600 when it does not exist; an existing file keeps its mode.
/// Exit 1 on failure.
pub fn append(flag: &str, path: &Path, bytes: &[u8]) -> Result<()> {
    open_new_0600(OpenOptions::new().append(true).create(true))
        .open(path)
        .and_then(|mut f| f.write_all(bytes))
        .map_err(|e| Error::output(format!("appending to {flag} ({})", path.display()), &e))
}

/// `options` with mode 0600 for a file they create (the umask can only take
/// bits away); an existing file's mode is untouched.
pub fn open_new_0600(options: &mut OpenOptions) -> &mut OpenOptions {
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(options, NEW_FILE_MODE);
    options
}

/// The directory `path` is in (`.` for a bare name).
fn parent(path: &Path) -> &Path {
    match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    }
}

/// The file a symlink points to (dangling or not), so that the rename
/// replaces the file, not the link; `path` itself otherwise.
fn resolve_symlink(path: &Path) -> PathBuf {
    match fs::symlink_metadata(path) {
        Ok(meta) if meta.file_type().is_symlink() => {}
        _ => return path.to_path_buf(),
    }
    if let Ok(target) = fs::canonicalize(path) {
        return target;
    }
    match fs::read_link(path) {
        Ok(target) => parent(path).join(target),
        Err(_) => path.to_path_buf(),
    }
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use crate::Exit;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn a_path_ending_in_a_slash_is_refused_before_anything_is_made() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("newname/");
        let e = check("--digest-file", &path).unwrap_err();
        assert_eq!(e.exit(), Exit::Usage);
        assert!(e.to_string().contains("names a directory"), "{e}");
        assert!(!dir.path().join("newname").exists());
    }

    fn mode(path: &Path) -> u32 {
        fs::metadata(path).unwrap().permissions().mode() & 0o7777
    }

    /// Every name in `dir`, sorted.
    fn names(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    #[test]
    fn a_new_file_is_0600_and_nothing_else_is_left() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out.json");
        check("--output-file", &path).unwrap();
        assert_eq!(
            names(dir.path()),
            Vec::<String>::new(),
            "check creates nothing"
        );
        write("--output-file", &path, b"{}\n").unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"{}\n");
        assert_eq!(mode(&path), 0o600);
        assert_eq!(names(dir.path()), ["out.json"]);
    }

    #[test]
    fn an_existing_file_is_written_in_place_keeping_its_links() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out.json");
        let link = dir.path().join("hard.json");
        fs::write(&path, b"old").unwrap();
        fs::hard_link(&path, &link).unwrap();
        write("--output-file", &path, b"new").unwrap();
        assert_eq!(fs::read(&link).unwrap(), b"new");
    }

    #[test]
    fn a_name_too_long_is_exit_2_before_any_work() {
        let dir = tempfile::tempdir().unwrap();
        let e = check("--digest-file", &dir.path().join("d".repeat(256))).unwrap_err();
        assert_eq!(e.exit().code(), 2);
        assert!(
            e.to_string().contains("too long") || e.to_string().contains("longer than 255"),
            "{e}"
        );
    }

    #[test]
    fn an_existing_file_keeps_its_mode() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out.json");
        fs::write(&path, "old, longer than the new").unwrap();
        fs::set_permissions(&path, fs::Permissions::from_mode(0o640)).unwrap();
        write("--output-file", &path, b"new").unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"new");
        assert_eq!(mode(&path), 0o640);
    }

    #[test]
    fn a_symlink_is_written_through() {
        let dir = tempfile::tempdir().unwrap();
        let real = dir.path().join("real");
        fs::write(&real, "old").unwrap();
        let link = dir.path().join("link");
        std::os::unix::fs::symlink("real", &link).unwrap();
        check("--output-file", &link).unwrap();
        write("--output-file", &link, b"new").unwrap();
        assert!(
            fs::symlink_metadata(&link)
                .unwrap()
                .file_type()
                .is_symlink()
        );
        assert_eq!(fs::read(&real).unwrap(), b"new");
    }

    #[test]
    fn a_device_is_written_in_place() {
        check("--output-file", Path::new("/dev/null")).unwrap();
        write("--output-file", Path::new("/dev/null"), b"x").unwrap();
    }

    #[test]
    fn a_missing_directory_is_exit_2_naming_the_flag_and_the_path() {
        let e = check("--digest-file", Path::new("/nonexistent/d")).unwrap_err();
        assert_eq!(e.exit(), Exit::Usage);
        assert_eq!(
            e.message(),
            "--digest-file /nonexistent/d: the directory /nonexistent does not exist"
        );
    }

    #[test]
    fn a_directory_is_exit_2() {
        let dir = tempfile::tempdir().unwrap();
        let e = check("--output-file", dir.path()).unwrap_err();
        assert_eq!(e.exit(), Exit::Usage);
        assert!(e.message().ends_with(": is a directory"), "{e}");
        let e = check_append("$GITHUB_OUTPUT", dir.path()).unwrap_err();
        assert!(e.message().ends_with(": is a directory"), "{e}");
    }

    #[test]
    fn a_file_as_the_directory_is_exit_2() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("file");
        fs::write(&file, "").unwrap();
        let e = check("--output-file", &file.join("x")).unwrap_err();
        assert_eq!(e.exit(), Exit::Usage);
        assert!(e.message().ends_with("is not a directory"), "{e}");
    }

    #[test]
    fn a_directory_no_file_can_be_made_in_is_exit_2() {
        // /proc takes no new file, even from root.
        let e = check("--output-file", Path::new("/proc/out.json")).unwrap_err();
        assert_eq!(e.exit(), Exit::Usage);
        assert!(e.message().contains("cannot be written"), "{e}");
    }

    #[test]
    fn an_append_creates_0600_and_keeps_an_existing_mode() {
        let dir = tempfile::tempdir().unwrap();
        let new = dir.path().join("new");
        check_append("$GITHUB_OUTPUT", &new).unwrap();
        assert!(!new.exists(), "check_append creates nothing");
        append("$GITHUB_OUTPUT", &new, b"a=1\n").unwrap();
        append("$GITHUB_OUTPUT", &new, b"b=2\n").unwrap();
        assert_eq!(fs::read(&new).unwrap(), b"a=1\nb=2\n");
        assert_eq!(mode(&new), 0o600);
        let old = dir.path().join("old");
        fs::write(&old, "x=0\n").unwrap();
        fs::set_permissions(&old, fs::Permissions::from_mode(0o644)).unwrap();
        append("$GITHUB_OUTPUT", &old, b"a=1\n").unwrap();
        assert_eq!(fs::read(&old).unwrap(), b"x=0\na=1\n");
        assert_eq!(mode(&old), 0o644);
    }
}
