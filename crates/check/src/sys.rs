//! The two system calls std does not wrap for us.
//!
//! This is the only module with `unsafe`, kept to one call per function so each can be reviewed on
//! its own. The workspace denies `unsafe_code`; the allows below are deliberately per function.

use std::io;

/// Sends SIGKILL to the process group `pgid`.
///
/// Agents are usually shell scripts whose children (`sleep`, `ip`, a hung `mysql`) would survive a
/// kill of the shell alone. Every agent process is spawned as the leader of its own group, so the
/// group id equals the child's pid. The caller must not have reaped the child yet: the unreaped
/// zombie keeps the group id from being reused, so the signal cannot hit an unrelated group.
pub(crate) fn kill_process_group(pgid: u32) -> io::Result<()> {
    let pgid = libc::pid_t::try_from(pgid)
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "pid out of range"))?;
    // SAFETY: kill(2) takes plain integers and touches no memory of ours.
    #[allow(unsafe_code)]
    let rc = unsafe { libc::kill(-pgid, libc::SIGKILL) };
    if rc == 0 { Ok(()) } else { Err(io::Error::last_os_error()) }
}

/// Whether the checker runs with effective uid 0 (then it can also run meta-data as `nobody`).
pub(crate) fn is_root() -> bool {
    // SAFETY: geteuid(2) cannot fail and has no arguments.
    #[allow(unsafe_code)]
    let euid = unsafe { libc::geteuid() };
    euid == 0
}
