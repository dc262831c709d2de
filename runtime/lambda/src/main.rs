//! `kelk-lambda`: the KELK host as an AWS Lambda function (custom runtime `provided.al2023`;
//! packaged as `bootstrap`). S3 notifications, the same through SQS, EventBridge Object
//! Created events and Firehose transformation batches in; documents into OpenSearch, dead
//! letters into S3. Configured by environment variables (see the README).
//!
//! One tokio runtime serves the Lambda runtime's loop, S3 and OpenSearch; the pipeline is
//! synchronous and bounded, and each invocation runs on a blocking thread while the loop waits
//! for it.

use kelk_lambda::{Config, Function, handle, stop_at};
use kelk_runtime::aws::Aws;
use lambda_runtime::{LambdaEvent, service_fn};
use serde_json::Value;
use std::sync::Mutex;

fn main() -> Result<(), lambda_runtime::Error> {
    kelk_runtime::bound_the_allocator();
    init_tracing();
    let config = Config::from_env()?;
    let margin = config.deadline_margin;
    let runtime = kelk_runtime::runtime()?;
    let aws = Aws::new(runtime.handle().clone());
    // Built before the runtime's loop starts, and never dropped: it lives as long as the sandbox.
    let function: &'static Mutex<Function> = Box::leak(Box::new(Mutex::new(
        Function::new(config, &aws).inspect_err(|e| tracing::error!("cold start failed: {e:#}"))?,
    )));
    runtime.block_on(lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| async move {
        let deadline = stop_at(event.context.deadline, margin);
        let answer = tokio::task::spawn_blocking(move || {
            let mut function = function.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
            handle(&mut function, &event.payload, deadline)
        })
        .await?;
        // The runtime logs the error it reports.
        answer.map_err(lambda_runtime::Error::from)
    })))
}

/// JSON logs on stderr (CloudWatch Logs keeps them apart from the EMF lines on stdout), or
/// text with `KELK_LOG_FORMAT=text`; the level from `KELK_LOG` (default `info`).
fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("KELK_LOG").unwrap_or_else(|_| "info".into());
    let logs = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).without_time();
    match std::env::var("KELK_LOG_FORMAT").as_deref() {
        Ok("text") => logs.init(),
        _ => logs.json().with_current_span(false).init(),
    }
}
