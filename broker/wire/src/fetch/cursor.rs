//! The byte cursors the Fetch codecs write and read with: [`Staged`] gathers what is
//! written on the stack and appends it to the buffer in one copy; [`Reader`] walks a body,
//! checking every length against what is left.

use bytes::{BufMut, Bytes, BytesMut};
use kafka_protocol::protocol::StrBytes;

use crate::{Error, Result};

/// Bytes on their way to `out`, gathered on the stack first: a request of a few
/// partitions reaches the buffer in one copy, not one capacity check and copy per field.
pub(super) struct Staged<'o> {
    out: &'o mut BytesMut,
    buf: [u8; 256],
    len: usize,
}

impl<'o> Staged<'o> {
    pub(super) fn new(out: &'o mut BytesMut) -> Self {
        Staged {
            out,
            buf: [0; 256],
            len: 0,
        }
    }
    #[inline(always)]
    pub(super) fn put(&mut self, bytes: &[u8]) {
        if self.len + bytes.len() > self.buf.len() {
            self.flush();
            if bytes.len() > self.buf.len() {
                self.out.put_slice(bytes);
                return;
            }
        }
        self.buf[self.len..self.len + bytes.len()].copy_from_slice(bytes);
        self.len += bytes.len();
    }
    pub(super) fn flush(&mut self) {
        self.out.put_slice(&self.buf[..self.len]);
        self.len = 0;
    }
    #[inline(always)]
    pub(super) fn u8(&mut self, v: u8) {
        self.put(&[v]);
    }
    #[inline(always)]
    pub(super) fn i16(&mut self, v: i16) {
        self.put(&v.to_be_bytes());
    }
    #[inline(always)]
    pub(super) fn i32(&mut self, v: i32) {
        self.put(&v.to_be_bytes());
    }
    #[inline(always)]
    pub(super) fn i64(&mut self, v: i64) {
        self.put(&v.to_be_bytes());
    }
    pub(super) fn uvarint(&mut self, mut v: u64) {
        while v >= 0x80 {
            self.u8((v as u8) | 0x80);
            v >>= 7;
        }
        self.u8(v as u8);
    }
    /// An array's length, compact (`n + 1` as a varint) or classic.
    pub(super) fn len(&mut self, n: usize, flexible: bool) -> Result<()> {
        if flexible {
            self.uvarint(n as u64 + 1);
        } else {
            let n = i32::try_from(n).map_err(|_| Error::Encode("array too long".into()))?;
            self.i32(n);
        }
        Ok(())
    }
    pub(super) fn string(&mut self, s: &str, compact: bool) -> Result<()> {
        if compact {
            self.uvarint(s.len() as u64 + 1);
        } else {
            let n = i16::try_from(s.len()).map_err(|_| Error::Encode("string too long".into()))?;
            self.i16(n);
        }
        self.put(s.as_bytes());
        Ok(())
    }
}

/// A cursor over a body; every read checks what is left.
pub(super) struct Reader<'a> {
    pub(super) buf: &'a Bytes,
    pub(super) at: usize,
}

impl<'a> Reader<'a> {
    #[inline]
    pub(super) fn take(&mut self, n: usize) -> Result<&'a [u8]> {
        let end = self
            .at
            .checked_add(n)
            .filter(|end| *end <= self.buf.len())
            .ok_or_else(|| Error::Malformed("Fetch response cut short".into()))?;
        let bytes = &self.buf[self.at..end];
        self.at = end;
        Ok(bytes)
    }

    #[inline]
    pub(super) fn skip(&mut self, n: usize) -> Result<()> {
        self.take(n).map(|_| ())
    }

    #[inline]
    pub(super) fn array<const N: usize>(&mut self) -> Result<[u8; N]> {
        let mut a = [0; N];
        a.copy_from_slice(self.take(N)?);
        Ok(a)
    }

    #[inline]
    pub(super) fn i16(&mut self) -> Result<i16> {
        self.array().map(i16::from_be_bytes)
    }

    #[inline]
    pub(super) fn i32(&mut self) -> Result<i32> {
        self.array().map(i32::from_be_bytes)
    }

    #[inline]
    pub(super) fn i64(&mut self) -> Result<i64> {
        self.array().map(i64::from_be_bytes)
    }

    #[inline]
    pub(super) fn uvarint(&mut self) -> Result<u64> {
        crate::header::uvarint(self.buf, &mut self.at)
    }

    /// A length (array or bytes) that may be null: `None` for null.
    pub(super) fn nullable_len(&mut self, compact: bool) -> Result<Option<usize>> {
        let n = if compact {
            match self.uvarint()? {
                0 => return Ok(None),
                n => n - 1,
            }
        } else {
            match self.i32()? {
                -1 => return Ok(None),
                n => u64::try_from(n)
                    .map_err(|_| Error::Malformed(format!("negative length {n}")))?,
            }
        };
        // Every element takes at least a byte: a count beyond what is left is a lie.
        let left = (self.buf.len() - self.at) as u64;
        if n > left {
            return Err(Error::Malformed(format!(
                "length {n} with {left} bytes left"
            )));
        }
        Ok(Some(n as usize))
    }

    pub(super) fn len(&mut self, compact: bool) -> Result<usize> {
        self.nullable_len(compact)?
            .ok_or_else(|| Error::Malformed("null array".into()))
    }

    pub(super) fn string(&mut self, compact: bool) -> Result<&'a str> {
        let n = if compact {
            self.len(true)?
        } else {
            let n = self.i16()?;
            usize::try_from(n).map_err(|_| Error::Malformed(format!("string length {n}")))?
        };
        std::str::from_utf8(self.take(n)?)
            .map_err(|_| Error::Malformed("topic name is not UTF-8".into()))
    }

    /// A string as a slice of the body (no copy), checked to be UTF-8.
    pub(super) fn str_bytes(&mut self, compact: bool) -> Result<StrBytes> {
        let n = if compact {
            self.len(true)?
        } else {
            let n = self.i16()?;
            usize::try_from(n).map_err(|_| Error::Malformed(format!("string length {n}")))?
        };
        self.take(n)?;
        StrBytes::from_utf8(self.buf.slice(self.at - n..self.at))
            .map_err(|_| Error::Malformed("a name is not UTF-8".into()))
    }

    pub(super) fn nullable_bytes(&mut self, compact: bool) -> Result<Option<Bytes>> {
        let Some(n) = self.nullable_len(compact)? else {
            return Ok(None);
        };
        self.take(n)?;
        Ok(Some(self.buf.slice(self.at - n..self.at)))
    }

    pub(super) fn skip_tags(&mut self) -> Result<()> {
        // Almost always none: a single zero byte.
        if self.buf.get(self.at) == Some(&0) {
            self.at += 1;
            return Ok(());
        }
        let len = crate::header::tagged_fields_len(&self.buf[self.at..])?;
        self.skip(len)
    }
}
