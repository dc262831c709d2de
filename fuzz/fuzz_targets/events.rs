//! The Lambda events' decoding (`kelk-events`): the input, as an event's JSON, through every
//! decoder, and through the encodings the events wrap their content in, checking what comes
//! out. One target for every shape: the decoders read different members of the same JSON, so
//! a corpus entry that reaches into one shape seeds the others, and CI builds and runs one.
//!
//! Checked, besides no panic, overflow, hang or allocation past libFuzzer's limits:
//!
//! - every object decoded (S3 notification, SQS body, EventBridge, Batch Operations task)
//!   names a bucket and a key, and no empty version id or ETag; a notification gives one
//!   object per `ObjectCreated:` record, each of its record's bucket; an EventBridge key is
//!   taken as written, a Batch Operations task names no ETag;
//! - keys round-trip: any key (every decoded one, and the input read as one), encoded as S3
//!   encodes keys (`+` for a space, `%xx` for the rest), decodes back to itself, and decoding
//!   never lengthens a key;
//! - an SQS body holding a notification gives what the notification gives;
//! - Firehose: one record per record given, each record's data exactly what its base64 says
//!   (encoding it again gives the string given), a stream name without `/`; and the input cut
//!   into records and encoded decodes back to them;
//! - CloudWatch Logs: the input gzipped and base64-encoded as `awslogs.data` decodes as the
//!   input read as a batch does; a batch's events make one line per line of their messages,
//!   each event's lines naming it, in order;
//! - every decoder gives the same answer twice.

#![no_main]

use base64::Engine as _;
use kelk_events::cloudwatch_logs::{self, LogData};
use kelk_events::source::{LogEventsRef, ObjectRef, SourceRef};
use kelk_events::{batch_operations, eventbridge, firehose, s3, sqs};
use percent_encoding::{NON_ALPHANUMERIC, utf8_percent_encode};
use serde_json::{Value, json};
use std::fmt::Debug;

const BASE64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    key_round_trips(&text);
    if let Ok(key) = twice(|| s3::notification_key(&text)) {
        assert!(key.len() <= text.len(), "decoding never lengthens a key");
    }
    firehose_round_trips(data);
    cloudwatch_round_trips(data);
    message(&text);
    if let Ok(event) = serde_json::from_slice::<Value>(data) {
        decode_every_shape(&event, &text);
    }
});

/// Runs a decoder twice: it must answer the same.
fn twice<T: PartialEq + Debug>(decode: impl Fn() -> T) -> T {
    let first = decode();
    assert_eq!(first, decode(), "the same input decoded twice");
    first
}

/// A key as S3 notifications and Batch Operations encode it.
fn s3_encoded(key: &str) -> String {
    utf8_percent_encode(key, NON_ALPHANUMERIC).to_string().replace("%20", "+")
}

fn key_round_trips(key: &str) {
    let encoded = s3_encoded(key);
    assert_eq!(s3::notification_key(&encoded).as_deref(), Ok(key), "`{key}` encoded as `{encoded}`");
}

/// What every decoded object must be.
fn object_ok(object: &ObjectRef) {
    assert!(!object.bucket.is_empty() && !object.key.is_empty(), "{object:?}");
    assert_ne!(object.version_id.as_deref(), Some(""), "{object:?}");
    assert_ne!(object.etag.as_deref(), Some(""), "{object:?}");
}

fn decode_every_shape(event: &Value, text: &str) {
    // S3 notifications: every created object, each with its record's bucket, keys decoded.
    if let Some(records) = event["Records"].as_array() {
        if let Ok(objects) = twice(|| s3::objects(records)) {
            let created: Vec<&Value> = records
                .iter()
                .filter(|r| r["eventName"].as_str().is_some_and(|n| n.starts_with("ObjectCreated:")))
                .collect();
            assert_eq!(objects.len(), created.len());
            for (object, record) in objects.iter().zip(created) {
                object_ok(object);
                assert_eq!(record["s3"]["bucket"]["name"], object.bucket.as_str());
                key_round_trips(&object.key);
            }
            // The same notification as an SQS message's body.
            if event["Event"] != "s3:TestEvent" {
                assert_eq!(sqs::message_objects(text), Ok(objects));
            }
        }
        for body in records.iter().filter_map(|r| r["body"].as_str()) {
            message(body);
        }
    }
    // EventBridge: the key as written.
    if let Ok(object) = twice(|| eventbridge::object(&event["detail"])) {
        object_ok(&object);
        assert_eq!(event["detail"]["object"]["key"], object.key.as_str());
    }
    // Batch Operations: each task's object, named without an ETag.
    for task in event["tasks"].as_array().into_iter().flatten() {
        if let Ok(object) = twice(|| batch_operations::object(task)) {
            object_ok(&object);
            assert_eq!(object.etag, None);
            key_round_trips(&object.key);
        }
    }
    // Firehose: each record's data what its base64 says.
    if let Ok(batch) = twice(|| firehose::decode(event)) {
        let given = event["records"].as_array().expect("decoded from a records list");
        assert_eq!(batch.records.len(), given.len());
        for (record, given) in batch.records.iter().zip(given) {
            assert_eq!(given["data"], BASE64.encode(&record.data), "one base64 string per data");
            assert_eq!(record.record_id.as_deref(), given["recordId"].as_str());
        }
        assert!(!batch.stream.is_empty() && !batch.stream.contains('/'), "{}", batch.stream);
    }
    // CloudWatch Logs: the batch and its lines.
    if let Some(data) = event["awslogs"]["data"].as_str()
        && let Ok(batch) = twice(|| cloudwatch_logs::decode(data))
    {
        lines_name_their_events(&batch);
    }
}

/// An SQS message's body: the objects of the notification it holds, or none (S3's test event),
/// or a reason.
fn message(body: &str) {
    match twice(|| sqs::message_objects(body)) {
        Ok(objects) => objects.iter().for_each(object_ok),
        Err(reason) => assert!(
            serde_json::from_str::<Value>(body).is_ok() || reason.contains("not JSON"),
            "a body that is not JSON says so: {reason}"
        ),
    }
}

/// The input cut at its line breaks into Firehose records, encoded as Firehose sends them,
/// decodes back to them.
fn firehose_round_trips(data: &[u8]) {
    let records: Vec<&[u8]> = data.split(|&b| b == b'\n').collect();
    let event = json!({
        "deliveryStreamArn": "arn:aws:firehose:eu-west-1:123456789012:deliverystream/fuzz",
        "records": records.iter().enumerate().map(|(i, r)| json!({ "recordId": i.to_string(), "data": BASE64.encode(r) })).collect::<Vec<_>>(),
    });
    let batch = firehose::decode(&event).expect("an encoded batch decodes");
    assert_eq!(batch.stream, "fuzz");
    let decoded: Vec<&[u8]> = batch.records.iter().map(|r| &r.data[..]).collect();
    assert_eq!(decoded, records);
}

/// The input as a batch's JSON, gzipped and base64-encoded as `awslogs.data`: decoded, it is
/// the batch the JSON is (or is none, as the JSON is none); and the input itself as the data.
fn cloudwatch_round_trips(data: &[u8]) {
    let encoded = BASE64.encode(gzip_stored(data));
    let decoded = cloudwatch_logs::decode(&encoded);
    assert_eq!(decoded.as_ref().ok(), serde_json::from_slice::<LogData>(data).ok().as_ref());
    if let Ok(batch) = decoded {
        lines_name_their_events(&batch);
    }
    if let Ok(batch) = twice(|| cloudwatch_logs::decode(&String::from_utf8_lossy(data))) {
        lines_name_their_events(&batch);
    }
}

/// `data` as one gzip member of stored (uncompressed) deflate blocks, written here: deflate's
/// compression is zlib-rs's to fuzz, and setting up its compressor took a sixth of each run.
fn gzip_stored(data: &[u8]) -> Vec<u8> {
    let mut gzip = vec![0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff];
    let mut blocks = data.chunks(usize::from(u16::MAX)).peekable();
    if blocks.peek().is_none() {
        gzip.extend_from_slice(&[1, 0, 0, 0xff, 0xff]);
    }
    while let Some(block) = blocks.next() {
        let len = u16::try_from(block.len()).expect("a block's length fits");
        gzip.push(u8::from(blocks.peek().is_none()));
        gzip.extend_from_slice(&len.to_le_bytes());
        gzip.extend_from_slice(&(!len).to_le_bytes());
        gzip.extend_from_slice(block);
    }
    let mut crc = flate2::Crc::new();
    crc.update(data);
    gzip.extend_from_slice(&crc.sum().to_le_bytes());
    gzip.extend_from_slice(&(data.len() as u32).to_le_bytes());
    gzip
}

/// A batch's events as the host reads them: one input, a line per line of each message (a
/// message not ending in a line break given one), each line naming its event and its place in
/// the message.
fn lines_name_their_events(batch: &LogData) {
    let events = batch.log_events.iter().map(|e| (e.id.as_str(), e.message.as_str()));
    let (source, input) = LogEventsRef::new(&batch.log_group, &batch.log_stream, events);
    let breaks = input.iter().filter(|&&b| b == b'\n').count() as u64;
    assert!(input.is_empty() || input.ends_with(b"\n"));
    let firsts: Vec<u64> = source.first_lines().collect();
    assert_eq!(firsts.len(), batch.log_events.len());
    let mut line = 1;
    for (event, &first) in batch.log_events.iter().zip(&firsts) {
        assert_eq!(first, line, "events' lines follow each other");
        let lines =
            event.message.bytes().filter(|&b| b == b'\n').count() as u64 + u64::from(!event.message.ends_with('\n'));
        assert_eq!(source.event_of(first), (event.id.as_str(), 0));
        assert_eq!(source.event_of(first + lines - 1), (event.id.as_str(), lines - 1));
        line += lines;
    }
    assert_eq!(line - 1, breaks, "a line per line break");
    let identity = SourceRef::LogEvents(source.clone()).identity().map(str::to_owned);
    let first_id = batch.log_events.first().map_or("", |e| e.id.as_str());
    assert_eq!(identity, [batch.log_group.clone(), batch.log_stream.clone(), first_id.to_owned()]);
}
