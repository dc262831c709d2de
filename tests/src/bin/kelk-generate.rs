//! `kelk-generate FORMAT MB`: writes MB megabytes of a generated log of FORMAT to stdout
//! (deterministic: the same bytes every run), for benchmarks that run whole processes on a
//! file, KELK's and its peers'.

use kelk_tests::formats::{self, FORMATS};
use std::io::Write;
use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let formats = || FORMATS.iter().map(|f| f.name).collect::<Vec<_>>().join(", ");
    let (Some(name), Some(Ok(mb)), 2) = (args.first(), args.get(1).map(|mb| mb.parse::<u64>()), args.len()) else {
        eprintln!("usage: kelk-generate FORMAT MB > FILE\nformats: {}", formats());
        return ExitCode::from(2);
    };
    let Some(mut log) = formats::named(name).map(|f| f.log(mb * 1_000_000)) else {
        eprintln!("kelk-generate: no format {name}; formats: {}", formats());
        return ExitCode::from(2);
    };
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    match std::io::copy(&mut log, &mut out).and_then(|_| out.flush()) {
        Ok(()) => {
            eprintln!("{name}: {} records", log.records());
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("kelk-generate: {e}");
            ExitCode::from(1)
        }
    }
}
