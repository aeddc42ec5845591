fn main() -> std::process::ExitCode {
    ocf::main(&volume::Volume)
}
