//! preflight's entry point: parse the CLI, run, map the result to an exit code.

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = preflight::cli::Cli::parse();
    let result = preflight::app::run(cli);
    #[cfg(feature = "rule-timing")]
    preflight::scan::timing::report();
    match result {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            if e.chain().any(|c| {
                c.downcast_ref::<std::io::Error>()
                    .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
            }) {
                return ExitCode::from(preflight::exit::CLEAN);
            }
            eprintln!("preflight: error: {e:#}");
            ExitCode::from(preflight::exit::ERROR)
        }
    }
}
