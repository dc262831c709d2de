//! Kinesis Data Firehose data-transformation batches: each record's data, base64-decoded.

use base64::Engine as _;
use serde_json::Value;

/// A batch of one delivery stream.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Batch {
    /// The delivery stream's name (the end of its ARN), `firehose` when the batch names none.
    pub stream: String,
    pub records: Vec<Record>,
}

/// One record: its id, which its answer must carry, and its data.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Record {
    pub record_id: Option<String>,
    pub data: Vec<u8>,
}

/// The batch of a transformation event.
pub fn decode(event: &Value) -> Result<Batch, String> {
    let records = event["records"].as_array().ok_or("a Firehose batch without a records list")?;
    let records = records
        .iter()
        .enumerate()
        .map(|(i, record)| {
            let data = record["data"].as_str().ok_or_else(|| format!("Firehose record {i} has no data"))?;
            let data = base64::engine::general_purpose::STANDARD
                .decode(data)
                .map_err(|e| format!("the data of Firehose record {i} is not base64: {e}"))?;
            Ok(Record { record_id: record["recordId"].as_str().map(str::to_owned), data })
        })
        .collect::<Result<_, String>>()?;
    let stream = event["deliveryStreamArn"].as_str().and_then(|arn| arn.rsplit('/').next()).filter(|s| !s.is_empty());
    Ok(Batch { stream: stream.unwrap_or("firehose").to_owned(), records })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn records_decode_under_their_stream() {
        let event = json!({
            "invocationId": "i", "deliveryStreamArn": "arn:aws:firehose:eu-west-1:123456789012:deliverystream/kelk-apache", "region": "eu-west-1",
            "records": [{ "recordId": "r1", "approximateArrivalTimestamp": 1700000000000u64, "data": "aGVsbG8=" }]
        });
        let batch = decode(&event).unwrap();
        assert_eq!(batch.stream, "kelk-apache");
        assert_eq!(batch.records, [Record { record_id: Some("r1".into()), data: b"hello".to_vec() }]);
        assert_eq!(decode(&json!({ "records": [] })).unwrap().stream, "firehose");
        let error = decode(&json!({ "records": [{ "recordId": "r1", "data": "aGVsbG8" }] })).unwrap_err();
        assert!(error.contains("record 0 is not base64"), "{error}");
    }
}
