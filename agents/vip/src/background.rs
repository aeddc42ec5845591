//! Finishing the announcement burst after `start` has returned, as IPaddr2's `arp_bg` does.
//!
//! The first announcement goes out before start returns; the rest (`arp_count` − 1 packets,
//! `arp_interval` apart: 0.8 s by default) would otherwise delay everything Pacemaker orders after
//! the VIP. A forked child sends them. It is detached (own session, stdio on /dev/null, so
//! pacemaker-execd, which waits for the agent's pipes to close, does not wait for it) and checks
//! before every packet that the address is still on the interface, so a stop during the burst also
//! ends it: no pid file is needed and a released address is never announced.

// fork(2), setsid(2), dup2(2) and _exit(2) have no safe wrapper in std.
#![allow(unsafe_code)]

use std::fs::OpenOptions;
use std::io;
use std::os::fd::AsRawFd;
use std::panic::{AssertUnwindSafe, catch_unwind};

/// Run `work` in a detached child process and return at once in the parent.
///
/// Must be called while the process is single-threaded (the agent is; it spawns no threads
/// before announcing), so that the child may allocate and make system calls freely.
pub(crate) fn detach(work: impl FnOnce()) -> io::Result<()> {
    let null = OpenOptions::new().read(true).write(true).open("/dev/null")?;
    // SAFETY: the process is single-threaded (see above), so the child starts in a consistent
    // state; it only runs `work` and leaves through _exit.
    let pid = unsafe { libc::fork() };
    if pid < 0 {
        return Err(io::Error::last_os_error());
    }
    if pid > 0 {
        return Ok(());
    }
    // SAFETY: plain system calls on descriptors this process owns; _exit never returns and
    // skips the parent's atexit handlers and buffered stdio, which belong to the parent.
    unsafe {
        libc::setsid();
        for fd in 0..=2 {
            libc::dup2(null.as_raw_fd(), fd);
        }
        let _ = catch_unwind(AssertUnwindSafe(work));
        libc::_exit(0)
    }
}
