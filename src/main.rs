use clap::Parser as _;

fn main() -> std::process::ExitCode {
    let cli = fnops::cli::Cli::parse();
    std::process::ExitCode::from(fnops::run(cli))
}
