//! Stop signals compared as signals, not spellings: `SIGTERM`, `TERM`, `sigterm` and
//! `15` are one signal to Docker and the kernel, so changing between them changes
//! nothing about how a container stops.

/// Linux signal numbers by name (without `SIG`), as `kill -l` lists them.
const SIGNALS: [(&str, u32); 31] = [
    ("HUP", 1),
    ("INT", 2),
    ("QUIT", 3),
    ("ILL", 4),
    ("TRAP", 5),
    ("ABRT", 6),
    ("BUS", 7),
    ("FPE", 8),
    ("KILL", 9),
    ("USR1", 10),
    ("SEGV", 11),
    ("USR2", 12),
    ("PIPE", 13),
    ("ALRM", 14),
    ("TERM", 15),
    ("STKFLT", 16),
    ("CHLD", 17),
    ("CONT", 18),
    ("STOP", 19),
    ("TSTP", 20),
    ("TTIN", 21),
    ("TTOU", 22),
    ("URG", 23),
    ("XCPU", 24),
    ("XFSZ", 25),
    ("VTALRM", 26),
    ("PROF", 27),
    ("WINCH", 28),
    ("IO", 29),
    ("PWR", 30),
    ("SYS", 31),
];

/// The signal number a stop-signal value names, if it names one.
fn number(value: &str) -> Option<u32> {
    let v = value.trim().to_ascii_uppercase();
    if let Ok(n) = v.parse() {
        return Some(n);
    }
    let name = v.strip_prefix("SIG").unwrap_or(&v);
    if let Some(offset) = name.strip_prefix("RTMIN+") {
        return offset.parse::<u32>().ok().map(|o| 34 + o);
    }
    if name == "RTMIN" {
        return Some(34);
    }
    if name == "IOT" {
        return Some(6);
    }
    SIGNALS
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, number)| *number)
}

/// Whether two stop-signal values name the same signal (or are the same text).
#[must_use]
pub(crate) fn same(a: &str, b: &str) -> bool {
    a == b || number(a).is_some_and(|n| number(b) == Some(n))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spellings_of_one_signal_are_the_same() {
        assert!(same("SIGTERM", "15"));
        assert!(same("TERM", "sigterm"));
        assert!(same("SIGRTMIN+3", "37"));
        assert!(!same("SIGTERM", "SIGINT"));
        assert!(!same("SIGTERM", "SIGBOGUS"));
    }
}
