fn main() -> std::process::ExitCode {
    std::process::ExitCode::from(fnops::run(fnops::cli::parse()))
}
