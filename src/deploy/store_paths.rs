//! A text list of Nix store paths, one per line, as `nix-store -qR PATH` (or
//! `nix path-info -r`) prints them: `/nix/store/<32 base32 chars>-<name>`. Blank lines
//! and surrounding whitespace are ignored. The store directory is not fixed to
//! `/nix/store` (a store may live elsewhere); the last path component must have the
//! hash-name shape.

use crate::model::running::store_path_name as name_of;

/// The store paths of `text`, or the 1-based number and content of the first line
/// that is not one.
pub(super) fn parse(text: &str) -> Result<Vec<String>, (usize, String)> {
    let mut paths = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        if name_of(line).is_none() {
            return Err((i + 1, line.to_owned()));
        }
        paths.push(line.to_owned());
    }
    if paths.is_empty() {
        return Err((1, String::new()));
    }
    Ok(paths)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_the_part_after_the_hash() {
        let h = "0c0a8fkq7c4jz6n0yg5qpbi6qg4n5wz9";
        assert_eq!(
            name_of(&format!("/nix/store/{h}-goinstance-1.0")),
            Some("goinstance-1.0")
        );
        assert_eq!(name_of(&format!("/other/store/{h}-x")), Some("x"));
        assert_eq!(name_of(&format!("nix/store/{h}-x")), None);
        assert_eq!(name_of(&format!("/nix/store/{h}-")), None);
        assert_eq!(name_of("/nix/store/short-x"), None);
        assert_eq!(
            name_of("/nix/store/eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee-x"),
            None
        );
        assert_eq!(name_of(&format!("/{h}-x")), None);
    }

    #[test]
    fn lists_parse_or_name_the_bad_line() {
        let h = "0c0a8fkq7c4jz6n0yg5qpbi6qg4n5wz9";
        let text = format!("/nix/store/{h}-a\n\n  /nix/store/{h}-b  \n");
        assert_eq!(parse(&text).unwrap().len(), 2);
        let bad = format!("/nix/store/{h}-a\nhello\n");
        assert_eq!(parse(&bad).unwrap_err(), (2, "hello".to_owned()));
    }
}
