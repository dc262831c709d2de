//! The WASI a plugin gets: this table, and nothing else, is linked. Rust's standard library
//! imports the `wasi:cli`, `wasi:io`, `wasi:random` and `wasi:clocks` interfaces even in code
//! that does no I/O; they back onto an empty context (no arguments, environment or stdin;
//! stdout discarded, stderr kept for error reports). Files and sockets are not linked at all.

use crate::store::StoreState;
use wasmtime::component::{HasData, Linker, ResourceTable};
use wasmtime_wasi::cli::{WasiCli, WasiCliView};
use wasmtime_wasi::clocks::{WasiClocks, WasiClocksView};
use wasmtime_wasi::p2::bindings::{cli, clocks, random, sync::io};
use wasmtime_wasi::random::{WasiRandom, WasiRandomView};

type Link = fn(&mut Linker<StoreState>) -> wasmtime::Result<()>;

/// The `wasi:io` interfaces work on the store's resource table alone.
struct Io;

impl HasData for Io {
    type Data<'a> = &'a mut ResourceTable;
}

/// Each interface a plugin may import (`namespace:package/interface`, any version), and how it
/// is linked.
const INTERFACES: &[(&str, Link)] = &[
    ("wasi:io/error", |l| wasmtime_wasi_io::bindings::wasi::io::error::add_to_linker::<_, Io>(l, |s| &mut s.table)),
    ("wasi:io/poll", |l| io::poll::add_to_linker::<_, Io>(l, |s| &mut s.table)),
    ("wasi:io/streams", |l| io::streams::add_to_linker::<_, Io>(l, |s| &mut s.table)),
    ("wasi:cli/environment", |l| cli::environment::add_to_linker::<_, WasiCli>(l, StoreState::cli)),
    ("wasi:cli/exit", |l| cli::exit::add_to_linker::<_, WasiCli>(l, StoreState::cli)),
    ("wasi:cli/stdin", |l| cli::stdin::add_to_linker::<_, WasiCli>(l, StoreState::cli)),
    ("wasi:cli/stdout", |l| cli::stdout::add_to_linker::<_, WasiCli>(l, StoreState::cli)),
    ("wasi:cli/stderr", |l| cli::stderr::add_to_linker::<_, WasiCli>(l, StoreState::cli)),
    ("wasi:cli/terminal-input", |l| cli::terminal_input::add_to_linker::<_, WasiCli>(l, StoreState::cli)),
    ("wasi:cli/terminal-output", |l| cli::terminal_output::add_to_linker::<_, WasiCli>(l, StoreState::cli)),
    ("wasi:cli/terminal-stdin", |l| cli::terminal_stdin::add_to_linker::<_, WasiCli>(l, StoreState::cli)),
    ("wasi:cli/terminal-stdout", |l| cli::terminal_stdout::add_to_linker::<_, WasiCli>(l, StoreState::cli)),
    ("wasi:cli/terminal-stderr", |l| cli::terminal_stderr::add_to_linker::<_, WasiCli>(l, StoreState::cli)),
    ("wasi:random/random", |l| random::random::add_to_linker::<_, WasiRandom>(l, StoreState::random)),
    ("wasi:random/insecure", |l| random::insecure::add_to_linker::<_, WasiRandom>(l, StoreState::random)),
    ("wasi:random/insecure-seed", |l| random::insecure_seed::add_to_linker::<_, WasiRandom>(l, StoreState::random)),
    ("wasi:clocks/monotonic-clock", |l| clocks::monotonic_clock::add_to_linker::<_, WasiClocks>(l, StoreState::clocks)),
    ("wasi:clocks/wall-clock", |l| clocks::wall_clock::add_to_linker::<_, WasiClocks>(l, StoreState::clocks)),
];

/// The interfaces a plugin may import: the WASI ones linked here, and the contract's own types.
pub const ALLOWED_IMPORTS: &[&str] = &{
    let mut names = [""; INTERFACES.len() + 1];
    let mut i = 0;
    while i < INTERFACES.len() {
        names[i] = INTERFACES[i].0;
        i += 1;
    }
    names[i] = "kelk:parser/types";
    names
};

/// Links every allowed WASI interface, and only those.
pub(crate) fn link(linker: &mut Linker<StoreState>) -> wasmtime::Result<()> {
    INTERFACES.iter().try_for_each(|(_, link)| link(linker))
}

/// The first import outside [`ALLOWED_IMPORTS`], if any: checked before linking, so that a
/// plugin importing a file system or a socket is told so in words, not as a link error.
pub(crate) fn forbidden_import<'a>(imports: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    imports.into_iter().find(|name| !ALLOWED_IMPORTS.contains(&name.split('@').next().unwrap_or(name)))
}
