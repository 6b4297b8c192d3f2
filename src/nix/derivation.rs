//! Store derivations (`.drv` files) in their ATerm form, read straight from the store.
//!
//! Reading the `.drv` file avoids `nix show-derivation`, whose JSON shape changed
//! between Nix releases (2.8 keys outputs by full store path; later releases drop
//! the store dir, and 2.33 reshapes `inputs`). The ATerm form has been stable since
//! Nix 1.x:
//!
//! ```text
//! drv      = "Derive(" list(output) "," list(inputDrv) "," list(string) ","
//!            string "," string "," list(string) "," list(envPair) ")"
//! output   = "(" string "," string "," string "," string ")"   name, path, hashAlgo, hash
//! inputDrv = "(" string "," list(string) ")"                   drv path, output names
//! envPair  = "(" string "," string ")"
//! list(x)  = "[" [ x { "," x } ] "]"
//! string   = '"' { char | "\\" ( '"' | "\\" | "n" | "r" | "t" ) } '"'
//! ```
//!
//! The fields after `inputSrcs` are system, builder, args and env. Dynamic-derivation
//! files (`DrvWithVersion(…)`) are experimental and refused with a message.

use std::collections::BTreeMap;
use std::io;

/// What buildproof needs of a store derivation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Derivation {
    /// Output name → store path (empty for content-addressed floating outputs).
    pub outputs: BTreeMap<String, String>,
    /// Output names whose `hashAlgo` is set: fixed-output derivations.
    pub fixed_outputs: Vec<String>,
    /// Input derivation path → the output names used.
    pub input_drvs: BTreeMap<String, Vec<String>>,
    /// Sources copied into the store at evaluation time (`inputSrcs`).
    pub input_srcs: Vec<String>,
    pub env: BTreeMap<String, String>,
}

/// Parses the ATerm text of a `.drv` file.
pub fn parse(text: &[u8]) -> io::Result<Derivation> {
    let mut p = Parser { s: text, i: 0 };
    p.expect(b"Derive(")?;
    let mut outputs = BTreeMap::new();
    let mut fixed_outputs = Vec::new();
    p.list(|p| {
        p.expect(b"(")?;
        let name = p.string()?;
        p.expect(b",")?;
        let path = p.string()?;
        p.expect(b",")?;
        let algo = p.string()?;
        p.expect(b",")?;
        let _hash = p.string()?;
        p.expect(b")")?;
        if !algo.is_empty() {
            fixed_outputs.push(name.clone());
        }
        outputs.insert(name, path);
        Ok(())
    })?;
    p.expect(b",")?;
    let mut input_drvs = BTreeMap::new();
    p.list(|p| {
        p.expect(b"(")?;
        let path = p.string()?;
        p.expect(b",")?;
        let mut names = Vec::new();
        p.list(|p| {
            names.push(p.string()?);
            Ok(())
        })?;
        p.expect(b")")?;
        input_drvs.insert(path, names);
        Ok(())
    })?;
    p.expect(b",")?;
    let mut input_srcs = Vec::new();
    p.list(|p| {
        input_srcs.push(p.string()?);
        Ok(())
    })?;
    p.expect(b",")?;
    let _system = p.string()?;
    p.expect(b",")?;
    let _builder = p.string()?;
    p.expect(b",")?;
    p.list(|p| p.string().map(drop))?;
    p.expect(b",")?;
    let mut env = BTreeMap::new();
    p.list(|p| {
        p.expect(b"(")?;
        let k = p.string()?;
        p.expect(b",")?;
        let v = p.string()?;
        p.expect(b")")?;
        env.insert(k, v);
        Ok(())
    })?;
    p.expect(b")")?;
    if p.i != p.s.len() {
        return Err(p.invalid("trailing bytes after the derivation"));
    }
    Ok(Derivation {
        outputs,
        fixed_outputs,
        input_drvs,
        input_srcs,
        env,
    })
}

struct Parser<'a> {
    s: &'a [u8],
    i: usize,
}

impl Parser<'_> {
    fn invalid(&self, what: &str) -> io::Error {
        io::Error::new(
            io::ErrorKind::InvalidData,
            format!("not a store derivation: {what} at byte {}", self.i),
        )
    }

    fn expect(&mut self, token: &[u8]) -> io::Result<()> {
        if self.s[self.i..].starts_with(token) {
            self.i += token.len();
            Ok(())
        } else if self.i == 0 && self.s.starts_with(b"DrvWithVersion(") {
            Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "versioned (dynamic) derivations are not supported",
            ))
        } else {
            Err(self.invalid(&format!("expected `{}`", String::from_utf8_lossy(token))))
        }
    }

    fn peek(&self) -> Option<u8> {
        self.s.get(self.i).copied()
    }

    /// `[` item {`,` item} `]`, calling `item` for each.
    fn list(&mut self, mut item: impl FnMut(&mut Self) -> io::Result<()>) -> io::Result<()> {
        self.expect(b"[")?;
        if self.peek() == Some(b']') {
            self.i += 1;
            return Ok(());
        }
        loop {
            item(self)?;
            match self.peek() {
                Some(b',') => self.i += 1,
                Some(b']') => {
                    self.i += 1;
                    return Ok(());
                }
                _ => return Err(self.invalid("expected `,` or `]`")),
            }
        }
    }

    fn string(&mut self) -> io::Result<String> {
        self.expect(b"\"")?;
        let mut out = Vec::new();
        loop {
            match self.peek() {
                None => return Err(self.invalid("unterminated string")),
                Some(b'"') => {
                    self.i += 1;
                    break;
                }
                Some(b'\\') => {
                    let c = self
                        .s
                        .get(self.i + 1)
                        .copied()
                        .ok_or_else(|| self.invalid("unterminated escape"))?;
                    out.push(match c {
                        b'n' => b'\n',
                        b'r' => b'\r',
                        b't' => b'\t',
                        other => other,
                    });
                    self.i += 2;
                }
                Some(c) => {
                    out.push(c);
                    self.i += 1;
                }
            }
        }
        String::from_utf8(out).map_err(|_| self.invalid("string is not UTF-8"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DRV: &str = r#"Derive([("out","/nix/store/ni1cm20ydc8h9lbd4r793pgpnsl144xv-goinstance-t1","","")],[("/nix/store/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa-dep.drv",["dev","out"])],["/nix/store/ixq59v24c9lcz01354zlzysiab27jhc1-src"],"x86_64-linux","/bin/sh",["-c","mkdir $out; echo \"a\\b\"\n"],[("PATH","/bin:/usr/bin"),("out","/nix/store/ni1cm20ydc8h9lbd4r793pgpnsl144xv-goinstance-t1"),("src","/nix/store/ixq59v24c9lcz01354zlzysiab27jhc1-src")])"#;

    #[test]
    fn parses_a_real_derivation() {
        let d = parse(DRV.as_bytes()).unwrap();
        assert_eq!(
            d.outputs["out"],
            "/nix/store/ni1cm20ydc8h9lbd4r793pgpnsl144xv-goinstance-t1"
        );
        assert!(d.fixed_outputs.is_empty());
        assert_eq!(
            d.input_drvs["/nix/store/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa-dep.drv"],
            ["dev", "out"]
        );
        assert_eq!(
            d.input_srcs,
            ["/nix/store/ixq59v24c9lcz01354zlzysiab27jhc1-src"]
        );
        assert_eq!(d.env["PATH"], "/bin:/usr/bin");
    }

    #[test]
    fn fixed_output_and_escapes() {
        let d = parse(br#"Derive([("out","/nix/store/x-f","r:sha256","00")],[],[],"s","b",["a\"b\\c\n"],[("k","v\tw")])"#).unwrap();
        assert_eq!(d.fixed_outputs, ["out"]);
        assert_eq!(d.env["k"], "v\tw");
    }

    #[test]
    fn malformed_is_an_error_not_a_panic() {
        for bad in [
            "",
            "Derive(",
            "Derive([(\"out\"",
            "Derive([],[],[],\"s\",\"b\",[],[])x",
            "Derive([],[],[],\"s\",\"b\",[],[(\"k\",\"v\\",
            "DrvWithVersion(\"xp-dyn-drv\",[])",
            "{\"json\": true}",
        ] {
            assert!(parse(bad.as_bytes()).is_err(), "{bad}");
        }
    }
}
