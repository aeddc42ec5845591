//! The copy stream between `serve` (on the primary) and `receive` (on the node to rebuild): one
//! TCP connection, authenticated both ways and checked end to end with HMAC-SHA256 keyed by the
//! replication password, which every node of the clone already holds in
//! `replication_passwd_file`. The password itself never travels.
//!
//! 1. serve → receive: the magic line and a 32-byte random challenge `Cs`.
//! 2. receive → serve: its own challenge `Cr` and `HMAC(k, "receive" ‖ Cs ‖ Cr)`.
//! 3. serve checks it (a wrong key ends the connection) and answers `HMAC(k, "serve" ‖ Cr ‖ Cs)`,
//!    which receive checks: each side knows the other holds the password.
//! 4. serve → receive: frames (`type`, big-endian `u32` length, payload): `H` a header line,
//!    `D` backup data, then one `E` with the outcome (`ok`, or why the backup failed) followed
//!    by a tag, the HMAC with key `HMAC(k, "data" ‖ Cs ‖ Cr)` over every frame byte sent.
//!    receive accepts the copy only when the `E` frame says `ok` and the tag matches: nothing
//!    was lost, cut short or altered on the way.
//!
//! The data is not encrypted: it travels in clear like the replication stream between the same
//! nodes. Use a private replication network.

use std::io::{self, Read, Write};

use hmac::{Hmac, Mac};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

const MAGIC: &[u8] = b"FERROHA-REBUILD/1\n";
const NONCE: usize = 32;
const TAG: usize = 32;
/// The largest frame accepted (data frames are written in pieces of at most this).
pub(crate) const MAX_FRAME: usize = 1 << 20;

/// A failure of the stream.
#[derive(Debug, thiserror::Error)]
pub(crate) enum WireError {
    /// Reading or writing the connection.
    #[error("{0}")]
    Io(#[from] io::Error),
    /// The peer does not speak this protocol.
    #[error("the peer is not a ferroha-mariadb-rebuild of this version")]
    Magic,
    /// The peer does not hold the replication password.
    #[error("authentication failed: the peer does not hold this cluster's replication password")]
    Auth,
    /// A frame the protocol does not allow here.
    #[error("protocol error: {0}")]
    Protocol(String),
    /// The final tag does not match what arrived.
    #[error("the copy stream was altered or cut on the way (its end-to-end check failed)")]
    Integrity,
}

fn mac(key: &[u8], parts: &[&[u8]]) -> HmacSha256 {
    let mut m = HmacSha256::new_from_slice(key).expect("HMAC takes a key of any length");
    for p in parts {
        m.update(p);
    }
    m
}

fn nonce() -> io::Result<[u8; NONCE]> {
    let mut n = [0u8; NONCE];
    std::fs::File::open("/dev/urandom")?.read_exact(&mut n)?;
    Ok(n)
}

fn data_key(key: &[u8], cs: &[u8], cr: &[u8]) -> Vec<u8> {
    mac(key, &[b"data", cs, cr]).finalize().into_bytes().to_vec()
}

/// The sending side of an authenticated stream.
#[derive(Debug)]
pub(crate) struct Sender {
    mac: HmacSha256,
}

/// The receiving side.
#[derive(Debug)]
pub(crate) struct Receiver {
    mac: HmacSha256,
    done: bool,
}

/// One frame as received.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Frame {
    /// A header line from the sender.
    Header(String),
    /// A piece of the backup.
    Data(Vec<u8>),
    /// The end, its tag checked: `Ok` when the backup succeeded, else why it failed.
    End(Result<(), String>),
}

/// serve's side of the handshake on an accepted connection.
pub(crate) fn accept(conn: &mut (impl Read + Write), key: &[u8]) -> Result<Sender, WireError> {
    let cs = nonce()?;
    conn.write_all(MAGIC)?;
    conn.write_all(&cs)?;
    conn.flush()?;
    let mut cr = [0u8; NONCE];
    let mut proof = [0u8; TAG];
    conn.read_exact(&mut cr)?;
    conn.read_exact(&mut proof)?;
    mac(key, &[b"receive", &cs, &cr]).verify_slice(&proof).map_err(|_| WireError::Auth)?;
    conn.write_all(&mac(key, &[b"serve", &cr, &cs]).finalize().into_bytes())?;
    conn.flush()?;
    let mac = HmacSha256::new_from_slice(&data_key(key, &cs, &cr)).expect("any key length");
    Ok(Sender { mac })
}

/// receive's side of the handshake on a new connection to serve.
pub(crate) fn connect(conn: &mut (impl Read + Write), key: &[u8]) -> Result<Receiver, WireError> {
    let mut magic = [0u8; MAGIC.len()];
    conn.read_exact(&mut magic)?;
    if magic != MAGIC {
        return Err(WireError::Magic);
    }
    let mut cs = [0u8; NONCE];
    conn.read_exact(&mut cs)?;
    let cr = nonce()?;
    conn.write_all(&cr)?;
    conn.write_all(&mac(key, &[b"receive", &cs, &cr]).finalize().into_bytes())?;
    conn.flush()?;
    let mut proof = [0u8; TAG];
    // A serve that refuses the key closes the connection instead of answering.
    conn.read_exact(&mut proof).map_err(|e| match e.kind() {
        io::ErrorKind::UnexpectedEof | io::ErrorKind::ConnectionReset => WireError::Auth,
        _ => WireError::Io(e),
    })?;
    mac(key, &[b"serve", &cr, &cs]).verify_slice(&proof).map_err(|_| WireError::Auth)?;
    let mac = HmacSha256::new_from_slice(&data_key(key, &cs, &cr)).expect("any key length");
    Ok(Receiver { mac, done: false })
}

impl Sender {
    fn frame(&mut self, w: &mut impl Write, kind: u8, payload: &[u8]) -> io::Result<()> {
        let len = u32::try_from(payload.len()).expect("frames are at most MAX_FRAME").to_be_bytes();
        self.mac.update(&[kind]);
        self.mac.update(&len);
        self.mac.update(payload);
        w.write_all(&[kind])?;
        w.write_all(&len)?;
        w.write_all(payload)
    }

    /// A header line (what is being sent, for the receiving operator).
    pub(crate) fn header(&mut self, w: &mut impl Write, text: &str) -> io::Result<()> {
        self.frame(w, b'H', &text.as_bytes()[..text.len().min(MAX_FRAME)])
    }

    /// Backup data, in frames of at most [`MAX_FRAME`].
    pub(crate) fn data(&mut self, w: &mut impl Write, mut bytes: &[u8]) -> io::Result<()> {
        while !bytes.is_empty() {
            let (now, rest) = bytes.split_at(bytes.len().min(MAX_FRAME));
            self.frame(w, b'D', now)?;
            bytes = rest;
        }
        Ok(())
    }

    /// The outcome and the tag over everything sent.
    pub(crate) fn end(mut self, w: &mut impl Write, outcome: Result<(), &str>) -> io::Result<()> {
        let text = match outcome {
            Ok(()) => "ok".to_owned(),
            Err(why) => format!("error: {why}"),
        };
        self.frame(w, b'E', &text.as_bytes()[..text.len().min(MAX_FRAME)])?;
        w.write_all(&self.mac.finalize().into_bytes())?;
        w.flush()
    }
}

impl Receiver {
    /// The next frame. After [`Frame::End`] the stream is over.
    pub(crate) fn next(&mut self, r: &mut impl Read) -> Result<Frame, WireError> {
        if self.done {
            return Err(WireError::Protocol("read past the end".into()));
        }
        let mut head = [0u8; 5];
        r.read_exact(&mut head).map_err(|e| match e.kind() {
            io::ErrorKind::UnexpectedEof => WireError::Integrity,
            _ => WireError::Io(e),
        })?;
        let len = u32::from_be_bytes([head[1], head[2], head[3], head[4]]) as usize;
        if len > MAX_FRAME {
            return Err(WireError::Protocol(format!("a frame of {len} bytes")));
        }
        let mut payload = vec![0u8; len];
        r.read_exact(&mut payload).map_err(|e| match e.kind() {
            io::ErrorKind::UnexpectedEof => WireError::Integrity,
            _ => WireError::Io(e),
        })?;
        self.mac.update(&head);
        self.mac.update(&payload);
        match head[0] {
            b'H' => Ok(Frame::Header(String::from_utf8_lossy(&payload).into_owned())),
            b'D' => Ok(Frame::Data(payload)),
            b'E' => {
                self.done = true;
                let mut tag = [0u8; TAG];
                r.read_exact(&mut tag).map_err(|_| WireError::Integrity)?;
                self.mac.clone().verify_slice(&tag).map_err(|_| WireError::Integrity)?;
                let text = String::from_utf8_lossy(&payload).into_owned();
                Ok(Frame::End(match text.strip_prefix("error: ") {
                    None if text == "ok" => Ok(()),
                    Some(why) => Err(why.to_owned()),
                    None => Err(text),
                }))
            }
            k => Err(WireError::Protocol(format!("unknown frame type {k}"))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::{TcpListener, TcpStream};
    use std::thread;

    /// serve sends `chunks` on a loopback connection with key `skey`; receive uses `rkey`.
    fn exchange(
        skey: &'static [u8],
        rkey: &'static [u8],
        chunks: Vec<Vec<u8>>,
        tamper: Option<usize>,
    ) -> (Result<(), String>, Result<Vec<Frame>, WireError>) {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = l.local_addr().unwrap();
        let server = thread::spawn(move || -> Result<(), String> {
            let (mut c, _) = l.accept().unwrap();
            let mut tx = accept(&mut c, skey).map_err(|e| e.to_string())?;
            tx.header(&mut c, "node=n1").unwrap();
            let mut buf = Vec::new();
            for ch in &chunks {
                tx.data(&mut buf, ch).unwrap();
            }
            if let Some(at) = tamper {
                buf[at] ^= 1;
            }
            c.write_all(&buf).unwrap();
            tx.end(&mut c, Ok(())).unwrap();
            Ok(())
        });
        let mut c = TcpStream::connect(addr).unwrap();
        let got = connect(&mut c, rkey).and_then(|mut rx| {
            let mut frames = Vec::new();
            loop {
                let f = rx.next(&mut c)?;
                let end = matches!(f, Frame::End(_));
                frames.push(f);
                if end {
                    return Ok(frames);
                }
            }
        });
        drop(c);
        (server.join().unwrap(), got)
    }

    #[test]
    fn a_stream_arrives_whole() {
        let big = vec![7u8; MAX_FRAME + 10];
        let (s, r) = exchange(b"pw", b"pw", vec![b"abc".to_vec(), big.clone()], None);
        s.unwrap();
        let frames = r.unwrap();
        assert_eq!(frames[0], Frame::Header("node=n1".into()));
        let data: Vec<u8> = frames
            .iter()
            .filter_map(|f| if let Frame::Data(d) = f { Some(d.clone()) } else { None })
            .flatten()
            .collect();
        assert_eq!(data.len(), 3 + big.len());
        assert_eq!(frames.last(), Some(&Frame::End(Ok(()))));
    }

    #[test]
    fn a_wrong_password_is_refused_both_ways() {
        let (s, r) = exchange(b"pw", b"other", vec![], None);
        assert!(s.unwrap_err().contains("authentication failed"));
        assert!(matches!(r, Err(WireError::Auth)), "{r:?}");
    }

    #[test]
    fn a_flipped_bit_fails_the_end_to_end_check() {
        let (s, r) = exchange(b"pw", b"pw", vec![b"abcdef".to_vec()], Some(7));
        s.unwrap();
        assert!(matches!(r, Err(WireError::Integrity)), "{r:?}");
    }

    #[test]
    fn a_cut_stream_is_not_a_copy() {
        let mut tx = Sender { mac: HmacSha256::new_from_slice(b"k").unwrap() };
        let mut buf = Vec::new();
        tx.data(&mut buf, b"0123456789").unwrap();
        let mut rx = Receiver { mac: HmacSha256::new_from_slice(b"k").unwrap(), done: false };
        let mut cut = &buf[..buf.len() - 3];
        assert!(matches!(rx.next(&mut cut), Err(WireError::Integrity)));
        // A stream that ends after whole data frames but without its end frame.
        let mut rx = Receiver { mac: HmacSha256::new_from_slice(b"k").unwrap(), done: false };
        let mut whole = &buf[..];
        assert!(matches!(rx.next(&mut whole), Ok(Frame::Data(_))));
        assert!(matches!(rx.next(&mut whole), Err(WireError::Integrity)));
    }

    #[test]
    fn a_failed_backup_says_why() {
        let key = b"k";
        let tx = Sender { mac: HmacSha256::new_from_slice(key).unwrap() };
        let mut buf = Vec::new();
        tx.end(&mut buf, Err("mariadb-backup: exit status 1: lost connection")).unwrap();
        let mut rx = Receiver { mac: HmacSha256::new_from_slice(key).unwrap(), done: false };
        assert_eq!(
            rx.next(&mut &buf[..]).unwrap(),
            Frame::End(Err("mariadb-backup: exit status 1: lost connection".into()))
        );
    }
}
