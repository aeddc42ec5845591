//! Build-time tasks: `ferroha-xtask man DIR` writes every man page of the suite into DIR.
//!
//! One convention: a binary's man page comes from its own crate. The agents' pages (section 7)
//! are generated from their parameter tables, so they cannot drift from meta-data; the other
//! programs' pages (ferroha-api and ferroha-check in section 1, ferroha-mariadb-rebuild in 8) are
//! hand-written in their crates, `<crate>/man/<page>`,
//! where each crate's tests check them against its options. `make man` runs this; `make install`
//! and the `.deb` take the pages from DIR (`target/man`).

use std::path::Path;
use std::process::ExitCode;

use ocf::Agent;

const CHECK_MAN: &str = include_str!("../../crates/check/man/ferroha-check.1");
const API_MAN: &str = include_str!("../../crates/api/man/ferroha-api.1");
const REBUILD_MAN: &str = include_str!("../../agents/mariadb/man/ferroha-mariadb-rebuild.8");

fn man(dir: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    let agents =
        [vip::Vip::INFO, mariadb::Mariadb::INFO, volume::Volume::INFO, restapi::RestApi::INFO];
    for info in agents {
        let page = ocf::doc::man_page(&info);
        std::fs::write(dir.join(format!("ocf_ferroha_{}.7", info.name)), page)?;
    }
    std::fs::write(dir.join("ferroha-api.1"), API_MAN)?;
    std::fs::write(dir.join("ferroha-mariadb-rebuild.8"), REBUILD_MAN)?;
    std::fs::write(dir.join("ferroha-check.1"), CHECK_MAN)
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.iter().map(String::as_str).collect::<Vec<_>>().as_slice() {
        ["man", dir] => match man(Path::new(dir)) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("ferroha-xtask: writing man pages to {dir}: {e}");
                ExitCode::FAILURE
            }
        },
        _ => {
            eprintln!("usage: ferroha-xtask man DIR");
            ExitCode::from(2)
        }
    }
}
