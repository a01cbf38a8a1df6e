//! Files the app hands to the person (log downloads): where they chose in the save dialog,
//! or a safe name in their Downloads folder.

use std::fs::OpenOptions;
use std::io::Write;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// The user's Downloads folder, else their home, else the temp dir.
pub fn download_dir() -> PathBuf {
    dirs::download_dir()
        .or_else(dirs::home_dir)
        .unwrap_or_else(std::env::temp_dir)
}

/// Writes `bytes` to `dir/<file_name>` without overwriting: `name (1).txt` and so on.
/// Path separators and leading dots in `file_name` are replaced, so it cannot leave `dir`.
pub fn save(dir: &Path, file_name: &str, bytes: &[u8]) -> Result<PathBuf> {
    let clean: String = file_name
        .chars()
        .map(|c| {
            if c == '/' || c == '\\' || c.is_control() {
                '_'
            } else {
                c
            }
        })
        .collect();
    let clean = clean.trim_start_matches('.').trim();
    let clean = if clean.is_empty() {
        "download.txt"
    } else {
        clean
    };
    let (stem, ext) = match clean.rsplit_once('.') {
        Some((s, e)) if !s.is_empty() => (s.to_string(), format!(".{e}")),
        _ => (clean.to_string(), String::new()),
    };
    std::fs::create_dir_all(dir)
        .map_err(|e| Error::io(format!("creating {}", dir.display()), e))?;
    for n in 0..1000 {
        let name = if n == 0 {
            format!("{stem}{ext}")
        } else {
            format!("{stem} ({n}){ext}")
        };
        let path = dir.join(name);
        match OpenOptions::new().write(true).create_new(true).open(&path) {
            Ok(mut f) => {
                f.write_all(bytes)
                    .map_err(|e| Error::io(format!("writing {}", path.display()), e))?;
                return Ok(path);
            }
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(Error::io(format!("creating {}", path.display()), e)),
        }
    }
    Err(Error::io(
        format!("saving {clean} in {}", dir.display()),
        std::io::Error::other("too many files with that name"),
    ))
}

/// Writes `bytes` to `path`, a file the person chose in a save dialog (which already asked
/// before replacing one); returns the path written.
pub fn write_to(path: &Path, bytes: &[u8]) -> Result<PathBuf> {
    std::fs::write(path, bytes).map_err(|e| Error::io(format!("writing {}", path.display()), e))?;
    Ok(path.to_path_buf())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_where_the_person_chose() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("chosen.log");
        std::fs::write(&path, "old").unwrap();
        assert_eq!(write_to(&path, b"new").unwrap(), path);
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "new");
        let missing = dir.path().join("no/such/dir/x.log");
        let err = write_to(&missing, b"x").unwrap_err().to_string();
        assert!(err.contains("no/such/dir/x.log"), "{err}");
    }

    #[test]
    fn saves_without_overwriting_or_escaping() {
        let dir = tempfile::tempdir().unwrap();
        let a = save(dir.path(), "shop-logs.txt", b"one").unwrap();
        let b = save(dir.path(), "shop-logs.txt", b"two").unwrap();
        assert_eq!(a.file_name().unwrap(), "shop-logs.txt");
        assert_eq!(b.file_name().unwrap(), "shop-logs (1).txt");
        assert_eq!(std::fs::read_to_string(&a).unwrap(), "one");
        let sneaky = save(dir.path(), "../../etc/passwd", b"x").unwrap();
        assert_eq!(sneaky.parent().unwrap(), dir.path());
        assert_eq!(sneaky.file_name().unwrap(), "_.._etc_passwd");
        assert_eq!(
            save(dir.path(), "...", b"x").unwrap().file_name().unwrap(),
            "download.txt"
        );
    }
}
