//! The patched `mysql_common` (third_party/README.md) is the one built: the server-version
//! regexes take ASCII digits only. Published 0.37.3 panics on the first case below (its Unicode
//! `\d` matches the Arabic-Indic zero, then `btoi` fails and is unwrapped).

use mysql_common::constants::{CapabilityFlags, StatusFlags};
use mysql_common::packets::HandshakePacket;

fn handshake(version: &str) -> HandshakePacket<'_> {
    HandshakePacket::new(
        10,
        version.as_bytes(),
        1,
        [0; 8],
        None::<&[u8]>,
        CapabilityFlags::empty(),
        0,
        StatusFlags::empty(),
        None::<&[u8]>,
    )
}

#[test]
fn a_non_ascii_digit_is_no_version() {
    let h = handshake("5.5.5-1\u{0660}.11.6-MariaDB");
    assert_eq!(h.maria_db_server_version_parsed(), None);
    assert_eq!(handshake("1\u{0660}.4.2").server_version_parsed(), None);
}

#[test]
fn real_versions_still_parse() {
    let h = handshake("5.5.5-10.11.6-MariaDB-0+deb12u1-log");
    assert_eq!(h.maria_db_server_version_parsed(), Some((10, 11, 6)));
    assert_eq!(h.server_version_parsed(), Some((5, 5, 5)));
    assert_eq!(handshake("8.0.36").server_version_parsed(), Some((8, 0, 36)));
    assert_eq!(handshake("11.4.2-MariaDB").maria_db_server_version_parsed(), Some((11, 4, 2)));
}
