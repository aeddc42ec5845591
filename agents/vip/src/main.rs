fn main() -> std::process::ExitCode {
    ocf::main(&vip::Vip::default())
}
