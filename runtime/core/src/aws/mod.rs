//! AWS for the synchronous pipeline: the process's tokio runtime and its AWS configuration
//! (credentials, region, endpoint: environment, profile, the Lambda's role), loaded once, on
//! first use, for S3 ([`s3`]), the plugin store ([`plugin_store`]), the dead letters
//! ([`dead_letters`]) and SigV4 signing of OpenSearch requests.

pub mod dead_letters;
pub mod plugin_store;
pub mod s3;

use aws_config::SdkConfig;
use std::sync::{Arc, OnceLock};
use tokio::runtime::Handle;

/// The runtime every AWS and OpenSearch request runs on, and the AWS configuration.
#[derive(Clone)]
pub struct Aws {
    handle: Handle,
    config: Arc<OnceLock<SdkConfig>>,
}

impl Aws {
    /// AWS on the runtime of `handle`; the configuration is read when first needed.
    pub fn new(handle: Handle) -> Self {
        Aws { handle, config: Arc::default() }
    }

    /// The runtime.
    pub fn handle(&self) -> &Handle {
        &self.handle
    }

    /// The standard AWS configuration, loaded on the first call.
    pub fn config(&self) -> &SdkConfig {
        self.config
            .get_or_init(|| self.handle.block_on(aws_config::load_defaults(aws_config::BehaviorVersion::latest())))
    }
}
