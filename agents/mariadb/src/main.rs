fn main() -> std::process::ExitCode {
    ocf::main(&mariadb::Mariadb)
}
