//! `.dockerignore`: which files of a build context the builder never sees, with the
//! semantics of Docker's `moby/patternmatcher` and its `ignorefile` reader:
//!
//! - one pattern per line; a line starting with `#` is a comment; blanks around a
//!   pattern are trimmed; empty lines are skipped;
//! - `!pattern` re-includes what an earlier pattern excluded; the **last** pattern
//!   that matches a path decides;
//! - patterns are cleaned like Go's `filepath.Clean` and a leading `/` is dropped, so
//!   `/build` and `build` are the same;
//! - `*` matches any run of characters except `/`, `?` one character except `/`,
//!   `[…]` a character class, `\` escapes the next character; `**` matches any number
//!   of directories (also none); a pattern ending in `**` matches everything below;
//! - a pattern that matches a directory excludes everything below it.
//!
//! The context is the Dockerfile's directory. BuildKit's `<Dockerfile>.dockerignore`
//! next to the Dockerfile (e.g. `web/Dockerfile.dockerignore`) takes precedence over
//! the context's `.dockerignore`.

/// Longer patterns are refused: matching costs pattern × path length.
const MAX_PATTERN: usize = 4096;

/// One pattern as written, where it was written, and how it matches.
#[derive(Debug, Clone)]
pub struct Pattern {
    /// The line as it was written (trimmed), `!` included.
    pub text: String,
    /// 1-based line in the ignore file.
    pub line: u32,
    /// `!pattern`: re-includes.
    pub exception: bool,
    /// The pattern without `!`, cleaned as Docker cleans it, no leading `/`.
    pub cleaned: String,
    matcher: Matcher,
}

#[derive(Debug, Clone)]
enum Matcher {
    Exact(String),
    /// `foo/**`: everything starting with the prefix.
    Prefix(String),
    /// `**/foo` or `**foo` with a literal rest: everything ending with it.
    Suffix(String),
    Tokens(Vec<Token>),
}

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Char(char),
    /// `*`
    Star,
    /// `?`
    One,
    /// `**/` or `**` not at the end: any number of whole directories (`(.*/)?`).
    Dirs,
    /// `**` at the end: anything.
    Any,
    Class {
        negated: bool,
        ranges: Vec<(char, char)>,
    },
}

/// Parsed ignore patterns.
#[derive(Debug, Clone, Default)]
pub struct Ignore {
    pub patterns: Vec<Pattern>,
}

impl Ignore {
    /// Reads the text of an ignore file.
    ///
    /// # Errors
    /// A pattern Docker would refuse (an unclosed `[`), with its line.
    pub fn parse(text: &str) -> Result<Self, (u32, String)> {
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        let mut patterns = Vec::new();
        for (i, raw) in text.lines().enumerate() {
            let line = u32::try_from(i + 1).unwrap_or(u32::MAX);
            if raw.starts_with('#') {
                continue;
            }
            let text = raw.trim();
            if text.is_empty() {
                continue;
            }
            if text.len() > MAX_PATTERN {
                return Err((line, format!("pattern longer than {MAX_PATTERN} bytes")));
            }
            let (exception, body) = match text.strip_prefix('!') {
                Some(rest) => (true, rest.trim()),
                None => (false, text),
            };
            let mut cleaned = clean(body);
            if cleaned.len() > 1 && cleaned.starts_with('/') {
                cleaned.remove(0);
            }
            let matcher = compile(&cleaned).map_err(|e| (line, e))?;
            patterns.push(Pattern {
                text: text.to_owned(),
                line,
                exception,
                cleaned,
                matcher,
            });
        }
        Ok(Self { patterns })
    }

    /// The pattern that excludes `path` (relative to the context, `/`-separated), or
    /// `None` when the path reaches the build. Docker's `MatchesOrParentMatches`: a
    /// pattern matches a path or any of its parent directories; the last pattern
    /// that changes the verdict decides.
    #[must_use]
    pub fn excluding(&self, path: &str) -> Option<&Pattern> {
        let parents: Vec<&str> = match path.rfind('/') {
            Some(i) => path[..i].split('/').collect(),
            None => Vec::new(),
        };
        let mut decided: Option<&Pattern> = None;
        for pattern in &self.patterns {
            let excluded = decided.is_some();
            // An exclusion can only change an included path, an exception an excluded one.
            if pattern.exception != excluded {
                continue;
            }
            let mut hit = pattern.matcher.matches(path);
            if !hit {
                hit = (1..=parents.len()).any(|n| pattern.matcher.matches(&parents[..n].join("/")));
            }
            if hit {
                decided = if pattern.exception {
                    None
                } else {
                    Some(pattern)
                };
            }
        }
        decided
    }
}

/// Go's `filepath.Clean` for `/`-separated paths.
fn clean(path: &str) -> String {
    if path.is_empty() {
        return ".".to_owned();
    }
    let rooted = path.starts_with('/');
    let mut parts: Vec<&str> = Vec::new();
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                if parts.last().is_some_and(|p| *p != "..") {
                    parts.pop();
                } else if !rooted {
                    parts.push("..");
                }
            }
            p => parts.push(p),
        }
    }
    let body = parts.join("/");
    match (rooted, body.is_empty()) {
        (true, _) => format!("/{body}"),
        (false, true) => ".".to_owned(),
        (false, false) => body,
    }
}

/// patternmatcher's `compile`, including its exact/prefix/suffix shortcuts (which
/// behave slightly differently from the general case, so they are kept).
fn compile(pattern: &str) -> Result<Matcher, String> {
    #[derive(PartialEq)]
    enum Kind {
        Exact,
        Prefix,
        Suffix,
        General,
    }
    let chars: Vec<char> = pattern.chars().collect();
    let mut kind = Kind::Exact;
    let mut tokens = Vec::new();
    let mut i = 0;
    let mut index = 0;
    while i < chars.len() {
        let c = chars[i];
        i += 1;
        match c {
            '*' if chars.get(i) == Some(&'*') => {
                i += 1;
                if chars.get(i) == Some(&'/') {
                    i += 1;
                }
                if i == chars.len() {
                    if kind == Kind::Exact {
                        kind = Kind::Prefix;
                    } else {
                        tokens.push(Token::Any);
                        kind = Kind::General;
                    }
                } else {
                    tokens.push(Token::Dirs);
                    kind = Kind::General;
                }
                if index == 0 {
                    kind = Kind::Suffix;
                }
            }
            '*' => {
                tokens.push(Token::Star);
                kind = Kind::General;
            }
            '?' => {
                tokens.push(Token::One);
                kind = Kind::General;
            }
            '\\' => {
                if let Some(&n) = chars.get(i) {
                    i += 1;
                    tokens.push(Token::Char(n));
                    kind = Kind::General;
                } else {
                    tokens.push(Token::Char('\\'));
                }
            }
            '[' => {
                let (token, next) = class(&chars, i)
                    .ok_or_else(|| format!("`{pattern}` has a `[` without its `]`"))?;
                tokens.push(token);
                i = next;
                kind = Kind::General;
            }
            c => tokens.push(Token::Char(c)),
        }
        index += 1;
    }
    Ok(match kind {
        Kind::Exact => Matcher::Exact(pattern.to_owned()),
        // `foo/**`: the prefix is the pattern without its `**`.
        Kind::Prefix => Matcher::Prefix(pattern[..pattern.len() - 2].to_owned()),
        Kind::Suffix => Matcher::Suffix(pattern.get(2..).unwrap_or("").to_owned()),
        Kind::General => Matcher::Tokens(tokens),
    })
}

/// A `[…]` class starting after the `[` at `start`; returns the token and the index
/// after the `]`.
fn class(chars: &[char], start: usize) -> Option<(Token, usize)> {
    let mut i = start;
    let negated = chars.get(i) == Some(&'^');
    if negated {
        i += 1;
    }
    let mut ranges = Vec::new();
    let mut first = true;
    loop {
        let mut c = *chars.get(i)?;
        i += 1;
        if c == ']' && !first {
            return Some((Token::Class { negated, ranges }, i));
        }
        first = false;
        if c == '\\' {
            c = *chars.get(i)?;
            i += 1;
        }
        let mut hi = c;
        if chars.get(i) == Some(&'-') && chars.get(i + 1).is_some_and(|n| *n != ']') {
            hi = *chars.get(i + 1)?;
            i += 2;
            if hi == '\\' {
                hi = *chars.get(i)?;
                i += 1;
            }
        }
        ranges.push((c, hi));
    }
}

impl Matcher {
    fn matches(&self, path: &str) -> bool {
        match self {
            Matcher::Exact(p) => path == p,
            Matcher::Prefix(p) => path.starts_with(p.as_str()),
            Matcher::Suffix(s) => {
                path.ends_with(s.as_str()) || s.strip_prefix('/').is_some_and(|rest| path == rest)
            }
            Matcher::Tokens(tokens) => {
                let chars: Vec<char> = path.chars().collect();
                let mut memo = vec![None; (tokens.len() + 1) * (chars.len() + 1)];
                match_at(tokens, &chars, 0, 0, &mut memo)
            }
        }
    }
}

/// Whether `tokens[t..]` matches `path[p..]` entirely; memoised, so linear in
/// tokens × path length whatever the pattern.
fn match_at(
    tokens: &[Token],
    path: &[char],
    t: usize,
    p: usize,
    memo: &mut [Option<bool>],
) -> bool {
    let key = t * (path.len() + 1) + p;
    if let Some(done) = memo[key] {
        return done;
    }
    let result = match tokens.get(t) {
        None => p == path.len(),
        Some(Token::Char(c)) => {
            path.get(p) == Some(c) && match_at(tokens, path, t + 1, p + 1, memo)
        }
        Some(Token::One) => {
            path.get(p).is_some_and(|c| *c != '/') && match_at(tokens, path, t + 1, p + 1, memo)
        }
        Some(Token::Class { negated, ranges }) => {
            path.get(p).is_some_and(|c| {
                let inside = ranges.iter().any(|(lo, hi)| lo <= c && c <= hi);
                inside != *negated
            }) && match_at(tokens, path, t + 1, p + 1, memo)
        }
        Some(Token::Star) => {
            let mut q = p;
            loop {
                if match_at(tokens, path, t + 1, q, memo) {
                    break true;
                }
                if q == path.len() || path[q] == '/' {
                    break false;
                }
                q += 1;
            }
        }
        Some(Token::Any) => (p..=path.len()).any(|q| match_at(tokens, path, t + 1, q, memo)),
        Some(Token::Dirs) => {
            // `(.*/)?`: nothing, or anything up to and including a `/`.
            match_at(tokens, path, t + 1, p, memo)
                || (p..path.len())
                    .any(|q| path[q] == '/' && match_at(tokens, path, t + 1, q + 1, memo))
        }
    };
    memo[key] = Some(result);
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    /// With this ignore file, each path is excluded by the pattern on that line
    /// (`Some(line)`) or reaches the build (`None`).
    macro_rules! test {
        ($name:ident, $file:expr, [$(($path:expr, $want:expr)),* $(,)?]) => {
            #[test]
            fn $name() {
                let ignore = Ignore::parse($file).expect("parses");
                $(
                    assert_eq!(
                        ignore.excluding($path).map(|p| p.line),
                        $want,
                        "path `{}`",
                        $path
                    );
                )*
            }
        };
    }

    test!(
        star,
        "*.md\n",
        [("README.md", Some(1)), ("docs/a.md", None), ("a.mdx", None)]
    );
    test!(
        directory_excludes_below,
        "build\n",
        [
            ("build/x/y", Some(1)),
            ("src/build", None),
            ("buildx", None)
        ]
    );
    test!(
        leading_slash_stripped,
        "/secret.txt\n",
        [("secret.txt", Some(1)), ("a/secret.txt", None)]
    );
    test!(
        double_star_any_depth,
        "**/*.log\n",
        [("a.log", Some(1)), ("x/y/z.log", Some(1)), ("x/log", None)]
    );
    test!(
        double_star_middle,
        "a/**/b\n",
        [("a/b", Some(1)), ("a/x/y/b", Some(1)), ("a/xb", None)]
    );
    test!(
        double_star_suffix_literal,
        "**/node_modules\n",
        [
            ("node_modules/x", Some(1)),
            ("a/node_modules/y", Some(1)),
            ("a/xnode_modules", None)
        ]
    );
    test!(
        prefix,
        "dist/**\n",
        [("dist/a", Some(1)), ("dist/a/b", Some(1)), ("distx", None)]
    );
    test!(
        exception_last_wins,
        "*.txt\n!keep.txt\n",
        [("a.txt", Some(1)), ("keep.txt", None)]
    );
    test!(
        exception_then_reexcluded,
        "*.txt\n!keep.txt\nkeep*\n",
        [("keep.txt", Some(3))]
    );
    test!(
        exception_inside_excluded_dir,
        "docs\n!docs/README.md\n",
        [("docs/README.md", None), ("docs/x.md", Some(1))]
    );
    test!(
        comments_and_blanks,
        "# *.go\n\n  main.go  \n",
        [("main.go", Some(3)), ("x.go", None)]
    );
    test!(
        question_and_class,
        "file?.[a-c]\n",
        [("file1.a", Some(1)), ("file1.d", None), ("file/.a", None)]
    );
    test!(negated_class, "[^x]*\n", [("abc", Some(1)), ("xyz", None)]);
    test!(escape, "\\*.txt\n", [("*.txt", Some(1)), ("a.txt", None)]);
    test!(
        cleaned,
        "./a/../b//c/\n",
        [("b/c", Some(1)), ("b/c/d", Some(1))]
    );
    test!(
        everything,
        "**\n!src\n",
        [("anything/at/all", Some(1)), ("src/main.rs", None)]
    );
    test!(
        star_all_then_exception,
        "*\n!web\n",
        [("web/app.js", None), ("other.txt", Some(1))]
    );

    #[test]
    fn unclosed_class_is_an_error() {
        assert_eq!(Ignore::parse("ok\n[abc\n").unwrap_err().0, 2);
    }
}
