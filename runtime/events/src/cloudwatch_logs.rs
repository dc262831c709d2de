//! CloudWatch Logs subscription filters: `{"awslogs":{"data": …}}`, base64 of gzip of one log
//! stream's batch of events.

use base64::Engine as _;
use serde::Deserialize;
use std::io::Read;

/// The most a batch may decompress to: CloudWatch Logs sends at most 1 MB of events, so
/// anything far past that is not one of its batches (a gzip bomb stops here, having used at
/// most this much memory).
pub const MAX_DATA_BYTES: u64 = 64 << 20;

/// A batch: one log stream's events, or a `CONTROL_MESSAGE` (sent when a subscription is
/// made, to check the destination).
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LogData {
    pub message_type: String,
    /// The account the log group is in.
    pub owner: String,
    pub log_group: String,
    pub log_stream: String,
    pub log_events: Vec<LogEntry>,
}

/// One event of a batch.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
pub struct LogEntry {
    pub id: String,
    /// Milliseconds since the Unix epoch.
    pub timestamp: i64,
    pub message: String,
}

/// The batch in `awslogs.data`: base64, then gzip, then JSON.
pub fn decode(data: &str) -> Result<LogData, String> {
    let gzip = base64::engine::general_purpose::STANDARD
        .decode(data)
        .map_err(|e| format!("awslogs.data is not base64: {e}"))?;
    let mut json = Vec::new();
    flate2::read::GzDecoder::new(&gzip[..])
        .take(MAX_DATA_BYTES + 1)
        .read_to_end(&mut json)
        .map_err(|e| format!("awslogs.data is not gzip: {e}"))?;
    if json.len() as u64 > MAX_DATA_BYTES {
        return Err(format!(
            "awslogs.data decompresses to more than {MAX_DATA_BYTES} bytes; not a CloudWatch Logs batch"
        ));
    }
    serde_json::from_slice(&json).map_err(|e| format!("awslogs.data is not a CloudWatch Logs batch: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use flate2::{Compression, write::GzEncoder};
    use serde_json::{Value, json};
    use std::io::Write;

    fn data(batch: &Value) -> String {
        let mut gzip = GzEncoder::new(Vec::new(), Compression::default());
        gzip.write_all(batch.to_string().as_bytes()).unwrap();
        base64::engine::general_purpose::STANDARD.encode(gzip.finish().unwrap())
    }

    #[test]
    fn batches_decode() {
        let batch = json!({
            "messageType": "DATA_MESSAGE", "owner": "123456789012",
            "logGroup": "/aws/lambda/orders", "logStream": "2025/03/02/[$LATEST]0123456789abcdef",
            "subscriptionFilters": ["kelk"],
            "logEvents": [
                { "id": "38480434938392483298247982349823498234982349823498230000", "timestamp": 1740909600123i64,
                  "message": "START RequestId: 8f5ed4d5 Version: $LATEST\n" },
            ]
        });
        let decoded = decode(&data(&batch)).unwrap();
        assert_eq!((decoded.message_type.as_str(), decoded.owner.as_str()), ("DATA_MESSAGE", "123456789012"));
        assert_eq!(
            decoded.log_events,
            [LogEntry {
                id: "38480434938392483298247982349823498234982349823498230000".into(),
                timestamp: 1740909600123,
                message: "START RequestId: 8f5ed4d5 Version: $LATEST\n".into()
            }]
        );
    }

    #[test]
    fn what_is_not_a_batch_says_so() {
        for (data, says) in [
            ("not base64!", "not base64"),
            ("aGVsbG8=", "not gzip"),
            (&data(&json!({ "hello": 1 })), "not a CloudWatch Logs batch"),
        ] {
            let error = decode(data).unwrap_err();
            assert!(error.contains(says), "{error}");
        }
        let mut gzip = GzEncoder::new(Vec::new(), Compression::fast());
        gzip.write_all(&vec![b' '; MAX_DATA_BYTES as usize + 1]).unwrap();
        let bomb = base64::engine::general_purpose::STANDARD.encode(gzip.finish().unwrap());
        assert!(decode(&bomb).unwrap_err().contains("more than"));
    }
}
