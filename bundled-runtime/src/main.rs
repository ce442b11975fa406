//! `fnops-runtime`: placeholder binary until the runtime issue lands.
fn main() {
    eprintln!("fnops-runtime: not built yet, see the runtime issue");
    std::process::exit(2);
}
