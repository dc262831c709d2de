//! Decoding an object's bytes: gzip is recognised by its magic bytes, not by the key's suffix.
//! [`Chunks`] gunzips on a thread of its own, a few chunks ahead of the plugin parsing them.

use std::io::{self, BufRead, BufReader, Read};
use std::sync::LazyLock;
use std::sync::mpsc::{Receiver, SyncSender, TryRecvError, sync_channel};
use std::thread::Scope;

/// The size of the chunks pushed into a plugin session.
pub const CHUNK_BYTES: usize = 128 << 10;
/// The chunks a read-ahead thread holds at most, in its hands, the channel's and the
/// reader's: memory stays within these, whatever the input's size.
const AHEAD_BUFFERS: usize = 4;
/// The chunks waiting in the channel between the read-ahead thread and the reader.
const AHEAD_QUEUED: usize = AHEAD_BUFFERS - 2;

/// Whether a thread gunzipping ahead can run beside the plugin: not on a single core.
static CORES: LazyLock<bool> = LazyLock::new(|| std::thread::available_parallelism().is_ok_and(|n| n.get() > 1));

/// An input's decompressed bytes in chunks of [`CHUNK_BYTES`] (the last one shorter).
pub struct Chunks<'r> {
    from: Source<'r>,
    buf: Vec<u8>,
}

enum Source<'r> {
    /// Read and decompressed on the reader's thread.
    Inline(Box<dyn Read + 'r>),
    /// Gunzipped ahead on a thread of its own: full chunks in, empty ones back for reuse.
    Ahead { full: Receiver<io::Result<Vec<u8>>>, empty: SyncSender<Vec<u8>> },
}

impl<'r> Chunks<'r> {
    /// The chunks of `input`, decompressed as [`decompressed`] does; a gzip input is gunzipped
    /// on a thread of `scope` (with more than one core), overlapping with the parse, a few
    /// chunks ahead. Its errors (a corrupt stream, a read that failed) come out of
    /// [`Chunks::read`] where the reader reaches them, as the inline reader's do.
    pub fn new<'scope>(scope: &'scope Scope<'scope, 'r>, input: impl Read + Send + 'r) -> io::Result<Self> {
        let mut input = BufReader::with_capacity(CHUNK_BYTES, input);
        let gzip = is_gzip(&mut input)?;
        if !(gzip && *CORES) {
            return Ok(Chunks { from: Source::Inline(decoded(input, gzip)), buf: Vec::new() });
        }
        let (full_tx, full) = sync_channel(AHEAD_QUEUED);
        let (empty, empty_rx) = sync_channel::<Vec<u8>>(AHEAD_BUFFERS);
        scope.spawn(move || {
            let mut gunzip = gunzip(input);
            let mut made = 0;
            loop {
                // A chunk the reader is done with, else a new one while under the bound.
                let mut buf = match empty_rx.try_recv() {
                    Ok(buf) => buf,
                    Err(TryRecvError::Empty) if made < AHEAD_BUFFERS => {
                        made += 1;
                        Vec::with_capacity(CHUNK_BYTES)
                    }
                    Err(_) => match empty_rx.recv() {
                        Ok(buf) => buf,
                        Err(_) => return, // the reader stopped
                    },
                };
                let read = next_chunk(&mut gunzip, &mut buf).map(<[u8]>::len);
                let done = !matches!(read, Ok(n) if n > 0);
                let chunk = read.map(|n| {
                    buf.truncate(n);
                    buf
                });
                // The end is an empty chunk, so that a thread that stops without one is told apart.
                if full_tx.send(chunk).is_err() || done {
                    return;
                }
            }
        });
        Ok(Chunks { from: Source::Ahead { full, empty }, buf: Vec::new() })
    }

    /// The next chunk; an empty slice at the end.
    pub fn read(&mut self) -> io::Result<&[u8]> {
        match &mut self.from {
            Source::Inline(input) => next_chunk(input, &mut self.buf),
            Source::Ahead { full, empty } => {
                let done = std::mem::take(&mut self.buf);
                if done.capacity() > 0 {
                    let _ = empty.try_send(done); // the thread may have ended
                }
                self.buf = full.recv().map_err(|_| io::Error::other("the gunzipping thread stopped"))??;
                Ok(&self.buf)
            }
        }
    }
}

fn is_gzip(input: &mut impl BufRead) -> io::Result<bool> {
    Ok(input.fill_buf()?.starts_with(&[0x1f, 0x8b]))
}

/// The object's decompressed bytes: gunzipped (every member, as S3 objects may be
/// concatenations) when it starts with the gzip magic, otherwise as they are.
pub fn decompressed<'r>(input: impl Read + 'r) -> io::Result<Box<dyn Read + 'r>> {
    let mut input = BufReader::with_capacity(CHUNK_BYTES, input);
    let gzip = is_gzip(&mut input)?;
    Ok(decoded(input, gzip))
}

/// `input` gunzipped, or as it is.
fn decoded<'r>(input: BufReader<impl Read + 'r>, gzip: bool) -> Box<dyn Read + 'r> {
    match gzip {
        true => Box::new(gunzip(input)),
        false => Box::new(input),
    }
}

/// Every gzip member of `input`, gunzipped.
fn gunzip<R: BufRead>(input: R) -> GzipErrors<flate2::bufread::MultiGzDecoder<R>> {
    GzipErrors(flate2::bufread::MultiGzDecoder::new(input))
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

    /// Every chunk of `input` through [`Chunks`], concatenated.
    fn chunked(input: &[u8]) -> io::Result<Vec<u8>> {
        std::thread::scope(|scope| {
            let mut chunks = Chunks::new(scope, input)?;
            let mut out = Vec::new();
            loop {
                let chunk = chunks.read()?;
                if chunk.is_empty() {
                    return Ok(out);
                }
                assert!(chunk.len() == CHUNK_BYTES || out.len() + chunk.len() == read_all(input).unwrap().len());
                out.extend_from_slice(chunk);
            }
        })
    }

    #[test]
    fn chunks_read_ahead_are_the_bytes_and_the_errors_of_the_stream() {
        let data: Vec<u8> = (0..300_000u32).flat_map(|i| format!("line {i}\n").into_bytes()).collect();
        let z = gzip(&data);
        assert_eq!(chunked(&z).unwrap(), data);
        assert_eq!(chunked(&[gzip(&data), gzip(b"two\n")].concat()).unwrap(), [&data[..], b"two\n"].concat());
        assert_eq!(chunked(&data).unwrap(), data);
        assert_eq!(chunked(b"").unwrap(), b"");
        let err = chunked(&z[..z.len() / 2]).unwrap_err();
        assert!(err.to_string().contains("truncated"), "{err}");
        let mut corrupt = z.clone();
        let n = corrupt.len();
        corrupt[n - 6] ^= 0xff;
        assert!(chunked(&corrupt).unwrap_err().to_string().contains("corrupt"));
    }

    #[test]
    fn a_reader_that_stops_early_stops_the_thread() {
        let data: Vec<u8> = (0..1_000_000u32).flat_map(|i| format!("line {i}\n").into_bytes()).collect();
        let z = gzip(&data);
        // The scope returns only once the thread has ended.
        std::thread::scope(|scope| {
            let mut chunks = Chunks::new(scope, &z[..]).unwrap();
            assert_eq!(chunks.read().unwrap().len(), CHUNK_BYTES);
        });
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
