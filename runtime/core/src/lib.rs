//! The KELK runtime: one input at a time through its parser plugin into a sink, the data
//! flowing one way:
//!
//! input ([`source`]) → the plugin its [`routing`] names → bytes → [`pipeline::decode`] →
//! chunks → a session in the sandbox ([`kelk_sandbox`]) → documents with ids and daily
//! indices ([`pipeline::document`]) → [`sink`] (OpenSearch, files, stdout), and the records
//! that did not make it → dead letters.
//!
//! The inputs of a batch go through on every core ([`workers`]).
//!
//! [`opensearch`] is the cluster: the bulk sink, index templates, dashboards. [`aws`] is S3:
//! objects in, the plugin store, dead letters out, on the process's one tokio runtime and one
//! AWS configuration ([`aws::Aws`]). The Lambda function and the command-line tools are
//! packages of their own on top of this one.

pub mod aws;
pub mod opensearch;
pub mod pipeline;
pub mod routing;
pub mod sink;
pub mod source;
pub mod workers;

pub use kelk_sandbox as sandbox;

/// Keeps the allocator's memory close to what is in use, so that a process's peak RSS stays
/// within its bound (64 MiB, whatever the object's size): two malloc arenas for the few threads
/// (workers, gunzip, tokio) instead of eight per core, and blocks of 1 MiB and more (bulk
/// bodies) mapped on their own and unmapped when freed, where glibc would otherwise raise its
/// mmap threshold to their size and keep them in the heap. First thing in `main`; glibc only.
pub fn bound_the_allocator() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only sets the allocator's parameters; called before other threads start.
    unsafe {
        libc::mallopt(libc::M_ARENA_MAX, 2);
        libc::mallopt(libc::M_MMAP_THRESHOLD, 1 << 20);
    }
}

/// The process's tokio runtime: the pipeline is synchronous, and blocks on it for S3 and
/// OpenSearch; one worker thread runs the bulk requests under way while parsing goes on.
pub fn runtime() -> std::io::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build()
}
