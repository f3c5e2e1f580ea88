//! Make untrusted text (paths, snippets from scanned repos) safe for a terminal:
//! control characters, including ANSI escape introducers, are shown escaped.

/// Escape control characters; invalid UTF-8 becomes U+FFFD.
pub fn for_terminal(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if c.is_control() && c != '\t' {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn escapes_ansi() {
        assert_eq!(super::for_terminal("a\x1b[31mb\n"), "a\\u{1b}[31mb\\n");
    }
}
