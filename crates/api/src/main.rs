fn main() -> std::process::ExitCode {
    ferroha_api::main()
}
