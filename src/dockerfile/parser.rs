//! Lexing a Dockerfile into instructions, the way BuildKit's `parser` package does.
//!
//! What this layer handles (everything else is the stage evaluator's business):
//!
//! - **Parser directives** at the very top (`# escape=`, `# syntax=`, `# check=`):
//!   recognised until the first line that is not one (a blank line, another comment,
//!   a `# key=value` comment naming another key, an instruction), as BuildKit's
//!   `DirectiveParser`. Each may appear once. Only `escape` changes lexing; it must
//!   be `\` or `` ` ``.
//! - **Comments**: a line whose first non-blank character is `#` is dropped, also
//!   in the middle of a continued instruction. `#` elsewhere is not a comment.
//! - **Line continuations**: the escape character followed only by blanks at the end
//!   of a line joins the next line, unless it is itself escaped (`\\` at the end of
//!   a line ends the instruction, as in BuildKit). Blank lines inside a continuation
//!   are skipped.
//! - **Instruction words** are case-insensitive; leading `--name[=value]` words are the
//!   instruction's flags (`FROM --platform=…`, `HEALTHCHECK --interval=…`).
//! - **Heredocs** (`RUN <<EOF`, `COPY <<-"EOF" /dst`): on `RUN`, `COPY` and `ADD`, each
//!   `<<[-]WORD` word (optionally quoted, optionally after a file descriptor number) makes the
//!   following lines the heredoc body up to a line that is exactly `WORD` (with leading
//!   tabs removed for `<<-`). Bodies are passed over, never interpreted. A heredoc
//!   without its terminator is an error naming the line it started on.
//!
//! Every instruction keeps the 1-based line it starts on, for findings.
//!
//! # Supported subset
//!
//! The Dockerfile frontend `docker/dockerfile:1` as BuildKit parses it, for what
//! decides how a container starts: `FROM [--platform] image [AS name]`, stage
//! references, `ARG` (global and per stage), `ENV` (`a=b c=d` and legacy `a b`),
//! `ENTRYPOINT`, `CMD`, `USER`, `WORKDIR`, `SHELL`, `HEALTHCHECK` (`NONE`, options,
//! exec and shell form), `STOPSIGNAL`, `EXPOSE`, `VOLUME`. `RUN`, `COPY`, `ADD`,
//! `LABEL`, `MAINTAINER` and `ONBUILD` are accepted and passed over (heredoc bodies
//! included). Not supported: `--target` (the final stage is the last one), build
//! arguments given on the command line (ARG defaults are used), the configuration
//! of an external base image (recorded as unknown: `base_image`), `${VAR#…}`,
//! `${VAR%…}` and `${VAR/…}` (kept as written), `ONBUILD` triggers of a parent stage.
//!
//! What Docker refuses is refused, with its line: an unknown instruction, an
//! instruction before the first `FROM`, an unknown flag (`CMD --help`), a `SHELL` not
//! in JSON form, `ENV name` without a value, a duplicate stage name, an unterminated
//! heredoc or quote. Bounds against hostile input: substituted values up to 1 MiB,
//! `${…}` nested up to 64 deep.

use std::fmt;

/// One instruction: keyword (upper case), flags, the rest of the line, and where it
/// starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Instruction {
    pub keyword: String,
    /// Leading `--name[=value]` words, without the dashes.
    pub flags: Vec<String>,
    /// The arguments after the flags, continuation lines joined, trimmed.
    pub args: String,
    /// 1-based line the instruction starts on.
    pub line: u32,
}

/// A lexed Dockerfile.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Parsed {
    /// The escape character (`\` unless `# escape=` said otherwise).
    pub escape: char,
    pub instructions: Vec<Instruction>,
}

/// A Dockerfile that cannot be lexed or evaluated, with the 1-based line at fault.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyntaxError {
    pub line: u32,
    pub message: String,
}

impl SyntaxError {
    pub(crate) fn new(line: u32, message: impl Into<String>) -> Self {
        Self {
            line,
            message: message.into(),
        }
    }
}

impl fmt::Display for SyntaxError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: {}", self.line, self.message)
    }
}

/// Tracks the parser directives at the top of the file.
struct Directives {
    done: bool,
    escape: char,
    /// The directives seen, lower case: each may appear once.
    seen: Vec<String>,
}

impl Directives {
    /// Looks at one raw line (leading blanks already removed) while directives may
    /// still appear.
    fn look(&mut self, line: &str, number: u32) -> Result<(), SyntaxError> {
        if self.done {
            return Ok(());
        }
        // As BuildKit's DirectiveParser: a line that is not a directive it knows ends
        // the directives, a comment naming another key included.
        let Some((key, value)) = directive(line) else {
            self.done = true;
            return Ok(());
        };
        let key = key.to_ascii_lowercase();
        if !matches!(key.as_str(), "escape" | "syntax" | "check") {
            self.done = true;
            return Ok(());
        }
        if self.seen.contains(&key) {
            return Err(SyntaxError::new(
                number,
                format!("only one `{key}` parser directive can be used"),
            ));
        }
        if key == "escape" {
            self.escape = match value {
                "\\" => '\\',
                "`" => '`',
                other => {
                    return Err(SyntaxError::new(
                        number,
                        format!("invalid escape character `{other}`: it must be `\\` or `` ` ``"),
                    ));
                }
            };
        }
        self.seen.push(key);
        Ok(())
    }
}

/// `# key=value` with a key of `[a-zA-Z][a-zA-Z0-9]*`, as BuildKit's directive regex.
fn directive(line: &str) -> Option<(&str, &str)> {
    let rest = line.strip_prefix('#')?.trim_start();
    let key_len = rest
        .char_indices()
        .take_while(|&(i, c)| {
            if i == 0 {
                c.is_ascii_alphabetic()
            } else {
                c.is_ascii_alphanumeric()
            }
        })
        .count();
    if key_len == 0 {
        return None;
    }
    let (key, after) = rest.split_at(key_len);
    let value = after.trim_start().strip_prefix('=')?.trim();
    if value.is_empty() {
        return None;
    }
    Some((key, value))
}

fn is_comment(line: &str) -> bool {
    line.trim_start().starts_with('#')
}

/// Removes a trailing escape character (followed only by blanks); says whether it
/// was there, i.e. whether the instruction continues on the next line.
///
/// BuildKit's rule exactly: its `lineContinuationRegex` is `([^E])E[ \t]*$|^E[ \t]*$`
/// for the escape character E, so the escape character continues the line unless
/// another one stands right before it. `a\\` ends with an escaped escape character and
/// does not continue; nor does `a\\\`, since the regexp does not count pairs (BuildKit
/// says so in a comment on it). BuildKit's `testfiles/trailing-backslash` expects
/// `ENV C trailing\\backslash\\` to end there.
fn strip_continuation(line: &str, escape: char) -> (&str, bool) {
    let trimmed = line.trim_end_matches([' ', '\t']);
    match trimmed.strip_suffix(escape) {
        Some(rest) if !rest.ends_with(escape) => (rest, true),
        _ => (line, false),
    }
}

/// Lexes `text` into instructions.
///
/// # Errors
/// A bad parser directive, an unterminated heredoc, or a line that has no
/// instruction word.
pub fn parse(text: &str) -> Result<Parsed, SyntaxError> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let lines: Vec<&str> = text
        .split('\n')
        .map(|l| l.strip_suffix('\r').unwrap_or(l))
        .collect();
    let mut directives = Directives {
        done: false,
        escape: '\\',
        seen: Vec::new(),
    };
    let mut instructions = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        let number = line_number(i);
        let raw = lines[i].trim_start();
        i += 1;
        directives.look(raw, number)?;
        if is_comment(raw) || raw.trim().is_empty() {
            continue;
        }
        let escape = directives.escape;
        let (first, mut continues) = strip_continuation(raw, escape);
        let mut joined = first.to_owned();
        while continues && i < lines.len() {
            let next = lines[i];
            i += 1;
            if is_comment(next) || next.trim().is_empty() {
                continue;
            }
            let (part, more) = strip_continuation(next, escape);
            joined.push_str(part);
            continues = more;
        }
        let instruction = split(&joined, number)?;
        if matches!(instruction.keyword.as_str(), "RUN" | "COPY" | "ADD") {
            for (word, strip_tabs) in heredoc_words(&instruction.args) {
                i = skip_heredoc(&lines, i, &word, strip_tabs).ok_or_else(|| {
                    SyntaxError::new(
                        number,
                        format!("heredoc `<<{word}` is never terminated: no line `{word}` follows"),
                    )
                })?;
            }
        }
        instructions.push(instruction);
    }
    Ok(Parsed {
        escape: directives.escape,
        instructions,
    })
}

fn line_number(index: usize) -> u32 {
    u32::try_from(index + 1).unwrap_or(u32::MAX)
}

/// Splits a joined instruction line into keyword, flags and arguments.
fn split(line: &str, number: u32) -> Result<Instruction, SyntaxError> {
    let line = line.trim();
    let (keyword, rest) = line
        .split_once(|c: char| c.is_whitespace())
        .unwrap_or((line, ""));
    if keyword.is_empty() || !keyword.chars().all(|c| c.is_ascii_alphabetic()) {
        return Err(SyntaxError::new(
            number,
            format!("`{}` is not an instruction", truncate(keyword)),
        ));
    }
    let mut rest = rest.trim_start();
    let mut flags = Vec::new();
    while let Some(after) = rest.strip_prefix("--") {
        let (word, tail) = after
            .split_once(|c: char| c.is_whitespace())
            .unwrap_or((after, ""));
        rest = tail.trim_start();
        if word.is_empty() {
            // A bare `--` ends the flags, as in BuildKit.
            break;
        }
        flags.push(word.to_owned());
    }
    Ok(Instruction {
        keyword: keyword.to_ascii_uppercase(),
        flags,
        args: rest.trim_end().to_owned(),
        line: number,
    })
}

/// At most 40 characters of user text for a message.
pub(crate) fn truncate(s: &str) -> String {
    match s.char_indices().nth(40) {
        Some((i, _)) => format!("{}…", &s[..i]),
        None => s.to_owned(),
    }
}

/// The heredoc terminators a `RUN`/`COPY`/`ADD` line opens, in order, with whether
/// leading tabs are stripped (`<<-`).
fn heredoc_words(args: &str) -> Vec<(String, bool)> {
    let mut found = Vec::new();
    for word in args.split_whitespace() {
        let word = word.trim_start_matches(|c: char| c.is_ascii_digit());
        let Some(rest) = word.strip_prefix("<<") else {
            continue;
        };
        let (rest, strip_tabs) = match rest.strip_prefix('-') {
            Some(r) => (r, true),
            None => (rest, false),
        };
        // BuildKit's `^(\d*)<<(-?)([^<]*)$`, the name unquoted.
        let name = rest.trim_matches(|c| c == '"' || c == '\'');
        if !name.is_empty() && !name.contains('<') {
            found.push((name.to_owned(), strip_tabs));
        }
    }
    found
}

/// The index of the line after the heredoc ending with `word`, starting at `from`.
fn skip_heredoc(lines: &[&str], from: usize, word: &str, strip_tabs: bool) -> Option<usize> {
    (from..lines.len())
        .find(|&j| {
            let l = if strip_tabs {
                lines[j].trim_start_matches('\t')
            } else {
                lines[j]
            };
            l == word
        })
        .map(|j| j + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `parse` gives these (keyword, flags, args, line) tuples.
    macro_rules! test {
        ($name:ident, $text:expr, [$(($kw:expr, [$($flag:expr),*], $args:expr, $line:expr)),* $(,)?]) => {
            #[test]
            fn $name() {
                let parsed = parse($text).expect("parses");
                let got: Vec<(String, Vec<String>, String, u32)> = parsed
                    .instructions
                    .into_iter()
                    .map(|i| (i.keyword, i.flags, i.args, i.line))
                    .collect();
                let want: Vec<(String, Vec<String>, String, u32)> = vec![
                    $(($kw.to_owned(), vec![$($flag.to_owned()),*], $args.to_owned(), $line)),*
                ];
                assert_eq!(got, want);
            }
        };
    }

    /// `parse` fails at this line with a message containing the needle.
    macro_rules! error {
        ($name:ident, $text:expr, $line:expr, $needle:expr) => {
            #[test]
            fn $name() {
                let err = parse($text).expect_err("fails");
                assert_eq!(err.line, $line, "{err}");
                assert!(err.message.contains($needle), "{err}");
            }
        };
    }

    test!(
        simple,
        "FROM alpine\nCMD [\"sh\"]\n",
        [("FROM", [], "alpine", 1), ("CMD", [], "[\"sh\"]", 2),]
    );
    test!(
        lower_case_keyword,
        "from alpine AS build\n",
        [("FROM", [], "alpine AS build", 1)]
    );
    test!(
        continuation,
        "FROM a\nENTRYPOINT [\"/app\", \\\n  \"--flag\"]\nUSER x\n",
        [
            ("FROM", [], "a", 1),
            ("ENTRYPOINT", [], "[\"/app\",   \"--flag\"]", 2),
            ("USER", [], "x", 4),
        ]
    );
    test!(
        continuation_trailing_blanks,
        "FROM a\nRUN a \\  \n b\n",
        [("FROM", [], "a", 1), ("RUN", [], "a  b", 2),]
    );
    test!(
        comment_inside_continuation,
        "FROM a\nRUN a \\\n# note\n\n  b\nCMD c\n",
        [
            ("FROM", [], "a", 1),
            ("RUN", [], "a   b", 2),
            ("CMD", [], "c", 6),
        ]
    );
    test!(
        escape_directive,
        "# escape=`\nFROM a\nRUN dir c:\\ `\n  /b\n",
        [("FROM", [], "a", 2), ("RUN", [], "dir c:\\   /b", 3),]
    );
    test!(
        directive_after_instruction_is_a_comment,
        "FROM a\n# escape=`\nRUN a `\nCMD b\n",
        [
            ("FROM", [], "a", 1),
            ("RUN", [], "a `", 3),
            ("CMD", [], "b", 4),
        ]
    );
    test!(
        directive_after_blank_line_is_a_comment,
        "\n# escape=`\nFROM a\nRUN a \\\n b\n",
        [("FROM", [], "a", 3), ("RUN", [], "a  b", 4),]
    );
    test!(
        flags,
        "FROM --platform=linux/amd64 a\nHEALTHCHECK --interval=5s --retries=3 CMD true\n",
        [
            ("FROM", ["platform=linux/amd64"], "a", 1),
            ("HEALTHCHECK", ["interval=5s", "retries=3"], "CMD true", 2),
        ]
    );
    test!(
        heredoc_skipped,
        "FROM a\nRUN <<EOF\nCMD [\"not\", \"this\"]\nEOF\nCMD [\"this\"]\n",
        [
            ("FROM", [], "a", 1),
            ("RUN", [], "<<EOF", 2),
            ("CMD", [], "[\"this\"]", 5),
        ]
    );
    test!(
        heredoc_quoted_dash_and_two,
        "FROM a\nCOPY <<-\"A\" 3<<B /x\n\tENTRYPOINT x\n\tA\nUSER y\nB\nUSER z\n",
        [
            ("FROM", [], "a", 1),
            ("COPY", [], "<<-\"A\" 3<<B /x", 2),
            ("USER", [], "z", 7),
        ]
    );
    test!(
        crlf_and_bom,
        "\u{feff}FROM a\r\nCMD b\r\n",
        [("FROM", [], "a", 1), ("CMD", [], "b", 2),]
    );
    test!(
        hash_not_at_start_is_text,
        "FROM a\nCMD echo #hi\n",
        [("FROM", [], "a", 1), ("CMD", [], "echo #hi", 2),]
    );
    error!(
        unterminated_heredoc,
        "FROM a\nRUN <<EOF\necho\n", 2, "never terminated"
    );
    test!(
        heredoc_name_with_dash,
        "FROM a\nRUN cat <<END-OF-IT\nUSER x\nEND-OF-IT\n",
        [("FROM", [], "a", 1), ("RUN", [], "cat <<END-OF-IT", 2),]
    );
    test!(
        here_string_is_not_a_heredoc,
        "FROM a\nRUN cat <<<word\nUSER x\n",
        [
            ("FROM", [], "a", 1),
            ("RUN", [], "cat <<<word", 2),
            ("USER", [], "x", 3),
        ]
    );
    /// BuildKit's `frontend/dockerfile/parser/testfiles/*`: each Dockerfile and the
    /// instructions its `result` file expects, as (keyword, args, line). Args are the
    /// joined raw text here; BuildKit's results show the same text after its word
    /// splitting, which for these cases changes nothing but the quoting.
    #[test]
    fn buildkit_testfiles_line_continuations() {
        /// Testfile name, Dockerfile, expected (keyword, args, line).
        type Case<'a> = (&'a str, &'a str, &'a [(&'a str, &'a str, u32)]);
        let cases: &[Case] = &[
            (
                "trailing-backslash",
                "# https://github.com/docker/for-win/issues/5254\n\nFROM hello-world\n\n\
                 ENV A path\nENV B another\\\\path\nENV C trailing\\\\backslash\\\\\n\
                 ENV D This should not be appended to C\nENV E hello\\\n\\\nworld\n\
                 ENV F hello\\\n \\\nworld\nENV G hello \\\n\\\nworld\n",
                &[
                    ("FROM", "hello-world", 3),
                    ("ENV", "A path", 5),
                    ("ENV", "B another\\\\path", 6),
                    ("ENV", "C trailing\\\\backslash\\\\", 7),
                    ("ENV", "D This should not be appended to C", 8),
                    ("ENV", "E helloworld", 9),
                    ("ENV", "F hello world", 12),
                    ("ENV", "G hello world", 15),
                ],
            ),
            (
                "escape",
                "#escape = `\n\nFROM image\nLABEL maintainer foo@bar.com\nENV GOPATH `\n\\go",
                &[
                    ("FROM", "image", 3),
                    ("LABEL", "maintainer foo@bar.com", 4),
                    ("ENV", "GOPATH \\go", 5),
                ],
            ),
            (
                "escape-after-comment",
                "# Comment here. Should not be looking for the following parser directive.\n\
                 # Hence the following line will be ignored, and the subsequent backslash\n\
                 # continuation will be the default.\n# escape = `\n\nFROM image\n\
                 LABEL maintainer foo@bar.com\nENV GOPATH \\\n\\go",
                &[
                    ("FROM", "image", 6),
                    ("LABEL", "maintainer foo@bar.com", 7),
                    ("ENV", "GOPATH \\go", 8),
                ],
            ),
            (
                "escape-nonewline",
                "# escape = `\n# There is no white space line after the directives. This still \
                 succeeds, but goes\n# against best practices.\nFROM image\n\
                 LABEL maintainer foo@bar.com\nENV GOPATH `\n\\go\n",
                &[
                    ("FROM", "image", 4),
                    ("LABEL", "maintainer foo@bar.com", 5),
                    ("ENV", "GOPATH \\go", 6),
                ],
            ),
            (
                "escape-with-syntax",
                "# syntax = docker/dockerfile\n# escape = `\n\nFROM `\n    image\n",
                &[("FROM", "image", 4)],
            ),
            (
                "continue-at-eof",
                "FROM alpine:3.5\n\nRUN something \\",
                &[("FROM", "alpine:3.5", 1), ("RUN", "something", 3)],
            ),
            (
                "continueIndent",
                "FROM ubuntu:14.04\n\nRUN echo hello\\\n  world\\\n  goodnight  \\\n  moon\\\n\
                 \x20 light\\\nning\nRUN echo hello  \\\n  world\nRUN echo hello  \\\nworld\n\
                 RUN echo hello \\\ngoodbye\\\nfrog\nRUN echo hello  \\  \nworld\n\
                 RUN echo hi \\\n \\\n world \\\n\\\n good\\\n\\\nnight\n\
                 RUN echo goodbye\\\nfrog\nRUN echo good\\\nbye\\\nfrog\n\n\
                 RUN echo hello \\\n# this is a comment\n\n\
                 # this is a comment with a blank line surrounding it\n\n\
                 this is some more useful stuff\n",
                &[
                    ("FROM", "ubuntu:14.04", 1),
                    ("RUN", "echo hello  world  goodnight    moon  lightning", 3),
                    ("RUN", "echo hello    world", 9),
                    ("RUN", "echo hello  world", 11),
                    ("RUN", "echo hello goodbyefrog", 13),
                    ("RUN", "echo hello  world", 16),
                    ("RUN", "echo hi   world  goodnight", 18),
                    ("RUN", "echo goodbyefrog", 25),
                    ("RUN", "echo goodbyefrog", 27),
                    ("RUN", "echo hello this is some more useful stuff", 31),
                ],
            ),
            (
                "escapes",
                "FROM ubuntu:14.04\nLABEL maintainer Erik \\\\Hollensbe <erik@hollensbe.org>\\\"\n\n\
                 RUN apt-get \\update && \\\n  apt-get \\\"install znc -y\n\
                 ADD \\conf\\\\\" /.znc\n\nRUN foo \\\n\nbar \\\n\nbaz\n\n\
                 CMD [ \"\\/usr\\\\\\\"/bin/znc\", \"-f\", \"-r\" ]\n",
                &[
                    ("FROM", "ubuntu:14.04", 1),
                    (
                        "LABEL",
                        "maintainer Erik \\\\Hollensbe <erik@hollensbe.org>\\\"",
                        2,
                    ),
                    ("RUN", "apt-get \\update &&   apt-get \\\"install znc -y", 4),
                    ("ADD", "\\conf\\\\\" /.znc", 6),
                    ("RUN", "foo bar baz", 8),
                    ("CMD", "[ \"\\/usr\\\\\\\"/bin/znc\", \"-f\", \"-r\" ]", 14),
                ],
            ),
        ];
        for (name, text, want) in cases {
            let parsed = parse(text).unwrap_or_else(|e| panic!("{name}: {e}"));
            let got: Vec<(&str, &str, u32)> = parsed
                .instructions
                .iter()
                .map(|i| (i.keyword.as_str(), i.args.as_str(), i.line))
                .collect();
            assert_eq!(&got, want, "{name}");
        }
    }

    /// BuildKit's `lineContinuationRegex`, `([^E])E[ \t]*$|^E[ \t]*$` for the escape
    /// character E: an escape character that is itself escaped does not continue the
    /// line, whatever follows. (BuildKit's comment on the regexp: a continuation after
    /// an escaped escape, `a\\\`, is not recognised either; so it is not here.)
    #[test]
    fn escaped_escape_at_end_of_line_is_not_a_continuation() {
        for (text, want) in [
            (
                "FROM a\nENV K=C:\\tools\\\\\nENTRYPOINT [\"/app\"]\n",
                vec![
                    ("FROM", "a"),
                    ("ENV", "K=C:\\tools\\\\"),
                    ("ENTRYPOINT", "[\"/app\"]"),
                ],
            ),
            (
                "FROM a\nENV K=v\\\\  \t\nUSER x\n",
                vec![("FROM", "a"), ("ENV", "K=v\\\\"), ("USER", "x")],
            ),
            (
                "FROM a\nRUN a \\\\\\\nUSER x\n",
                vec![("FROM", "a"), ("RUN", "a \\\\\\"), ("USER", "x")],
            ),
            (
                "# escape=`\nFROM a\nENV P=C:\\a``\nENTRYPOINT x\n",
                vec![("FROM", "a"), ("ENV", "P=C:\\a``"), ("ENTRYPOINT", "x")],
            ),
            (
                "# escape=`\nFROM a\nENV P=C:\\a\\ `\n  b\n",
                vec![("FROM", "a"), ("ENV", "P=C:\\a\\   b")],
            ),
            // A lone escape character on a line is a continuation (the regexp's second branch).
            (
                "FROM a\nRUN a \\\n\\\n b\n",
                vec![("FROM", "a"), ("RUN", "a  b")],
            ),
        ] {
            let parsed = parse(text).unwrap_or_else(|e| panic!("{text:?}: {e}"));
            let got: Vec<(&str, &str)> = parsed
                .instructions
                .iter()
                .map(|i| (i.keyword.as_str(), i.args.as_str()))
                .collect();
            assert_eq!(got, want, "{text:?}");
        }
    }

    // BuildKit's DirectiveParser: a comment that reads like a directive but names none
    // it knows (`syntax`, `escape`, `check`) ends the directives, as any other comment
    // does (its TestDirectives: `# key = FOO bar` after `#escape=\` is not one), so a
    // later `# escape=` is a comment and the backtick is text.
    test!(
        unknown_directive_ends_the_directives,
        "# foo=bar\n# escape=`\nFROM a\nRUN a `\nCMD b\n",
        [
            ("FROM", [], "a", 3),
            ("RUN", [], "a `", 4),
            ("CMD", [], "b", 5),
        ]
    );
    test!(
        known_directives_in_any_case_and_order,
        "# syntax=docker/dockerfile:1\n# CHECK=skip=all\n#Escape = `\nFROM a\nRUN a `\n b\n",
        [("FROM", [], "a", 4), ("RUN", [], "a  b", 5)]
    );
    error!(
        two_syntax_directives,
        "# syntax=a\n# syntax=b\nFROM a\n", 2, "only one `syntax`"
    );
    error!(bad_escape, "# escape=x\nFROM a\n", 1, "invalid escape");
    error!(
        two_escapes,
        "# escape=`\n# escape=\\\nFROM a\n", 2, "only one"
    );
    error!(
        not_an_instruction,
        "FROM a\n[\"x\"]\n", 2, "not an instruction"
    );
}
