//! The `enos` command: see the `enos-cli` library.
fn main() -> std::process::ExitCode {
    enos_cli::main()
}
