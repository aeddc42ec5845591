//! `ferroha-testkit-stubborn [PORT]`: a daemon that only SIGKILL ends, for the agents' stop
//! tests. SIGTERM is blocked (it stays pending, never delivered); with a port it answers every
//! HTTP request on 127.0.0.1:PORT with `200 OK`, without one it only sleeps.

use std::io::{Read, Write};
use std::net::TcpListener;
use std::process::ExitCode;
use std::time::Duration;

use nix::sys::signal::{SigSet, Signal};

fn main() -> ExitCode {
    let mut term = SigSet::empty();
    term.add(Signal::SIGTERM);
    if let Err(e) = term.thread_block() {
        eprintln!("stubborn: cannot block SIGTERM: {e}");
        return ExitCode::FAILURE;
    }
    let Some(port) = std::env::args().nth(1) else {
        loop {
            std::thread::sleep(Duration::from_secs(60));
        }
    };
    let listener = match TcpListener::bind(format!("127.0.0.1:{port}")) {
        Ok(l) => l,
        Err(e) => {
            eprintln!("stubborn: cannot listen on 127.0.0.1:{port}: {e}");
            return ExitCode::FAILURE;
        }
    };
    for mut conn in listener.incoming().flatten() {
        let mut buf = [0u8; 4096];
        let _ = conn.read(&mut buf);
        let _ = conn
            .write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\nConnection: close\r\n\r\nok\n");
    }
    ExitCode::SUCCESS
}
