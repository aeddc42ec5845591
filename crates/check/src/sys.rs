//! The two system calls std does not wrap for us, through nix.

use std::io;

use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;

/// Sends SIGKILL to the process group `pgid`.
///
/// Agents are usually shell scripts whose children (`sleep`, `ip`, a hung `mysql`) would survive a
/// kill of the shell alone. Every agent process is spawned as the leader of its own group, so the
/// group id equals the child's pid. The caller must not have reaped the child yet: the unreaped
/// zombie keeps the group id from being reused, so the signal cannot hit an unrelated group.
pub(crate) fn kill_process_group(pgid: u32) -> io::Result<()> {
    let pgid = i32::try_from(pgid)
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "pid out of range"))?;
    killpg(Pid::from_raw(pgid), Signal::SIGKILL).map_err(io::Error::from)
}

/// Whether the checker runs with effective uid 0 (then it can also run meta-data as `nobody`).
pub(crate) fn is_root() -> bool {
    nix::unistd::geteuid().is_root()
}
