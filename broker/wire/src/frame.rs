//! Length-prefixed framing: every Kafka request and response is a 4-byte big-endian size
//! followed by that many bytes. Pure functions over buffers; the connection does the I/O.

use bytes::{Buf, Bytes, BytesMut};

use crate::{Error, Result};

/// Most buffer space reserved ahead for a frame that is still arriving: memory follows
/// the bytes actually received, never the size a client announces.
const RESERVE_AHEAD: usize = 64 * 1024;

/// Takes one whole frame off the front of `buf`, or returns `None` if it is not all there.
/// A negative or oversized length is an error: the connection should close.
pub fn take_frame(buf: &mut BytesMut, limit: usize) -> Result<Option<Bytes>> {
    if buf.len() < 4 {
        return Ok(None);
    }
    let size = i32::from_be_bytes([buf[0], buf[1], buf[2], buf[3]]);
    if size < 0 {
        return Err(Error::Malformed(format!("negative frame size {size}")));
    }
    let size = size as usize;
    if size > limit {
        return Err(Error::FrameTooLarge { size, limit });
    }
    if buf.len() < 4 + size {
        buf.reserve((4 + size - buf.len()).min(RESERVE_AHEAD));
        return Ok(None);
    }
    buf.advance(4);
    Ok(Some(buf.split_to(size).freeze()))
}

/// Writes `body` with its length prefix into `out`.
pub fn put_frame(out: &mut BytesMut, body: &[u8]) {
    out.extend_from_slice(&(body.len() as u32).to_be_bytes());
    out.extend_from_slice(body);
}

/// `body` with its length prefix, as one buffer (for tests and one-off writers).
pub fn frame(body: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(body.len() + 4);
    out.extend_from_slice(&(body.len() as u32).to_be_bytes());
    out.extend_from_slice(body);
    out
}

/// The body length announced by a 4-byte prefix, for readers that read the prefix and the
/// body separately (blocking sockets). A negative or oversized length is an error.
pub fn body_len(prefix: [u8; 4], limit: usize) -> Result<usize> {
    let size = i32::from_be_bytes(prefix);
    if size < 0 {
        return Err(Error::Malformed(format!("negative frame size {size}")));
    }
    let size = size as usize;
    if size > limit {
        return Err(Error::FrameTooLarge { size, limit });
    }
    Ok(size)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_partial() {
        let mut out = BytesMut::new();
        put_frame(&mut out, b"hello");
        put_frame(&mut out, b"");
        let mut partial = BytesMut::from(&out[..6]);
        assert_eq!(take_frame(&mut partial, 100).ok().flatten(), None);
        assert_eq!(
            take_frame(&mut out, 100).ok().flatten().as_deref(),
            Some(&b"hello"[..])
        );
        assert_eq!(
            take_frame(&mut out, 100).ok().flatten().as_deref(),
            Some(&b""[..])
        );
        assert!(out.is_empty());
    }

    #[test]
    fn oversized_and_negative_are_errors() {
        let mut big = BytesMut::from(&[0u8, 0, 1, 0][..]);
        assert!(matches!(
            take_frame(&mut big, 10),
            Err(Error::FrameTooLarge { .. })
        ));
        let mut neg = BytesMut::from(&[0xffu8, 0, 0, 0][..]);
        assert!(take_frame(&mut neg, 10).is_err());
        assert!(body_len([0xff, 0, 0, 0], 10).is_err());
        assert!(body_len([0, 0, 1, 0], 10).is_err());
        assert_eq!(body_len([0, 0, 0, 10], 10), Ok(10));
        assert_eq!(&frame(b"ab")[..], &[0, 0, 0, 2, b'a', b'b'][..]);
    }

    #[test]
    fn an_announced_size_reserves_little() {
        let mut buf = BytesMut::from(&(8u32 << 20).to_be_bytes()[..]);
        assert_eq!(take_frame(&mut buf, 16 << 20).ok().flatten(), None);
        assert!(buf.capacity() <= 4 + RESERVE_AHEAD + 64);
    }

    proptest::proptest! {
        #[test]
        fn arbitrary_bytes_never_panic(data in proptest::collection::vec(proptest::num::u8::ANY, 0..64)) {
            let mut buf = BytesMut::from(&data[..]);
            while let Ok(Some(_)) = take_frame(&mut buf, 1 << 20) {}
        }
    }
}
