//! Embeds every `patterns/*.toml` rule file into the binary.
use std::{env, fs, path::Path};

fn main() {
    println!("cargo:rerun-if-changed=patterns");
    let dir = Path::new(&env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"))
        .join("patterns");
    let mut files: Vec<_> = fs::read_dir(&dir)
        .expect("patterns/ exists")
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .collect();
    files.sort();
    let mut out = String::from(
        "/// Builtin rule files: (file name, contents).\npub static BUILTIN: &[(&str, &str)] = &[\n",
    );
    for f in &files {
        println!("cargo:rerun-if-changed={}", f.display());
        let name = f.file_name().expect("file name").to_string_lossy();
        out.push_str(&format!(
            "    ({name:?}, include_str!({:?})),\n",
            f.display().to_string()
        ));
    }
    out.push_str("];\n");
    fs::write(
        Path::new(&env::var("OUT_DIR").expect("cargo sets OUT_DIR")).join("builtin_patterns.rs"),
        out,
    )
    .expect("write builtin_patterns.rs");
}
