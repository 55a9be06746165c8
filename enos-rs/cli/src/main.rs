fn main() -> std::process::ExitCode {
    enos_cli::main()
}
