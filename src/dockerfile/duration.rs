//! Go's `time.Duration` text, as Docker reads `HEALTHCHECK --interval=…` and the other
//! duration options: `time.ParseDuration` and `Duration.String`, ported so that two
//! spellings Docker stores identically (`30s`, `0.5m`, `30000ms`) record identically.
//!
//! Grammar (Go's): `[-+]?([0-9]*(\.[0-9]*)?[a-z]+)+`, or `0` alone; units `ns`, `us`,
//! `µs` (U+00B5), `μs` (U+03BC), `ms`, `s`, `m`, `h`; at most `2^63 - 1` nanoseconds.
//! A fraction beyond what fits in 63 bits is ignored, and the fractional part of a
//! component is scaled in `f64`, exactly as Go does, so the nanoseconds agree.

/// Nanoseconds per unit.
fn unit(name: &str) -> Option<u64> {
    Some(match name {
        "ns" => 1,
        "us" | "\u{b5}s" | "\u{3bc}s" => 1_000,
        "ms" => 1_000_000,
        "s" => 1_000_000_000,
        "m" => 60_000_000_000,
        "h" => 3_600_000_000_000,
        _ => return None,
    })
}

const LIMIT: u64 = 1 << 63;

/// Parses a duration into nanoseconds, as Go's `time.ParseDuration`.
///
/// # Errors
/// Text Go refuses, with Go's reason (the caller names the text).
pub fn parse(text: &str) -> Result<i64, String> {
    let invalid = || "invalid duration".to_owned();
    let (neg, mut s) = match text.as_bytes().first() {
        Some(b'-') => (true, &text[1..]),
        Some(b'+') => (false, &text[1..]),
        _ => (false, text),
    };
    if s == "0" {
        return Ok(0);
    }
    if s.is_empty() {
        return Err(invalid());
    }
    let mut total: u64 = 0;
    while !s.is_empty() {
        let first = s.as_bytes()[0];
        if !(first == b'.' || first.is_ascii_digit()) {
            return Err(invalid());
        }
        let digits = s.bytes().take_while(u8::is_ascii_digit).count();
        let mut whole: u64 = 0;
        for c in s[..digits].bytes() {
            if whole > LIMIT / 10 {
                return Err(invalid());
            }
            whole = whole * 10 + u64::from(c - b'0');
            if whole > LIMIT {
                return Err(invalid());
            }
        }
        s = &s[digits..];
        let mut fraction: u64 = 0;
        let mut scale: f64 = 1.0;
        let mut post = false;
        if let Some(rest) = s.strip_prefix('.') {
            let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
            post = digits > 0;
            let mut overflow = false;
            for c in rest[..digits].bytes() {
                if overflow {
                    continue;
                }
                if fraction > (LIMIT - 1) / 10 {
                    overflow = true;
                    continue;
                }
                let next = fraction * 10 + u64::from(c - b'0');
                if next > LIMIT {
                    overflow = true;
                    continue;
                }
                fraction = next;
                scale *= 10.0;
            }
            s = &rest[digits..];
        }
        if digits == 0 && !post {
            return Err(invalid());
        }
        let unit_len = s
            .bytes()
            .take_while(|c| *c != b'.' && !c.is_ascii_digit())
            .count();
        if unit_len == 0 {
            return Err("missing unit in duration".to_owned());
        }
        // The unit ends at an ASCII byte (or the end), so the slice is on a char boundary.
        let name = &s[..unit_len];
        s = &s[unit_len..];
        let Some(per) = unit(name) else {
            return Err(format!(
                "unknown unit `{}` in duration",
                super::parser::truncate(name)
            ));
        };
        if whole > LIMIT / per {
            return Err(invalid());
        }
        let mut value = whole * per;
        if fraction > 0 {
            // Go's arithmetic, to the nanosecond: float64(f) * (float64(unit) / scale).
            #[allow(
                clippy::cast_precision_loss,
                clippy::cast_possible_truncation,
                clippy::cast_sign_loss
            )]
            let part = (fraction as f64 * (per as f64 / scale)) as u64;
            value += part;
            if value > LIMIT {
                return Err(invalid());
            }
        }
        total += value;
        if total > LIMIT {
            return Err(invalid());
        }
    }
    if neg {
        // `total <= 2^63`, so its negation fits.
        return Ok(0_i64.wrapping_sub_unsigned(total));
    }
    i64::try_from(total).map_err(|_| invalid())
}

/// Formats nanoseconds as Go's `Duration.String`: `1h2m3.5s`, `1m30s`, `500ms`,
/// `1.5µs`, `0s`.
#[must_use]
pub fn format(nanos: i64) -> String {
    let mut u = nanos.unsigned_abs();
    let mut out = String::new();
    if u < 1_000_000_000 {
        if u == 0 {
            return "0s".to_owned();
        }
        let (prec, suffix) = match u {
            0..1_000 => (0, "ns"),
            1_000..1_000_000 => (3, "\u{b5}s"),
            _ => (6, "ms"),
        };
        let frac = fraction(&mut u, prec);
        out.push_str(&u.to_string());
        out.push_str(&frac);
        out.push_str(suffix);
    } else {
        let frac = fraction(&mut u, 9);
        let seconds = u % 60;
        u /= 60;
        if u > 0 {
            let minutes = u % 60;
            u /= 60;
            if u > 0 {
                out.push_str(&format!("{u}h"));
            }
            out.push_str(&format!("{minutes}m"));
        }
        out.push_str(&format!("{seconds}{frac}s"));
    }
    if nanos < 0 {
        out.insert(0, '-');
    }
    out
}

/// Go's `fmtFrac`: the last `prec` digits of `v` as `.ddd` without trailing zeros
/// (nothing when they are all zero); `v` keeps the rest.
fn fraction(v: &mut u64, prec: u32) -> String {
    let mut digits = Vec::new();
    let mut printed = false;
    for _ in 0..prec {
        let digit = *v % 10;
        printed = printed || digit != 0;
        if printed {
            digits.push(char::from(b'0' + u8::try_from(digit).unwrap_or(0)));
        }
        *v /= 10;
    }
    if digits.is_empty() {
        return String::new();
    }
    digits.push('.');
    digits.iter().rev().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Expected values as Go gives them; the fractional-hour and extreme cases are
    /// from Go's own `time` tests (`parseDurationTests`, `durationTests`).
    macro_rules! test {
        ($name:ident, $text:expr, $nanos:expr, $shown:expr) => {
            #[test]
            fn $name() {
                assert_eq!(parse($text), Ok($nanos));
                assert_eq!(format($nanos), $shown);
            }
        };
    }

    macro_rules! error {
        ($name:ident, $text:expr, $needle:expr) => {
            #[test]
            fn $name() {
                let err = parse($text).expect_err("refused");
                assert!(err.contains($needle), "{err}");
            }
        };
    }

    test!(seconds, "30s", 30_000_000_000, "30s");
    test!(half_minute, "0.5m", 30_000_000_000, "30s");
    test!(ms_to_seconds, "30000ms", 30_000_000_000, "30s");
    test!(compound, "1h2m3.5s", 3_723_500_000_000, "1h2m3.5s");
    test!(hour, "1h", 3_600_000_000_000, "1h0m0s");
    test!(ninety, "90s", 90_000_000_000, "1m30s");
    test!(millis, "500ms", 500_000_000, "500ms");
    test!(micro_us, "1.5us", 1_500, "1.5\u{b5}s");
    test!(micro_sign, "2\u{b5}s", 2_000, "2\u{b5}s");
    test!(micro_mu, "2\u{3bc}s", 2_000, "2\u{b5}s");
    test!(nanos, "7ns", 7, "7ns");
    test!(zero, "0", 0, "0s");
    test!(zero_unit, "0h", 0, "0s");
    test!(plus, "+5s", 5_000_000_000, "5s");
    test!(minus, "-1.5h", -5_400_000_000_000, "-1h30m0s");
    test!(leading_dot, ".5s", 500_000_000, "500ms");
    test!(trailing_dot, "5.s", 5_000_000_000, "5s");
    test!(fraction_of_hour, "0.3h", 1_080_000_000_000, "18m0s");
    test!(fine_fraction, "1.000000001s", 1_000_000_001, "1.000000001s");
    test!(
        third_hour,
        "0.3333333333333333333h",
        1_200_000_000_000,
        "20m0s"
    );
    test!(
        long_fraction,
        "0.100000000000000000000h",
        360_000_000_000,
        "6m0s"
    );
    test!(
        float_fraction,
        "0.830103483285477580700h",
        2_988_372_539_827,
        "49m48.372539827s"
    );
    test!(
        tiny_fraction,
        "8m0.000000001s",
        480_000_000_001,
        "8m0.000000001s"
    );
    test!(
        max,
        "9223372036854775807ns",
        i64::MAX,
        "2562047h47m16.854775807s"
    );
    test!(
        min,
        "-9223372036854775808ns",
        i64::MIN,
        "-2562047h47m16.854775808s"
    );

    error!(empty, "", "invalid duration");
    error!(sign_only, "-", "invalid duration");
    error!(no_unit, "30", "missing unit");
    error!(bad_unit, "3d", "unknown unit `d`");
    error!(dot_only, ".s", "invalid duration");
    error!(space, "1 s", "unknown unit ` s`");
    error!(overflow, "9223372036854775808ns", "invalid duration");
    error!(overflow_hours, "3000000h", "invalid duration");
    error!(letter_first, "s", "invalid duration");
}
