//! Decoding an object's bytes: gzip is recognised by its magic bytes, not by the key's suffix.

use std::io::{self, BufRead, BufReader, Read};

/// The size of the chunks pushed into a plugin session.
pub const CHUNK_BYTES: usize = 128 << 10;

/// The object's decompressed bytes: gunzipped (every member, as S3 objects may be
/// concatenations) when it starts with the gzip magic, otherwise as they are.
pub fn decompressed<'r>(input: impl Read + 'r) -> io::Result<Box<dyn Read + 'r>> {
    let mut input = BufReader::with_capacity(CHUNK_BYTES, input);
    let gzip = input.fill_buf()?.starts_with(&[0x1f, 0x8b]);
    Ok(if gzip { Box::new(GzipErrors(flate2::bufread::MultiGzDecoder::new(input))) } else { Box::new(input) })
}

/// Gives gzip's errors words a user can act on.
struct GzipErrors<R>(R);

impl<R: Read> Read for GzipErrors<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.0.read(buf).map_err(|e| match e.kind() {
            io::ErrorKind::UnexpectedEof => {
                io::Error::new(e.kind(), "the gzip stream is truncated: the object ends inside compressed data")
            }
            io::ErrorKind::InvalidInput | io::ErrorKind::InvalidData => {
                io::Error::new(e.kind(), format!("the gzip stream is corrupt: {e}"))
            }
            _ => e,
        })
    }
}

/// Reads the next chunk, filling `buf` up to `CHUNK_BYTES` unless the input ends first.
/// Returns an empty slice at the end.
pub fn next_chunk<'b>(input: &mut dyn Read, buf: &'b mut Vec<u8>) -> io::Result<&'b [u8]> {
    buf.resize(CHUNK_BYTES, 0);
    let mut filled = 0;
    while filled < buf.len() {
        match input.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(&buf[..filled])
}

#[cfg(test)]
mod tests {
    use super::*;
    use flate2::{Compression, write::GzEncoder};
    use std::io::Write;

    fn gzip(data: &[u8]) -> Vec<u8> {
        let mut e = GzEncoder::new(Vec::new(), Compression::default());
        e.write_all(data).unwrap();
        e.finish().unwrap()
    }

    fn read_all(input: &[u8]) -> io::Result<Vec<u8>> {
        let mut out = Vec::new();
        decompressed(input)?.read_to_end(&mut out)?;
        Ok(out)
    }

    #[test]
    fn plain_and_gzip_and_concatenated_gzip() {
        assert_eq!(read_all(b"plain text\n").unwrap(), b"plain text\n");
        assert_eq!(read_all(&gzip(b"zipped\n")).unwrap(), b"zipped\n");
        let two = [gzip(b"one\n"), gzip(b"two\n")].concat();
        assert_eq!(read_all(&two).unwrap(), b"one\ntwo\n");
        assert_eq!(read_all(b"").unwrap(), b"");
    }

    #[test]
    fn truncated_gzip_is_a_clear_error() {
        let data: Vec<u8> = (0..100_000u32).flat_map(|i| format!("line {i}\n").into_bytes()).collect();
        let z = gzip(&data);
        for cut in [z.len() / 2, z.len() - 4, 12] {
            let err = read_all(&z[..cut]).unwrap_err();
            assert!(err.to_string().contains("truncated"), "cut at {cut}: {err}");
        }
    }

    #[test]
    fn corrupt_gzip_is_a_clear_error() {
        let mut z = gzip(b"some text that compresses\n");
        let n = z.len();
        z[n - 6] ^= 0xff; // the CRC
        let err = read_all(&z).unwrap_err();
        assert!(err.to_string().contains("corrupt"), "{err}");
    }
}
