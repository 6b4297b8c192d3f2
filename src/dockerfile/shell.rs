//! Word processing as BuildKit's `shell.Lex` does it for the instructions that take
//! variables at build time (`FROM`, `ARG`, `ENV`, `WORKDIR`, `USER`, `EXPOSE`,
//! `VOLUME`, `STOPSIGNAL`): quotes removed, the escape character honoured, and
//! `$VAR`, `${VAR}`, `${VAR:-word}`, `${VAR-word}`, `${VAR:+word}`, `${VAR+word}`,
//! `${VAR:?msg}` and `${VAR?msg}` substituted. Other `${VAR…}` forms are kept as
//! written.
//!
//! A variable whose value cannot be known here — one the external base image may
//! define — is kept as written (`$PATH`), so the record never invents a value.

use std::collections::BTreeMap;

/// The longest value a word may grow to by substitution (`ENV A=$A$A` repeated would
/// otherwise double without bound).
const MAX_WORD: usize = 1 << 20;

/// How deeply `${A:-${B:-…}}` may nest.
const MAX_DEPTH: usize = 64;

/// What a variable lookup found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Lookup {
    Set(String),
    /// Known not to be set (declared without a value, or no base image could set it).
    Unset,
    /// Perhaps set by the external base image; unknown here.
    Unknown,
}

/// The variables visible to an instruction.
pub struct Vars<'a> {
    pub env: &'a BTreeMap<String, String>,
    pub args: &'a BTreeMap<String, Option<String>>,
    /// Whether a variable in neither map might come from the base image.
    pub base_unknown: bool,
}

impl Vars<'_> {
    fn get(&self, name: &str) -> Lookup {
        // ENV always wins over ARG of the same name, as in Docker.
        if let Some(v) = self.env.get(name) {
            return Lookup::Set(v.clone());
        }
        match self.args.get(name) {
            Some(Some(v)) => Lookup::Set(v.clone()),
            Some(None) => Lookup::Unset,
            None if self.base_unknown => Lookup::Unknown,
            None => Lookup::Unset,
        }
    }
}

/// Processes one word: removes quotes, applies escapes, substitutes variables.
///
/// # Errors
/// `${VAR:?message}` with `VAR` unset, or an unterminated quote or `${`.
pub fn process(word: &str, escape: char, vars: &Vars<'_>) -> Result<String, String> {
    let chars: Vec<char> = word.chars().collect();
    let mut lexer = Lexer {
        chars: &chars,
        pos: 0,
        escape,
        vars,
        depth: 0,
    };
    lexer.word(None)
}

struct Lexer<'a, 'v> {
    chars: &'a [char],
    pos: usize,
    escape: char,
    vars: &'a Vars<'v>,
    depth: usize,
}

impl Lexer<'_, '_> {
    fn peek(&self) -> Option<char> {
        self.chars.get(self.pos).copied()
    }

    fn next(&mut self) -> Option<char> {
        let c = self.peek()?;
        self.pos += 1;
        Some(c)
    }

    /// Reads until the end, or until an unnested `stop` (not consumed).
    fn word(&mut self, stop: Option<char>) -> Result<String, String> {
        let mut out = String::new();
        let mut depth = 0usize;
        while let Some(c) = self.peek() {
            if Some(c) == stop && depth == 0 {
                return Ok(out);
            }
            self.pos += 1;
            match c {
                '\'' => out.push_str(&self.single_quoted()?),
                '"' => push(&mut out, &self.double_quoted()?)?,
                '$' => push(&mut out, &self.dollar()?)?,
                c if c == self.escape => match self.next() {
                    Some(n) => out.push(n),
                    None => out.push(c),
                },
                '{' if stop.is_some() => {
                    depth += 1;
                    out.push(c);
                }
                '}' if stop.is_some() => {
                    depth = depth.saturating_sub(1);
                    out.push(c);
                }
                c => out.push(c),
            }
        }
        if stop.is_some() {
            return Err("unterminated `${`".to_owned());
        }
        Ok(out)
    }

    fn single_quoted(&mut self) -> Result<String, String> {
        let mut out = String::new();
        loop {
            match self.next() {
                Some('\'') => return Ok(out),
                Some(c) => out.push(c),
                None => return Err("unterminated single quote".to_owned()),
            }
        }
    }

    fn double_quoted(&mut self) -> Result<String, String> {
        let mut out = String::new();
        loop {
            match self.next() {
                Some('"') => return Ok(out),
                Some('$') => push(&mut out, &self.dollar()?)?,
                Some(c) if c == self.escape => match self.peek() {
                    Some(n) if n == '"' || n == '$' || n == self.escape => {
                        self.pos += 1;
                        out.push(n);
                    }
                    _ => out.push(c),
                },
                Some(c) => out.push(c),
                None => return Err("unterminated double quote".to_owned()),
            }
        }
    }

    fn name(&mut self) -> String {
        let mut name = String::new();
        while let Some(c) = self.peek() {
            if c.is_ascii_alphanumeric() || c == '_' {
                name.push(c);
                self.pos += 1;
            } else {
                break;
            }
        }
        name
    }

    /// After a `$`.
    fn dollar(&mut self) -> Result<String, String> {
        if self.peek() == Some('{') {
            let start = self.pos - 1;
            self.pos += 1;
            return self.braced(start);
        }
        let name = self.name();
        if name.is_empty() {
            return Ok("$".to_owned());
        }
        Ok(match self.vars.get(&name) {
            Lookup::Set(v) => v,
            Lookup::Unset => String::new(),
            Lookup::Unknown => format!("${name}"),
        })
    }

    /// After `${`; `start` is the index of the `$`.
    fn braced(&mut self, start: usize) -> Result<String, String> {
        let name = self.name();
        let lookup = self.vars.get(&name);
        let modifier = match self.next() {
            Some('}') if !name.is_empty() => {
                return Ok(match lookup {
                    Lookup::Set(v) => v,
                    Lookup::Unset => String::new(),
                    Lookup::Unknown => format!("${{{name}}}"),
                });
            }
            Some(':') => match self.next() {
                Some(m @ ('-' | '+' | '?')) => (true, m),
                other => return self.keep_as_written(start, other),
            },
            Some(m @ ('-' | '+' | '?')) if !name.is_empty() => (false, m),
            other => return self.keep_as_written(start, other),
        };
        if name.is_empty() {
            return self.keep_as_written(start, Some(modifier.1));
        }
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(format!("variables nested more than {MAX_DEPTH} deep"));
        }
        let word = self.word(Some('}'))?;
        self.depth -= 1;
        self.pos += 1; // the closing `}`
        let (colon, op) = modifier;
        let set = match &lookup {
            Lookup::Set(v) => Some(!colon || !v.is_empty()),
            Lookup::Unset => Some(false),
            Lookup::Unknown => None,
        };
        let Some(set) = set else {
            return Ok(self.chars[start..self.pos].iter().collect());
        };
        let value = match lookup {
            Lookup::Set(v) => v,
            _ => String::new(),
        };
        Ok(match (op, set) {
            ('-', true) | ('?', true) => value,
            ('-', false) | ('+', true) => word,
            ('+', false) => String::new(),
            _ => {
                let msg = if word.is_empty() {
                    "is not set".to_owned()
                } else {
                    word
                };
                return Err(format!("`{name}`: {msg}"));
            }
        })
    }

    /// A `${…}` form this lexer does not evaluate: kept as written up to its `}`.
    /// `last` is the character just consumed.
    fn keep_as_written(&mut self, start: usize, last: Option<char>) -> Result<String, String> {
        match last {
            Some('}') => return Ok(self.chars[start..self.pos].iter().collect()),
            None => return Err("unterminated `${`".to_owned()),
            Some(_) => {}
        }
        let mut depth = 1usize;
        while let Some(c) = self.next() {
            match c {
                '{' => depth += 1,
                '}' => {
                    depth -= 1;
                    if depth == 0 {
                        return Ok(self.chars[start..self.pos].iter().collect());
                    }
                }
                _ => {}
            }
        }
        Err("unterminated `${`".to_owned())
    }
}

/// Appends a substitution, refusing values that grow without bound.
fn push(out: &mut String, part: &str) -> Result<(), String> {
    if out.len() + part.len() > MAX_WORD {
        return Err(format!(
            "a value grows beyond {MAX_WORD} bytes by substitution"
        ));
    }
    out.push_str(part);
    Ok(())
}

/// Splits `text` into words on blanks outside quotes, keeping quotes and escapes in
/// the words (BuildKit's `parseWords`), for `ENV a=b c="d e"` and `ARG`.
#[must_use]
pub fn split_words(text: &str, escape: char) -> Vec<String> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut quote: Option<char> = None;
    let mut escaped = false;
    for c in text.chars() {
        if escaped {
            word.push(c);
            escaped = false;
            continue;
        }
        if c == escape && quote != Some('\'') {
            word.push(c);
            escaped = true;
            continue;
        }
        match quote {
            Some(q) if c == q => quote = None,
            Some(_) => {}
            None if c == '"' || c == '\'' => quote = Some(c),
            None if c.is_whitespace() => {
                if !word.is_empty() {
                    words.push(std::mem::take(&mut word));
                }
                continue;
            }
            None => {}
        }
        word.push(c);
    }
    if !word.is_empty() {
        words.push(word);
    }
    words
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(word: &str, base_unknown: bool) -> Result<String, String> {
        let env: BTreeMap<String, String> = [
            ("HOME".to_owned(), "/root".to_owned()),
            ("EMPTY".to_owned(), String::new()),
        ]
        .into_iter()
        .collect();
        let args: BTreeMap<String, Option<String>> = [
            ("VERSION".to_owned(), Some("1.2".to_owned())),
            ("NOVAL".to_owned(), None),
            ("HOME".to_owned(), Some("/arg".to_owned())),
        ]
        .into_iter()
        .collect();
        let vars = Vars {
            env: &env,
            args: &args,
            base_unknown,
        };
        process(word, '\\', &vars)
    }

    macro_rules! test {
        ($name:ident, $word:expr, $unknown:expr, $want:expr) => {
            #[test]
            fn $name() {
                assert_eq!(run($word, $unknown), Ok($want.to_owned()));
            }
        };
    }

    test!(plain, "abc", false, "abc");
    test!(dollar_name, "$VERSION/x", false, "1.2/x");
    test!(braced, "v${VERSION}", false, "v1.2");
    test!(env_beats_arg, "$HOME", false, "/root");
    test!(unset_is_empty, "a${NOPE}b$NOPE", false, "ab");
    test!(
        unknown_kept,
        "/app/bin:$PATH:${PATH}",
        true,
        "/app/bin:$PATH:${PATH}"
    );
    test!(declared_arg_is_known_unset, "[$NOVAL]", true, "[]");
    test!(default_when_unset, "${NOPE:-x y}", false, "x y");
    test!(default_when_empty, "${EMPTY:-d}|${EMPTY-d}", false, "d|");
    test!(alternative, "${VERSION:+yes}${NOPE:+no}", false, "yes");
    test!(nested_default, "${NOPE:-${VERSION}}", false, "1.2");
    test!(
        unknown_with_default_kept,
        "${PATH:-/bin}",
        true,
        "${PATH:-/bin}"
    );
    test!(pattern_forms_kept, "${VERSION%.*}", false, "${VERSION%.*}");
    test!(quotes_removed, "\"a b\"'$c'", false, "a b$c");
    test!(escapes, "\\$VERSION \\\"", false, "$VERSION \"");
    test!(lone_dollar, "cost $ 5 $", false, "cost $ 5 $");
    test!(double_quoted_var, "\"$VERSION\"", false, "1.2");

    #[test]
    fn required_unset_is_an_error() {
        assert!(
            run("${NOPE:?must be set}", false)
                .unwrap_err()
                .contains("must be set")
        );
    }

    #[test]
    fn unterminated() {
        assert!(run("\"abc", false).is_err());
        assert!(run("${abc", false).is_err());
        assert!(run("${abc:-x", false).is_err());
    }

    #[test]
    fn bounded() {
        let deep = format!("{}x{}", "${NOPE:-".repeat(100), "}".repeat(100));
        assert!(run(&deep, false).unwrap_err().contains("nested"));
        let env: BTreeMap<String, String> = [("A".to_owned(), "a".repeat(600_000))].into();
        let args = BTreeMap::new();
        let vars = Vars {
            env: &env,
            args: &args,
            base_unknown: false,
        };
        assert!(process("$A$A", '\\', &vars).unwrap_err().contains("grows"));
    }

    #[test]
    fn words() {
        assert_eq!(
            split_words("a=1 b=\"x y\" c='p q'  d=e\\ f", '\\'),
            ["a=1", "b=\"x y\"", "c='p q'", "d=e\\ f"]
        );
    }
}
