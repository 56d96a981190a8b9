//! [`ZlibCompressor`]: zlib streams at the default level, decompressed within a bound.

use std::io::Write;

use flate2::write::ZlibEncoder;
use flate2::{Compression, Decompress, FlushDecompress, Status};

/// The compressor topics accepted in `COMPRESSOR_TOPIC` (Python's names and ours).
pub const COMPRESSOR_TOPICS: [&str; 3] = [
    "eventsourcing.compressor:ZlibCompressor",
    "zlib",
    "eventsourcing.compressor:zlib",
];

/// The default bound on a decompressed state: 256 MiB.
pub const DEFAULT_MAX_DECOMPRESSED: usize = 256 << 20;

/// Why a state could not be decompressed.
#[derive(Debug, thiserror::Error)]
pub enum CompressError {
    /// The stream would decompress beyond the bound (a zlib bomb, or a bound set too low).
    #[error("decompressed state exceeds the limit of {0} bytes")]
    TooLarge(usize),
    /// The stream ended before its end marker.
    #[error("truncated zlib stream")]
    Truncated,
    /// Bytes follow the end of the stream.
    #[error("trailing bytes after the zlib stream")]
    Trailing,
    /// Not a valid zlib stream.
    #[error("corrupt zlib stream: {0}")]
    Corrupt(String),
}

/// zlib (RFC 1950) at the default level, as Python's `zlib.compress` (header `78 9c`), with
/// decompression bounded by `max_decompressed` bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ZlibCompressor {
    /// The largest decompressed state accepted.
    pub max_decompressed: usize,
}

impl Default for ZlibCompressor {
    fn default() -> Self {
        Self {
            max_decompressed: DEFAULT_MAX_DECOMPRESSED,
        }
    }
}

impl ZlibCompressor {
    /// Compresses `data`.
    ///
    /// # Errors
    ///
    /// [`CompressError::Corrupt`] if the encoder fails (it does not, writing to memory).
    pub fn compress(&self, data: &[u8]) -> Result<Vec<u8>, CompressError> {
        let mut encoder = ZlibEncoder::new(
            Vec::with_capacity(data.len() / 2 + 64),
            Compression::default(),
        );
        encoder
            .write_all(data)
            .and_then(|()| encoder.finish())
            .map_err(|e| CompressError::Corrupt(e.to_string()))
    }

    /// Decompresses one complete zlib stream, refusing more than `max_decompressed` bytes.
    ///
    /// # Errors
    ///
    /// [`CompressError`] for a bomb, a truncated or corrupt stream, or trailing bytes.
    pub fn decompress(&self, data: &[u8]) -> Result<Vec<u8>, CompressError> {
        let pos = |n: u64| usize::try_from(n).unwrap_or(usize::MAX);
        let mut d = Decompress::new(true);
        let mut out = Vec::with_capacity(data.len().saturating_mul(3).min(self.max_decompressed));
        let mut buf = vec![0; 64 * 1024];
        loop {
            let (in_before, out_before) = (pos(d.total_in()), d.total_out());
            let status = d
                .decompress(
                    &data[in_before.min(data.len())..],
                    &mut buf,
                    FlushDecompress::None,
                )
                .map_err(|e| CompressError::Corrupt(e.to_string()))?;
            let produced = pos(d.total_out() - out_before);
            if out.len() + produced > self.max_decompressed {
                return Err(CompressError::TooLarge(self.max_decompressed));
            }
            out.extend_from_slice(&buf[..produced]);
            if status == Status::StreamEnd {
                return if pos(d.total_in()) == data.len() {
                    Ok(out)
                } else {
                    Err(CompressError::Trailing)
                };
            }
            if produced == 0 && pos(d.total_in()) == in_before {
                return Err(CompressError::Truncated);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_with_the_python_header() {
        let z = ZlibCompressor::default();
        for data in [&b""[..], b"a", &b"hello world ".repeat(1000)] {
            let c = z.compress(data).unwrap();
            assert_eq!(&c[..2], &[0x78, 0x9c]);
            assert_eq!(z.decompress(&c).unwrap(), data);
        }
    }

    #[test]
    fn truncation_trailing_bytes_and_bombs_are_errors() {
        let z = ZlibCompressor::default();
        let c = z.compress(&b"some state ".repeat(100)).unwrap();
        for cut in 0..c.len() {
            assert!(z.decompress(&c[..cut]).is_err(), "truncated at {cut}");
        }
        let mut extra = c.clone();
        extra.push(0);
        assert!(matches!(z.decompress(&extra), Err(CompressError::Trailing)));
        let bomb = z.compress(&vec![0; 10 << 20]).unwrap();
        let small = ZlibCompressor {
            max_decompressed: 1 << 20,
        };
        assert!(matches!(
            small.decompress(&bomb),
            Err(CompressError::TooLarge(_))
        ));
        let exact = ZlibCompressor {
            max_decompressed: 10 << 20,
        };
        assert_eq!(exact.decompress(&bomb).unwrap().len(), 10 << 20);
        let over = ZlibCompressor {
            max_decompressed: (10 << 20) - 1,
        };
        assert!(matches!(
            over.decompress(&bomb),
            Err(CompressError::TooLarge(_))
        ));
    }
}
