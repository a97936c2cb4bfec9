//! Where a registry really is, in the form users know from
//! containers-registries.conf(5): `--registries-conf FILE` or
//! `$CONTAINERS_REGISTRIES_CONF`, `[[registry]]` entries with `prefix`,
//! `location` and `insecure`. The image keeps its logical name (for
//! credentials, for `image.uri` and so for the task definition), while
//! connections go to the location: pull-through mirrors, local registries,
//! and moto's ECR name served by a local registry in `make demo`.

use std::path::Path;

use crate::error::{Error, Result};

/// Where to connect for an image, and whether over plain HTTP.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location {
    pub host: String,
    pub repository: String,
    pub insecure: bool,
}

#[derive(Debug)]
struct Entry {
    prefix: String,
    location: String,
    insecure: bool,
}

/// Reads the registries.conf at `path`: its `[[registry]]` entries.
fn read(path: &Path) -> Result<Vec<Entry>> {
    let shown = path.display();
    let bytes = std::fs::read(path)
        .map_err(|e| Error::input(format!("reading registries.conf {shown}"), &e))?;
    // A byte-order mark or UTF-16 (an editor on Windows) read as every
    // other file of ours is.
    let text = crate::stream::decode(&bytes, &format!("registries.conf {shown}"))?;
    let doc: toml::Table = text
        .parse()
        .map_err(|e| Error::usage(format!("registries.conf {shown}: not valid TOML: {e}")))?;
    let mut entries = Vec::new();
    let Some(list) = doc.get("registry") else {
        return Ok(entries);
    };
    let list = list.as_array().ok_or_else(|| {
        Error::usage(format!(
            "registries.conf {shown}: [[registry]] must be a list of tables"
        ))
    })?;
    for (i, item) in list.iter().enumerate() {
        let field = |key: &str| {
            item.get(key)
                .and_then(toml::Value::as_str)
                .map(str::to_string)
        };
        let location = field("location");
        let prefix = field("prefix")
            .or_else(|| location.clone())
            .ok_or_else(|| {
                Error::usage(format!(
                    "registries.conf {shown}: [[registry]] {} has neither prefix nor location",
                    i + 1
                ))
            })?;
        entries.push(Entry {
            location: location.unwrap_or_else(|| prefix.clone()),
            prefix,
            insecure: item
                .get("insecure")
                .and_then(toml::Value::as_bool)
                .unwrap_or(false),
        });
    }
    Ok(entries)
}

/// The location of `registry/repository`: the entry whose prefix matches
/// it longest (at a `/` boundary), else the image's own name.
pub fn resolve(conf: Option<&Path>, registry: &str, repository: &str) -> Result<Location> {
    let name = format!("{registry}/{repository}");
    let own = Location {
        host: registry.to_string(),
        repository: repository.to_string(),
        insecure: false,
    };
    let Some(conf) = conf else { return Ok(own) };
    let entries = read(conf)?;
    let matching = entries
        .iter()
        .filter(|e| {
            name == e.prefix
                || (name.starts_with(&e.prefix)
                    && (e.prefix.ends_with('/') || name[e.prefix.len()..].starts_with('/')))
        })
        .max_by_key(|e| e.prefix.len());
    let Some(entry) = matching else {
        return Ok(own);
    };
    let mapped = format!(
        "{}{}",
        entry.location.trim_end_matches('/'),
        &name[entry.prefix.trim_end_matches('/').len()..]
    );
    let (host, repository) = mapped.split_once('/').ok_or_else(|| {
        Error::usage(format!(
            "registries.conf: location {:?} leaves no repository for {name}",
            entry.location
        ))
    })?;
    Ok(Location {
        host: host.to_string(),
        repository: repository.to_string(),
        insecure: entry.insecure,
    })
}

/// The registries.conf to read: `flag` (`--registries-conf FILE`), else
/// `$CONTAINERS_REGISTRIES_CONF` when set and not empty, else none.
pub fn conf_path(flag: Option<&Path>) -> Option<std::path::PathBuf> {
    flag.map(Path::to_path_buf).or_else(|| {
        std::env::var_os("CONTAINERS_REGISTRIES_CONF")
            .filter(|v| !v.is_empty())
            .map(Into::into)
    })
}

/// A registry on this machine (a loopback address or `localhost`), spoken
/// to over plain HTTP.
pub fn is_loopback(registry: &str) -> bool {
    let host = match registry.rsplit_once(':') {
        Some((host, port)) if !port.is_empty() && port.bytes().all(|b| b.is_ascii_digit()) => host,
        _ => registry,
    };
    let host = host.trim_start_matches('[').trim_end_matches(']');
    host.eq_ignore_ascii_case("localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn conf(text: &str) -> tempfile::NamedTempFile {
        let file = tempfile::NamedTempFile::new().unwrap();
        std::fs::write(file.path(), text).unwrap();
        file
    }

    #[test]
    fn a_registry_prefix_moves_the_host() {
        let f = conf(
            "[[registry]]\nprefix = \"123456789012.dkr.ecr.us-east-1.amazonaws.com\"\nlocation = \"127.0.0.1:5000\"\ninsecure = true\n",
        );
        let got = resolve(
            Some(f.path()),
            "123456789012.dkr.ecr.us-east-1.amazonaws.com",
            "team/web",
        )
        .unwrap();
        assert_eq!(
            got,
            Location {
                host: "127.0.0.1:5000".into(),
                repository: "team/web".into(),
                insecure: true
            }
        );
    }

    #[test]
    fn the_longest_prefix_wins_and_may_move_the_path() {
        let f = conf(
            "[[registry]]\nlocation = \"r.example\"\n[[registry]]\nprefix = \"r.example/team\"\nlocation = \"mirror.example/cache/team\"\n",
        );
        let got = resolve(Some(f.path()), "r.example", "team/web").unwrap();
        assert_eq!(
            (got.host.as_str(), got.repository.as_str(), got.insecure),
            ("mirror.example", "cache/team/web", false)
        );
    }

    #[test]
    fn a_prefix_matches_at_a_path_boundary_only() {
        let f = conf("[[registry]]\nprefix = \"r.example/te\"\nlocation = \"x.example\"\n");
        assert_eq!(
            resolve(Some(f.path()), "r.example", "team").unwrap().host,
            "r.example"
        );
    }

    #[test]
    fn no_conf_is_the_image_name() {
        assert_eq!(resolve(None, "r.example", "web").unwrap().host, "r.example");
    }

    /// Saved as UTF-16 with its byte-order mark (Windows PowerShell's
    /// `Out-File`), as every other file of ours may be.
    #[test]
    fn a_utf16_conf_is_read() {
        let text = "\u{feff}[[registry]]\nprefix = \"r.example\"\nlocation = \"x.example\"\n";
        let bytes: Vec<u8> = text.encode_utf16().flat_map(u16::to_le_bytes).collect();
        let f = tempfile::NamedTempFile::new().unwrap();
        std::fs::write(f.path(), bytes).unwrap();
        assert_eq!(
            resolve(Some(f.path()), "r.example", "web").unwrap().host,
            "x.example"
        );
    }

    #[test]
    fn bad_toml_is_exit_2_naming_the_file() {
        let f = conf("[[registry]\n");
        let e = resolve(Some(f.path()), "r", "w").unwrap_err();
        assert_eq!(e.exit().code(), 2);
        assert!(e.to_string().contains("not valid TOML"), "{e}");
    }

    #[test]
    fn loopback_registries() {
        for yes in [
            "127.0.0.1:5000",
            "localhost",
            "LOCALHOST:5000",
            "[::1]:5000",
            "127.1.2.3",
        ] {
            assert!(is_loopback(yes), "{yes}");
        }
        for no in [
            "127.invalid",
            "127.corp.example:5000",
            "registry.example.com",
            "10.0.0.1:5000",
        ] {
            assert!(!is_loopback(no), "{no}");
        }
    }
}
