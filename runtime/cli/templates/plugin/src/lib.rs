//! A KELK parser plugin for `{{name}}` logs.
//!
//! Each line is `TIME LEVEL CLIENT METHOD TARGET STATUS`, for example
//! `2024-05-01T12:00:00Z INFO 10.0.0.1 GET /index.html 200`. Replace this format with yours:
//! write the fields in Elastic Common Schema names, return the event time, or reject the line
//! with a reason a person can act on.

use kelk_parser_sdk::time::parse_iso8601;
use kelk_parser_sdk::{Event, Fatal, Info, LineParser, Object, Parsed, SourceContext, ecs};

pub struct Parser;

kelk_parser_sdk::export_parser!(kelk_parser_sdk::Lines<Parser>);

impl LineParser for Parser {
    const INFO: Info = Info {
        name: "{{name}}",
        version: env!("CARGO_PKG_VERSION"),
        dataset: "{{name}}.access",
        index_prefix: "logs-{{name}}.access-default",
    };

    fn open(_ctx: &SourceContext) -> Result<Self, Fatal> {
        Ok(Parser)
    }

    fn parse_line(&mut self, line: &[u8], doc: &mut Object) -> Parsed {
        let fields: Vec<&[u8]> = line.split(|&b| b == b' ').collect();
        let [time, level, client, method, target, status] = fields[..] else {
            return Parsed::Reject(format!("{} fields, 6 expected: TIME LEVEL CLIENT METHOD TARGET STATUS", fields.len()));
        };
        let Some(time) = parse_iso8601(time) else {
            return Parsed::Reject("TIME is not an ISO 8601 timestamp".into());
        };
        let Some(status) = ecs::parse_u64(status) else {
            return Parsed::Reject("STATUS is not a number".into());
        };

        doc.timestamp("@timestamp", time);
        doc.object("event").str("dataset", Self::INFO.dataset.as_bytes()).str("outcome", ecs::http_outcome(status));
        doc.object("log").str("level", level);
        ecs::host_fields(&mut doc.object("source"), client);
        {
            let mut http = doc.object("http");
            http.object("request").str("method", method);
            http.object("response").u64("status_code", status);
        }
        ecs::url(doc, target);
        Parsed::Event(Event { time, natural_id: None })
    }
}

#[cfg(test)]
mod tests {
    use kelk_parser_sdk::{Lines, SourceContext, parse};

    #[test]
    fn parses_a_line_and_rejects_a_bad_one() {
        let input = b"2024-05-01T12:00:00Z INFO 10.0.0.1 GET /a?b=1 404\nnonsense\n";
        let batch = parse::<Lines<super::Parser>>(&SourceContext::default(), input).unwrap();
        let docs: Vec<_> = batch.iter().map(|(_, json)| String::from_utf8(json.to_vec()).unwrap()).collect();
        assert_eq!(docs.len(), 1);
        assert!(docs[0].contains(r#""status_code":404"#), "{}", docs[0]);
        assert!(docs[0].contains(r#""query":"b=1""#), "{}", docs[0]);
        assert_eq!(batch.rejections.len(), 1);
        assert_eq!(batch.rejections[0].record.number, 2);
    }
}
