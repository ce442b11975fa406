//! `fnops-runtime`: see the library for the stages.
fn main() -> std::process::ExitCode {
    std::process::ExitCode::from(fnops_runtime::main_entry())
}
