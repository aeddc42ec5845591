fn main() -> std::process::ExitCode {
    ocf::main(&restapi::RestApi)
}
