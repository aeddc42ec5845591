fn main() -> std::process::ExitCode {
    mariadb::rebuild::main()
}
