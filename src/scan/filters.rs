//! Pure checks run on a candidate secret after its regex matched: entropy,
//! placeholders, secret-naming keys, JWT structure, env-file parsing.
//!
//! Everything here is a pure function of bytes; nothing allocates on the
//! common path and nothing reads files.

/// Shannon entropy in bits per byte.
pub fn entropy(data: &[u8]) -> f64 {
    if data.is_empty() {
        return 0.0;
    }
    let mut counts = [0u32; 256];
    for &b in data {
        counts[b as usize] += 1;
    }
    let n = data.len() as f64;
    counts
        .iter()
        .filter(|&&c| c > 0)
        .map(|&c| {
            let p = c as f64 / n;
            -p * p.log2()
        })
        .sum()
}

/// Words that mark a value as a placeholder wherever they appear in it.
const PLACEHOLDER_WORDS: &[&str] = &[
    "example",
    "sample",
    "dummy",
    "placeholder",
    "changeme",
    "change_me",
    "change-me",
    "changeit",
    "replace_me",
    "replaceme",
    "replace-me",
    "your_",
    "your-",
    "yourpassword",
    "yoursecret",
    "yourtoken",
    "yourkey",
    "youremail",
    "redacted",
    "notreal",
    "not_real",
    "not-real",
    "fake",
    "mock",
    "foobar",
    "lorem",
    "insert",
    "fixme",
    "todo",
    "xxxx",
    "****",
    "....",
    "____",
    "----",
    "secret_here",
    "_here",
    "-here",
    "<",
    ">",
    "${",
    "{{",
    "}}",
    "#{",
    "%(",
    "$(",
];

/// Whole values (case-insensitive) that are placeholders, types or keywords, not secrets.
const PLACEHOLDER_VALUES: &[&str] = &[
    "test",
    "tests",
    "testing",
    "tester",
    "password",
    "passwd",
    "pass",
    "pwd",
    "secret",
    "secrets",
    "token",
    "apikey",
    "api_key",
    "key",
    "none",
    "null",
    "nil",
    "undefined",
    "true",
    "false",
    "yes",
    "no",
    "on",
    "off",
    "required",
    "optional",
    "string",
    "str",
    "bytes",
    "int",
    "bool",
    "boolean",
    "object",
    "any",
    "text",
    "value",
    "default",
    "env",
    "environment",
    "empty",
    "blank",
    "unknown",
    "unset",
    "hidden",
    "masked",
    "private",
    "public",
    "admin",
    "root",
    "user",
    "username",
    "guest",
    "anonymous",
    "foo",
    "bar",
    "baz",
    "qux",
    "abc",
    "abc123",
    "123",
    "1234",
    "12345",
    "123456",
    "secret123",
    "password123",
    "pass123",
    "mypassword",
    "mysecret",
    "mytoken",
    "mykey",
    "sekret",
    "s3cr3t",
    "p@ssw0rd",
    "p@ssword",
    "passw0rd",
    "letmein",
    "qwerty",
    "hunter2x",
    "postgres",
    "mysql",
    "redis",
    "sa",
    "dev",
    "development",
    "local",
    "localhost",
    "prod",
    "production",
    "staging",
    "ci",
    "docker",
    "bearer",
    "basic",
    "oauth",
    "oauth2",
    "jwt",
    "hmac",
    "sha256",
    "aes",
    "rsa",
    "auto",
    "generate",
    "generated",
    "random",
    "na",
    "n/a",
    "tbd",
    "dummy",
    "none_set",
    "notset",
    "not_set",
    "nothing",
    "secret_key",
    "secretkey",
    "access_token",
    "accesstoken",
    "auth_token",
    "password1",
    "example",
    "option",
    "options",
    "field",
    "input",
    "label",
    "type",
    "name",
    "id",
    "tbd",
    "string?",
    "str?",
];

/// Prefixes of values that reference something else instead of holding a value.
const REFERENCE_PREFIXES: &[&str] = &[
    "$",
    "%",
    "@",
    "&",
    "*",
    "!",
    "#",
    "env:",
    "env.",
    "vault:",
    "secret:",
    "secrets.",
    "ref:",
    // ARNs name resources (including Secrets Manager secrets and KMS keys), never hold them.
    "arn:",
    "ssm:",
    "file:",
    "sm://",
    "op://",
    "awskms:",
    "gcpkms:",
    "azurekeyvault",
    "/",
    "./",
    "../",
    "~/",
    "http://",
    "https://",
    "os.",
    "process.",
    "import.meta",
    "system.",
    "config.",
    "conf.",
    "cfg.",
    "settings.",
    "self.",
    "this.",
    "args.",
    "opts.",
    "options.",
    "params.",
    "request.",
    "req.",
    "ctx.",
    "context.",
    "env[",
    "environ",
    "getenv",
    "std::env",
    "secrets[",
    "vars.",
    "inputs.",
    "props.",
    "window.",
    "document.",
    "localstorage",
    "sessionstorage",
];

fn contains_ci(hay: &[u8], needle: &str) -> bool {
    let n = needle.as_bytes();
    n.len() <= hay.len() && hay.windows(n.len()).any(|w| w.eq_ignore_ascii_case(n))
}

fn starts_with_ci(hay: &[u8], prefix: &str) -> bool {
    hay.len() >= prefix.len() && hay[..prefix.len()].eq_ignore_ascii_case(prefix.as_bytes())
}

/// Does `word` occur in `hay` delimited by non-alphanumerics (ASCII, case-insensitive)?
fn contains_word_ci(hay: &[u8], word: &str) -> bool {
    let w = word.as_bytes();
    if w.len() > hay.len() {
        return false;
    }
    (0..=hay.len() - w.len()).any(|i| {
        hay[i..i + w.len()].eq_ignore_ascii_case(w)
            && (i == 0 || !hay[i - 1].is_ascii_alphanumeric())
            && (i + w.len() == hay.len() || !hay[i + w.len()].is_ascii_alphanumeric())
    })
}

/// Source-code file extensions: there an unquoted right-hand side is an expression.
const CODE_EXTENSIONS: &[&str] = &[
    "py", "pyi", "js", "mjs", "cjs", "jsx", "ts", "tsx", "go", "rs", "java", "kt", "kts", "scala",
    "rb", "php", "c", "h", "cc", "cpp", "hpp", "cs", "swift", "m", "mm", "dart", "lua", "pl", "pm",
    "r", "ex", "exs", "erl", "hs", "ml", "clj", "groovy", "vue", "svelte", "jl", "zig", "nim", "v",
    "sol",
];

/// Is this path a source-code file (by extension)?
pub fn is_code_path(path: &str) -> bool {
    let name = path.rsplit('/').next().unwrap_or(path);
    match name.rsplit_once('.') {
        Some((stem, ext)) if !stem.is_empty() => {
            CODE_EXTENSIONS.iter().any(|e| ext.eq_ignore_ascii_case(e))
        }
        _ => false,
    }
}

/// Context of a candidate secret for the placeholder check.
pub struct ValueContext<'a> {
    /// The captured value.
    pub value: &'a [u8],
    /// The byte just before the value in the blob (quote detection).
    pub before: Option<u8>,
    /// Up to 64 bytes right after the value (code detection: `(`, `.`, `[`; a comma pair
    /// closing its call; the host after `user:pass@`).
    pub after: &'a [u8],
    /// The bytes between the end of the key and the value (closing quote, operator, opening
    /// quote); empty when the rule captures no key.
    pub between: &'a [u8],
    /// Blob path (`None` when not known yet: no path-based filtering).
    pub path: Option<&'a str>,
    /// The key the value was assigned to, when the rule captures one.
    pub key: Option<&'a [u8]>,
}

/// Is the value a placeholder, a reference or code rather than a literal secret?
pub fn is_placeholder(cx: &ValueContext<'_>) -> bool {
    let v = trim_value(cx.value);
    if v.is_empty() {
        return true;
    }
    let quoted = matches!(cx.before, Some(b'"' | b'\'' | b'`'));
    // An unquoted right-hand side in source code is an identifier or expression.
    if !quoted && cx.key.is_some() && cx.path.is_some_and(is_code_path) {
        return true;
    }
    // `("password", "value")`: a comma only pairs a quoted key with its value as the last
    // two items of a call or tuple; elsewhere it separates the words of a list
    // (`'pass', 'raise'`) or the arguments of a call (`scrypt(password, 'salt', 24)`).
    if is_comma_pair(cx.between) && !comma_pair_ok(v, cx) {
        return true;
    }
    // `user:pass@example.com`: hosts reserved for documentation (RFC 2606).
    if cx.after.first() == Some(&b'@') && is_documentation_host(&cx.after[1..]) {
        return true;
    }
    // Followed by a call, index or member access: code, not a value.
    if !quoted
        && matches!(cx.after.first(), Some(b'(' | b'[' | b'.'))
        && cx.after.len() > 1
        && cx.after[1] != b' '
    {
        return true;
    }
    if PLACEHOLDER_VALUES
        .iter()
        .any(|p| v.eq_ignore_ascii_case(p.as_bytes()))
    {
        return true;
    }
    if PLACEHOLDER_WORDS.iter().any(|w| contains_ci(v, w)) {
        return true;
    }
    if contains_word_ci(v, "test")
        || contains_word_ci(v, "example")
        || contains_word_ci(v, "sample")
    {
        return true;
    }
    // The same words as camelCase or digit-suffixed parts: `testPass`, `test123`, `FakeToken`.
    if key_words(v).iter().any(|w| {
        matches!(
            w.trim_end_matches(|c: char| c.is_ascii_digit()),
            "test" | "tests" | "testing" | "example" | "sample" | "dummy" | "fake" | "mock"
        )
    }) {
        return true;
    }
    if REFERENCE_PREFIXES.iter().any(|p| starts_with_ci(v, p)) {
        return true;
    }
    // One character repeated (xxxxxx, 000000, ******) or a short run of one class of punctuation.
    if v.iter().all(|&b| b == v[0]) {
        return true;
    }
    if !v.iter().any(|b| b.is_ascii_alphanumeric()) {
        return true;
    }
    // Sequential runs used as filler: 123456789, abcdefgh.
    if v.len() >= 4 && v.windows(2).all(|w| w[1] == w[0].wrapping_add(1)) {
        return true;
    }
    // Code: calls, member chains, type annotations.
    if v.contains(&b'(') && v.contains(&b')') {
        return true;
    }
    if looks_like_member_chain(v) {
        return true;
    }
    // Prose: several words separated by spaces, or words without digits or symbols
    // (`top secret`, `invalid token`, `development key`).
    if v.iter().filter(|&&b| b == b' ').count() >= 2 || is_prose(v) {
        return true;
    }
    // Format strings (`{registry_id}-auth-token`, `%s`), regexes (`[0-9A-Fa-f]{1,4}`) and
    // version numbers (`1.302103`) are code or data, not credentials.
    if has_format_template(v) || looks_like_regex(v) || is_version_number(v) {
        return true;
    }
    // An identifier that names a secret rather than holding one: `nextToken`,
    // `challengePassword`, `AWSSecretKey`, `mynewpassword`, `sentinel-secret-value`.
    if names_a_secret(v) {
        return true;
    }
    // Elided or code-shaped: `ghp_…[40 chars]`, `abc...`, `token = `.
    if contains_ci(v, "…") || contains_ci(v, "...") || contains_ci(v, "= ") || contains_ci(v, " =")
    {
        return true;
    }
    // The value is itself a secret-naming identifier (`DB_PASSWORD`, `private_key`):
    // a list of key names or a reference, not a value.
    if (v.contains(&b'_') || v.iter().all(|b| !b.is_ascii_lowercase()))
        && v.iter()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'))
        && is_secret_key(v)
    {
        return true;
    }
    // Filler made of a long ascending run (`0123456789`, `abcdefgh`, `defGHijkLMNo`), also
    // when interleaved (`a1b2c3d4567890ab`, `abcd1234defg5678`) in a value assigned to a key:
    // a made-up value.
    if has_ascending_run(v, 8)
        || is_ascending_runs(v)
        || (cx.key.is_some() && has_interleaved_run(v, 8))
    {
        return true;
    }
    // The value repeats its own key: `password: password`, `token = "TOKEN"`.
    if let Some(key) = cx.key {
        let k = key
            .rsplit(|b| matches!(b, b'_' | b'-' | b'.'))
            .next()
            .unwrap_or(key);
        if k.eq_ignore_ascii_case(v) || key.eq_ignore_ascii_case(v) {
            return true;
        }
    }
    false
}

/// Does `v` hold `n` consecutive ascending characters (`01234567`, `abcdefgh`, `dEfGhIjK`)?
fn has_ascending_run(v: &[u8], n: usize) -> bool {
    let mut run = 1;
    for w in v.windows(2) {
        let (a, b) = (w[0].to_ascii_lowercase(), w[1].to_ascii_lowercase());
        if b == a.wrapping_add(1) && b.is_ascii_alphanumeric() && a.is_ascii_alphanumeric() {
            run += 1;
            if run >= n {
                return true;
            }
        } else {
            run = 1;
        }
    }
    false
}

/// Do the digits of `v`, or its letters, read on their own, count up `n` steps in a row
/// (`a1b2c3d4e5f6g7h8`, `abcd1234defg5678`, digits wrapping `7890`)? Random values almost
/// never do: the chance is about one in ten million per position for digits.
fn has_interleaved_run(v: &[u8], n: usize) -> bool {
    let digits: Vec<u8> = v.iter().copied().filter(u8::is_ascii_digit).collect();
    let letters: Vec<u8> = v
        .iter()
        .filter(|b| b.is_ascii_alphabetic())
        .map(u8::to_ascii_lowercase)
        .collect();
    let run = |s: &[u8], step: &dyn Fn(u8) -> u8| {
        let mut run = 1;
        s.windows(2).any(|w| {
            run = if w[1] == step(w[0]) { run + 1 } else { 1 };
            run >= n
        })
    };
    run(&digits, &|d| if d == b'9' { b'0' } else { d + 1 }) || run(&letters, &|c| c + 1)
}

/// Is `between` (key to value) a comma rather than `=`/`:`/`=>`?
fn is_comma_pair(between: &[u8]) -> bool {
    between.contains(&b',') && !between.iter().any(|b| matches!(b, b'=' | b':'))
}

/// A comma pair counts only with a quoted key, the value closing the call or tuple
/// (`setdefault("DB_PASSWORD", "x")`, `("password", "x")`), and a value that is not a
/// plain word (lists of names: `('username', 'password', 'scope')`).
fn comma_pair_ok(v: &[u8], cx: &ValueContext<'_>) -> bool {
    let key_quoted = matches!(cx.between.first(), Some(b'"' | b'\'' | b'`' | b'\\'));
    let mut rest = cx.after;
    while let [b'"' | b'\'' | b'`' | b'\\' | b' ' | b'\t', tail @ ..] = rest {
        rest = tail;
    }
    let closes = rest.first() == Some(&b')');
    let plain_word = v
        .iter()
        .all(|b| b.is_ascii_alphabetic() || matches!(b, b'_' | b'-' | b'.' | b' '));
    key_quoted && closes && !plain_word
}

/// Is the host at the start of `rest` (up to a port, path or quote) one reserved for
/// documentation: `example.com`/`.net`/`.org`, their subdomains, or the `.example` TLD?
fn is_documentation_host(rest: &[u8]) -> bool {
    let end = rest
        .iter()
        .position(|b| !(b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_')))
        .unwrap_or(rest.len());
    let host = rest[..end].to_ascii_lowercase();
    let host = host.strip_suffix(b".").unwrap_or(&host);
    ["example.com", "example.net", "example.org", "example"]
        .iter()
        .any(|d| host == d.as_bytes() || host.ends_with(format!(".{d}").as_bytes()))
}

/// Words without digits or symbols separated by a space: `top secret`, `invalid token`,
/// `Hello, 世界`, `[year] [month]` (punctuation around a word and non-ASCII letters allowed).
fn is_prose(v: &[u8]) -> bool {
    v.contains(&b' ')
        && v.split(|&b| b == b' ').filter(|w| !w.is_empty()).all(|w| {
            let w = w
                .strip_prefix(b"[")
                .or_else(|| w.strip_prefix(b"("))
                .unwrap_or(w);
            let mut w = w;
            while let [
                rest @ ..,
                b'.' | b',' | b':' | b';' | b'!' | b'?' | b']' | b')',
            ] = w
            {
                w = rest;
            }
            !w.is_empty() && w.iter().all(|b| b.is_ascii_alphabetic() || *b >= 0x80)
        })
}

/// Made of ascending runs of three or more only: `ABC12345`, `abc123`, `abcd1234defg5678`.
fn is_ascending_runs(v: &[u8]) -> bool {
    if v.len() < 6 || !v.iter().all(u8::is_ascii_alphanumeric) {
        return false;
    }
    let mut run = 1;
    for w in v.windows(2) {
        if w[1].to_ascii_lowercase() == w[0].to_ascii_lowercase().wrapping_add(1) {
            run += 1;
        } else if run >= 3 {
            run = 1;
        } else {
            return false;
        }
    }
    run >= 3
}

/// `{name}`, `{0}`, `{}`, `{self.x}`, `{:>8}` (f-strings, `str.format`, `format!`), or a
/// printf conversion `%s`/`%d`/`%v`/`%r`/`%q` standing alone.
fn has_format_template(v: &[u8]) -> bool {
    let braces = v.iter().enumerate().any(|(i, &b)| {
        b == b'{'
            && v[i + 1..].iter().position(|&c| c == b'}').is_some_and(|j| {
                let inner = &v[i + 1..i + 1 + j];
                inner
                    .first()
                    .is_none_or(|c| c.is_ascii_alphanumeric() || matches!(c, b'_' | b':'))
                    && inner.iter().all(|c| {
                        c.is_ascii_alphanumeric()
                            || matches!(
                                c,
                                b'_' | b'.' | b':' | b'[' | b']' | b'-' | b'>' | b'<' | b'^'
                            )
                    })
            })
    });
    let printf = v.windows(2).enumerate().any(|(i, w)| {
        w[0] == b'%'
            && matches!(w[1], b's' | b'd' | b'v' | b'r' | b'q')
            && v.get(i + 2).is_none_or(|c| !c.is_ascii_alphanumeric())
    });
    braces || printf
}

/// Regex syntax no password is made of: `(?`, `\d`, `.*`, `[^`, `]{`, `[a-z`, `^...$`.
fn looks_like_regex(v: &[u8]) -> bool {
    const SYNTAX: &[&str] = &[
        "(?", "\\d", "\\w", "\\s", "\\b", ".*", ".+", "[^", "]{", "]*", "]+", "]?", ")*", ")+",
        ")?", "|^", "$|",
    ];
    if SYNTAX.iter().any(|s| contains_ci(v, s)) {
        return true;
    }
    // A character class range: `[a-z`, `[0-9`, `[A-Fa-f`.
    let class = v.windows(4).any(|w| {
        w[0] == b'[' && w[1].is_ascii_alphanumeric() && w[2] == b'-' && w[3].is_ascii_alphanumeric()
    });
    class || (v.len() > 2 && v[0] == b'^' && v[v.len() - 1] == b'$')
}

/// `1.302103`, `2.0.1`: a version number.
fn is_version_number(v: &[u8]) -> bool {
    v.contains(&b'.')
        && v.first().is_some_and(u8::is_ascii_digit)
        && v.last().is_some_and(u8::is_ascii_digit)
        && v.iter().all(|b| b.is_ascii_digit() || *b == b'.')
}

/// Is `v` an identifier that names a secret (`nextToken`, `challengePassword`,
/// `AWSSecretKey`, `user_password`, `mynewpassword`) rather than a secret value? Only
/// identifier-shaped values count: every camelCase/snake_case word is letters with optional
/// trailing digits, which random or made-up passwords (`w1nterIsC0ming`) are not; a bare
/// noun with digits (`Secret2024`) stays a value.
fn names_a_secret(v: &[u8]) -> bool {
    let v = v.strip_prefix(b"_").unwrap_or(v);
    if !v.first().is_some_and(u8::is_ascii_alphabetic)
        || !v
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'))
    {
        return false;
    }
    let words = key_words(v);
    let shaped = words.iter().all(|w| {
        let letters = w.trim_end_matches(|c: char| c.is_ascii_digit());
        letters.is_empty() || letters.bytes().all(|b| b.is_ascii_lowercase())
    });
    if !shaped {
        return false;
    }
    const NOUNS: &[&str] = &[
        "password",
        "passwd",
        "passphrase",
        "secret",
        "secrets",
        "token",
        "tokens",
        "credential",
        "credentials",
        "apikey",
        "key",
        "keys",
    ];
    let noun_word = words.len() >= 2
        && words
            .iter()
            .any(|w| NOUNS.contains(&w.trim_end_matches(|c: char| c.is_ascii_digit())));
    // One run-together word: `mynewpassword`, `generatedwebdavpassword1`.
    let joined = words.len() == 1 && {
        let w = words[0].trim_end_matches(|c: char| c.is_ascii_digit());
        [
            "password",
            "passwd",
            "passphrase",
            "secret",
            "token",
            "credential",
            "apikey",
        ]
        .iter()
        .any(|n| w.len() > n.len() && w.contains(n))
    };
    noun_word || joined
}

fn trim_value(v: &[u8]) -> &[u8] {
    let mut v = v;
    while let [first, rest @ ..] = v {
        if first.is_ascii_whitespace() || matches!(first, b'"' | b'\'' | b'`') {
            v = rest;
        } else {
            break;
        }
    }
    while let [rest @ .., last] = v {
        if last.is_ascii_whitespace() || matches!(last, b'"' | b'\'' | b'`' | b',' | b';') {
            v = rest;
        } else {
            break;
        }
    }
    v
}

/// `a.b.c` / `foo.bar` made of identifier characters only: an attribute access.
fn looks_like_member_chain(v: &[u8]) -> bool {
    let parts = v.split(|&b| b == b'.').count();
    parts >= 2
        && v.split(|&b| b == b'.').all(|p| {
            !p.is_empty()
                && (p[0].is_ascii_alphabetic() || p[0] == b'_')
                && p.iter().all(|b| b.is_ascii_alphanumeric() || *b == b'_')
        })
        && v.iter().any(|b| b.is_ascii_lowercase())
}

/// Nouns that make a key name a secret.
const SECRET_NOUNS: &[&str] = &[
    "password",
    "passwd",
    "passphrase",
    "pass",
    "pwd",
    "secret",
    "token",
    "apikey",
    "credential",
    "credentials",
    "pat",
];
/// Nouns that are secrets only with a qualifier before them (`api_key`, `private_key`).
const QUALIFIED_KEY_WORDS: &[&str] = &[
    "api",
    "access",
    "secret",
    "private",
    "auth",
    "signing",
    "encryption",
    "master",
    "client",
    "app",
    "account",
    "service",
    "session",
    "admin",
    "webhook",
    "hmac",
    "jwt",
    "license",
    "subscription",
];
/// Words that, anywhere in the key, say the value is not a secret.
const NON_SECRET_WORDS: &[&str] = &[
    "public",
    "pub",
    "csrf",
    "xsrf",
    "page",
    "next",
    "prev",
    "cursor",
    "continuation",
    "sync",
    "max",
    "min",
    "num",
    "count",
    "length",
    "len",
    "size",
    "is",
    "has",
    "use",
    "show",
    "hide",
    "forgot",
    "reset",
    "label",
    "placeholder",
    "hint",
    "prompt",
    "msg",
    "message",
    "error",
    "err",
    "input",
    "field",
    "form",
    "type",
    "kind",
    "mode",
    "policy",
    "regex",
    "pattern",
    "format",
    "url",
    "uri",
    "endpoint",
    "path",
    "file",
    "dir",
    "name",
    "id",
    "ids",
    "header",
    "prefix",
    "suffix",
    "env",
    "var",
    "expiry",
    "expires",
    "expiration",
    "ttl",
    "timeout",
    "lifetime",
    "duration",
    "age",
    "enabled",
    "enable",
    "disabled",
    "required",
    "validation",
    "validator",
    "strength",
    "rule",
    "rules",
    "hash",
    "hashed",
    "digest",
    "salt",
    "algorithm",
    "algo",
    "method",
    "location",
    "ref",
    "arn",
    "version",
    "index",
    "position",
    "pos",
    "start",
    "end",
    "limit",
    "ui",
    "button",
    "text",
    "title",
    "description",
    "help",
    "link",
    "column",
    "col",
    "table",
    "param",
    "params",
    "query",
    "event",
    "events",
    "handler",
    "callback",
    "fn",
    "func",
    "function",
    "class",
    "struct",
    "test",
    "mock",
    "fake",
    "dummy",
    "example",
    "sample",
    "default",
    "store",
    "storage",
    "manager",
    "provider",
    "service",
    "client",
    "factory",
    "source",
    "sources",
    "generator",
    "parser",
    "lexer",
    "stream",
    "iter",
    "list",
    "map",
    "set",
    "key",
    "keys",
    "field",
    "bucket",
    "usage",
    "tokenizer",
    "tokens",
    "secret",
    "level",
    "scope",
    "scopes",
    // Bookkeeping tokens (pagination, idempotency, optimistic locking), not credentials.
    "output",
    "request",
    "idempotency",
    "lock",
    "change",
    "pagination",
    // Values that are wrong on purpose: negative test inputs.
    "wrong",
    "invalid",
    "incorrect",
    "bad",
    "bogus",
];

/// Split a key into lowercase words on `_ - . space` and camelCase boundaries.
pub fn key_words(key: &[u8]) -> Vec<String> {
    let mut words = Vec::new();
    let mut cur = String::new();
    let mut prev_lower = false;
    for &b in key {
        if !b.is_ascii_alphanumeric() {
            if !cur.is_empty() {
                words.push(std::mem::take(&mut cur));
            }
            prev_lower = false;
            continue;
        }
        if b.is_ascii_uppercase() && prev_lower && !cur.is_empty() {
            words.push(std::mem::take(&mut cur));
        }
        prev_lower = b.is_ascii_lowercase() || b.is_ascii_digit();
        cur.push(b.to_ascii_lowercase() as char);
    }
    if !cur.is_empty() {
        words.push(cur);
    }
    words
}

/// Does this key name hold a secret (`DB_PASSWORD`, `apiKey`, `client_secret`) rather than
/// something about a secret (`password_length`, `token_url`, `public_key`)?
pub fn is_secret_key(key: &[u8]) -> bool {
    let mut words = key_words(key);
    // Trailing digits (`password2`) and plural `s` are part of the noun.
    while words
        .last()
        .is_some_and(|w| w.bytes().all(|b| b.is_ascii_digit()))
    {
        words.pop();
    }
    let Some(last) = words.last() else {
        return false;
    };
    let last = last.trim_end_matches(|c: char| c.is_ascii_digit());
    let n = words.len();
    let noun_ok =
        if SECRET_NOUNS.contains(&last) || last == "passwords" || last == "secrets" && n > 1 {
            true
        } else if last == "key" && n >= 2 {
            QUALIFIED_KEY_WORDS.contains(&words[n - 2].as_str())
        } else {
            // `apiKey` style joined words: apikey, secretkey, privatekey, accesskey, authtoken.
            [
                "apikey",
                "secretkey",
                "privatekey",
                "accesskey",
                "authtoken",
                "accesstoken",
                "authkey",
                "signingkey",
            ]
            .contains(&last)
        };
    if !noun_ok {
        return false;
    }
    // Bare `secret` as a whole key is fine, but `secret` used as a qualifier of another word
    // is caught by the noun position above; here reject non-secret qualifiers before the noun.
    let qualifiers = &words[..n - 1];
    !qualifiers.iter().any(|w| {
        let w = w.as_str();
        NON_SECRET_WORDS.contains(&w)
            && !(w == "secret" || w == "service" || w == "client" || w == "key")
    })
}

/// Minimum length of a generic value: passwords may be short, other secrets may not.
pub fn generic_value_ok(key: &[u8], value: &[u8]) -> bool {
    let words = key_words(key);
    let passwordish = words.iter().any(|w| {
        matches!(
            w.as_str(),
            "password" | "passwd" | "pass" | "pwd" | "passphrase" | "passwords"
        )
    });
    let v = trim_value(value);
    if passwordish {
        return v.len() >= 4;
    }
    // `pat` is a personal access token only when the value is token-sized; in code it is
    // far more often a pattern (`HEX_PAT = "[0-9A-Fa-f]{1,4}"`).
    if words
        .last()
        .is_some_and(|w| w.trim_end_matches(|c: char| c.is_ascii_digit()) == "pat")
        && (v.len() < 20 || v.contains(&b' '))
    {
        return false;
    }
    // Tokens and keys: long enough and not a plain word.
    v.len() >= 8
        && (v.iter().any(|b| b.is_ascii_digit())
            || (v.iter().any(|b| b.is_ascii_uppercase())
                && v.iter().any(|b| b.is_ascii_lowercase()))
            || v.iter().any(|b| !b.is_ascii_alphanumeric()))
        && entropy(v) >= 2.5
}

/// Is `token` a JWT whose header decodes to a JSON object with an `alg`?
pub fn is_jwt(token: &[u8]) -> bool {
    let mut parts = token.split(|&b| b == b'.');
    let (Some(header), Some(payload)) = (parts.next(), parts.next()) else {
        return false;
    };
    let Some(h) = base64url_decode(header) else {
        return false;
    };
    let Ok(h) = serde_json::from_slice::<serde_json::Value>(&h) else {
        return false;
    };
    if h.get("alg").and_then(|a| a.as_str()).is_none() {
        return false;
    }
    // An unsigned token (`alg: none`) grants nothing by itself.
    if h.get("alg")
        .and_then(|a| a.as_str())
        .is_some_and(|a| a.eq_ignore_ascii_case("none"))
    {
        return false;
    }
    base64url_decode(payload).is_some_and(|p| {
        serde_json::from_slice::<serde_json::Value>(&p).is_ok_and(|v| v.is_object())
    })
}

/// Decode unpadded base64url (also accepts standard alphabet and padding).
pub fn base64url_decode(s: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(s.len() * 3 / 4);
    let mut acc = 0u32;
    let mut bits = 0;
    for &c in s {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'-' | b'+' => 62,
            b'_' | b'/' => 63,
            b'=' => break,
            _ => return None,
        };
        acc = (acc << 6) | v as u32;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
        }
    }
    Some(out)
}

/// One `KEY=value` line of an env file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnvEntry {
    /// The key.
    pub key: String,
    /// Whether the value looks like a real secret: a secret-named key or a long random
    /// value, and not empty or a placeholder.
    pub real: bool,
}

/// Parse env-file lines (`KEY=value`, `export KEY=value`, comments ignored).
pub fn parse_env(data: &[u8], path: &str) -> Vec<EnvEntry> {
    let mut out = Vec::new();
    for line in data.split(|&b| b == b'\n') {
        let line = line.trim_ascii();
        if line.is_empty() || line[0] == b'#' {
            continue;
        }
        let line = line
            .strip_prefix(b"export ")
            .unwrap_or(line)
            .trim_ascii_start();
        let Some(eq) = line.iter().position(|&b| b == b'=') else {
            continue;
        };
        let key = line[..eq].trim_ascii();
        if key.is_empty()
            || !key
                .iter()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'))
        {
            continue;
        }
        let mut value = line[eq + 1..].trim_ascii();
        // Strip an inline comment on unquoted values.
        if !matches!(value.first(), Some(b'"' | b'\'')) {
            if let Some(h) = value.windows(2).position(|w| w == b" #") {
                value = value[..h].trim_ascii();
            }
        }
        let quoted = matches!(value.first(), Some(b'"' | b'\''));
        let inner = trim_value(value);
        let real = !inner.is_empty()
            && !is_placeholder(&ValueContext {
                value: inner,
                before: if quoted { Some(b'"') } else { None },
                after: b"",
                between: b"=",
                path: Some(path),
                key: Some(key),
            })
            && !is_trivial_setting(inner)
            && (is_secret_key(key) || (inner.len() >= 16 && entropy(inner) >= 3.5));
        out.push(EnvEntry {
            key: String::from_utf8_lossy(key).into_owned(),
            real,
        });
    }
    out
}

/// Values in env files that are settings, not secrets: numbers, booleans, hostnames, log levels.
fn is_trivial_setting(v: &[u8]) -> bool {
    v.iter().all(|b| b.is_ascii_digit() || *b == b'.')
        || [
            "debug", "info", "warn", "warning", "error", "trace", "utf-8", "utf8", "json", "text",
        ]
        .iter()
        .any(|w| v.eq_ignore_ascii_case(w.as_bytes()))
}

/// Env file name classes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EnvFileKind {
    /// `.env`, `.env.production`, ...: committed configuration.
    Real,
    /// `.env.example` and friends: templates, findings only with real values.
    Template,
}

/// Classify an env file by name.
pub fn env_file_kind(path: &str) -> EnvFileKind {
    let name = path.rsplit('/').next().unwrap_or(path).to_ascii_lowercase();
    let templ = [
        "example", "sample", "template", "dist", "tmpl", "tpl", "defaults", "default", "skel",
        "schema",
    ];
    if name.split('.').any(|part| templ.contains(&part)) {
        EnvFileKind::Template
    } else {
        EnvFileKind::Real
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ph(v: &str, key: &str, path: &str) -> bool {
        is_placeholder(&ValueContext {
            value: v.as_bytes(),
            before: Some(b'"'),
            after: b"",
            between: b"=",
            path: Some(path),
            key: Some(key.as_bytes()),
        })
    }

    #[test]
    fn placeholders_are_recognised() {
        for v in [
            "",
            "${DB_PASS}",
            "$DB_PASS",
            "<your-key>",
            "changeme",
            "xxxxxxxx",
            "example-key",
            "dummy",
            "test",
            "os.environ[\"X\"]",
            "process.env.TOKEN",
            "getenv(\"X\")",
            "{{ vault_pw }}",
            "%(pw)s",
            "********",
            "your_api_key_here",
            "settings.SECRET",
        ] {
            assert!(
                ph(v, "password", "config.yml"),
                "{v:?} should be a placeholder"
            );
        }
    }

    #[test]
    fn real_values_are_not_placeholders() {
        for v in ["hunter2!", "Tr0ub4dor&3", "s9d8f7g6h5j4", "correcthorse"] {
            assert!(!ph(v, "password", "config.yml"), "{v:?} should be real");
        }
    }

    #[test]
    fn unquoted_rhs_in_code_is_an_expression() {
        let cx = ValueContext {
            value: b"user_password",
            before: Some(b' '),
            after: b"\n",
            between: b" = ",
            path: Some("app.py"),
            key: Some(b"password"),
        };
        assert!(is_placeholder(&cx));
        let cx = ValueContext {
            value: b"hunter22",
            before: Some(b' '),
            after: b"\n",
            between: b" = ",
            path: Some(".env"),
            key: Some(b"password"),
        };
        assert!(!is_placeholder(&cx));
    }

    #[test]
    fn secret_keys() {
        for k in [
            "password",
            "DB_PASSWORD",
            "dbPassword",
            "api_key",
            "apiKey",
            "client_secret",
            "SECRET_KEY",
            "private_key",
            "auth_token",
            "GITHUB_TOKEN",
            "secret",
            "smtp_pass",
            "passwd",
            "password2",
        ] {
            assert!(is_secret_key(k.as_bytes()), "{k} should be a secret key");
        }
        for k in [
            "password_length",
            "token_url",
            "public_key",
            "next_page_token",
            "secret_name",
            "tokenizer",
            "key",
            "passport",
            "csrf_token",
            "password_hash",
            "max_tokens",
            "token_type",
            "bypass",
            "monkey",
            "output_token",
            "ClientRequestToken",
            "IdempotencyToken",
            "LockToken",
            "wrong_password",
            "INCORRECT_PASSWD",
            "invalid_token",
        ] {
            assert!(
                !is_secret_key(k.as_bytes()),
                "{k} should not be a secret key"
            );
        }
    }

    fn cx<'a>(v: &'a str, key: &'a str, between: &'a str, after: &'a str, path: &'a str) -> bool {
        is_placeholder(&ValueContext {
            value: v.as_bytes(),
            before: Some(b'"'),
            after: after.as_bytes(),
            between: between.as_bytes(),
            path: Some(path),
            key: Some(key.as_bytes()),
        })
    }

    #[test]
    fn comma_pairs_need_a_quoted_key_and_the_closing_value() {
        // Key/value pairs as the last two items of a call or tuple.
        assert!(!cx("Tr0ub4dor&3", "DB_PASSWORD", "\", \"", "\")", "app.py"));
        assert!(!cx("hunter22", "password", "', '", "')\n", "app.py"));
        assert!(!cx("yh^%#rest", "password", "', '", "'),", "test.py"));
        // Lists of words, argument lists, unquoted keys.
        assert!(cx("raise", "pass", "', '", "', 'nonlocal'", "lexer.py"));
        assert!(cx("copy_context", "Token", "', '", "')", "contextvars.py"));
        assert!(cx("salt", "password", ", '", "', 24, cb)", "crypto.md"));
        assert!(cx("utf8", "passwd", "', '", "', callback)", "fs.md"));
        assert!(cx("getpwuid", "pwd", ", '", "', return_value=r)", "t.py"));
        assert!(cx(
            "dep:gix-prompt",
            "gix-credentials",
            "\", \"",
            "\", \"dep:x\"]",
            "Cargo.toml"
        ));
        // `=`/`:` pairs are unaffected.
        assert!(!cx("hunter22", "password", " = '", "'\n", "app.py"));
    }

    #[test]
    fn documentation_hosts_are_placeholders() {
        for after in [
            "@example.com/path",
            "@db.example.org:5432/app",
            "@Example.NET",
            "@api.example\"",
        ] {
            assert!(cx("s3cr3tPass9", "", "", after, "README.md"), "{after}");
        }
        for after in [
            "@db.internal:5432",
            "@example.com.evil.io/",
            "@myexample.com",
            "@10.0.0.1",
        ] {
            assert!(!cx("s3cr3tPass9", "", "", after, "README.md"), "{after}");
        }
    }

    #[test]
    fn code_shaped_values_are_placeholders() {
        for v in [
            "{registry_id}-auth-token",
            "{self.client_request_token}",
            "share-{portfolio_id}-{org_type}",
            "user-{}",
            "%s:%s",
            "[0-9A-Fa-f]{1,4}",
            ".*[a&&b]A|B",
            "fr.comp.lang.*",
            "^[a-z]+$",
            "(?i)secret",
            "1.302103",
            "2.0.1",
            "arn:aws:kms:us-west-2:417498243647:key/c9fe2447",
            "arn:aws:iam::aws:policy/IAMUserChangePassword",
            "top secret",
            "invalid token",
            "development key",
            "Not TrioTokentype",
            "Hello, 世界",
            "[year] [month]",
        ] {
            assert!(
                ph(v, "password", "config.yml"),
                "{v:?} should be a placeholder"
            );
        }
        for v in [
            "Tr0ub4dor&3",
            "h]6EszR}vJ*m",
            "p%40ss%3Aword",
            "Winter 2024!",
            "3s0K_;xh4~8XXI",
        ] {
            assert!(!ph(v, "password", "config.yml"), "{v:?} should be real");
        }
    }

    #[test]
    fn identifiers_naming_secrets_are_placeholders() {
        for v in [
            "nextToken",
            "NextPageToken",
            "challengePassword",
            "AWSSecretKey",
            "AWS_ACCESS_KEY_ID",
            "aws_access_key_id",
            "pkcs-9-at-pkcs15Token",
            "SuperSecretToken",
            "sentinel-secret-never-in-errors",
            "mynewpassword",
            "generatedwebdavpassword1",
            "TKSmartCardTokenDriver",
            "_DSAPrivateKey",
        ] {
            assert!(
                ph(v, "secret", "config.json"),
                "{v:?} should be a placeholder"
            );
        }
        for v in [
            "Secret2024",
            "w1nterIsC0ming",
            "Gl4cier-Pa55w0rd-42",
            "Zx9Yw8Vu7Ts6Rq5Po4Nm3Lk2",
            "q8Zf3kLm9PzX2vB7nR4tY6wQ",
            "hunter22",
            "correcthorse",
        ] {
            assert!(!ph(v, "secret", "config.json"), "{v:?} should be real");
        }
    }

    #[test]
    fn test_words_and_filler_runs_are_placeholders() {
        for v in [
            "testPass",
            "test123",
            "FakeToken9",
            "abcd1234defg5678",
            "a1b2c3d4567890ab",
            "a123b45c6d78e9f012a34cd5e6a7890b12c3d45e6f78",
            "AB1C2defGHijkLMNo3PqQRstUvwxyza",
            "ABC12345",
            "abc123xyz",
        ] {
            assert!(
                ph(v, "token", "config.json"),
                "{v:?} should be a placeholder"
            );
        }
        for v in [
            "okvlMC3nhPdlWA^z#VI27t",
            "rbC9BS!sFeDqkknMLZ61e1",
            "ZXH5hBkuG9EKP9A6qvH2jL",
            "contest2024",
            "9f8e7d6c5b4a39281706f5e4d3c2b1a0",
        ] {
            assert!(!ph(v, "token", "config.json"), "{v:?} should be real");
        }
    }

    #[test]
    fn pat_keys_need_token_sized_values() {
        assert!(!generic_value_ok(b"HEX_PAT", b"[0-9A-Fa-f]{1,4}"));
        assert!(!generic_value_ok(b"pat", b"abc123xyz9"));
        assert!(generic_value_ok(
            b"ADO_PAT",
            b"q4z7x2m9k1p8w3n6r5t0y7u2i9o4l1j8h3g6f5d0s7a2"
        ));
    }

    #[test]
    fn jwt_header_is_decoded() {
        // {"alg":"HS256","typ":"JWT"} . {"sub":"fake"} . sig
        assert!(is_jwt(
            b"eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJmYWtlIn0.c2lnbmF0dXJl"
        ));
        assert!(!is_jwt(b"eyJub3RhbGciOjF9.eyJzdWIiOiJmYWtlIn0.c2ln"));
    }

    #[test]
    fn env_parse_marks_real_values() {
        let e = parse_env(
            b"# c\nDB_HOST=localhost\nDB_PASSWORD=hunter22x\nAPI_KEY=\nexport TOKEN=${T}\n",
            ".env",
        );
        let real: Vec<_> = e
            .iter()
            .filter(|e| e.real)
            .map(|e| e.key.as_str())
            .collect();
        assert_eq!(real, ["DB_PASSWORD"]);
        assert_eq!(env_file_kind("a/.env.example"), EnvFileKind::Template);
        assert_eq!(env_file_kind(".env.production"), EnvFileKind::Real);
    }

    #[test]
    fn entropy_bounds() {
        assert_eq!(entropy(b"aaaa"), 0.0);
        assert!((entropy(b"ab") - 1.0).abs() < 1e-9);
    }
}
