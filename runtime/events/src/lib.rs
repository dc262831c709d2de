//! What a Lambda event names. [`source`] holds the inputs' identities (an S3 object, a stream
//! record, a batch of CloudWatch Logs events); each other module decodes one event shape into
//! them, as pure functions of the event's JSON, with nothing to run: `kelk-lambda`'s event
//! sources call them and do the work, and the fuzz targets (`fuzz/`) call them without
//! building the sandbox.
//!
//! A decoding error is a sentence saying what is wrong with the event, for the caller to name
//! the event in.

pub mod batch_operations;
pub mod cloudwatch_logs;
pub mod eventbridge;
pub mod firehose;
pub mod s3;
pub mod source;
pub mod sqs;
