//! A KELK parser plugin for `{{name}}` logs.
//!
//! Each line is `TIME LEVEL CLIENT METHOD TARGET STATUS UPSTREAM ATTEMPTS`, for example
//! `2024-05-01T12:00:00Z INFO 10.0.0.1 GET /index.html 200 10.0.5.7 1`: the backend that
//! answered and how many tries it took, or `-` when no backend was reached. Replace this format
//! with yours: write the fields in Elastic Common Schema names (what ECS has no name for goes
//! under `{{name}}.*`, mapped in `mappings.json`), return the event time, or reject the line
//! with a reason a person can act on. `kelk-plugin test` checks every document against the
//! mappings.

use kelk_parser_sdk::time::parse_iso8601;
use kelk_parser_sdk::{Event, LineParser, Object, Outcome, ecs, leading};

kelk_parser_sdk::plugin! {
    lines: Parser,
    name: "{{name}}",
    dataset: "{{name}}.access",
    module: "{{name}}",
    dashboard: {
        title: "{{name}} access logs",
        top_fields: ["http.response.status_code", "url.path", "{{name}}.upstream.ip"],
    },
}

const EVENT: &str = kelk_parser_sdk::event!(Parser, r#""kind":"event","category":["web"],"type":["access"]"#);

#[derive(Default)]
pub struct Parser;

impl LineParser for Parser {
    fn parse_line(&mut self, line: &[u8], doc: &mut Object) -> Outcome {
        let mut fields = line.split(|&b| b == b' ');
        let [time, level, client, method, target, status, upstream, attempts] = leading(&mut fields, "fields")?;
        let time = parse_iso8601(time).ok_or("TIME is not an ISO 8601 timestamp")?;
        let status = ecs::number("STATUS", status)?;
        let upstream = ecs::dash(upstream).map(|ip| ecs::parse_ip(ip).map(|_| ip).ok_or("UPSTREAM is not an IP address")).transpose()?;
        let attempts = ecs::dash_number("ATTEMPTS", attempts)?;

        doc.timestamp("@timestamp", time);
        doc.fields(ecs::ECS_FIELD);
        doc.object("event").fields(EVENT).str("outcome", ecs::http_outcome(status));
        doc.object("log").str("level", level);
        ecs::host_fields(&mut doc.object("source"), client);
        {
            let mut http = doc.object("http");
            http.object("request").str("method", method);
            http.object("response").u64("status_code", status);
        }
        ecs::url(doc, target);
        {
            let mut own = doc.object("{{name}}");
            let mut backend = own.object("upstream");
            backend.opt_str("ip", upstream);
            if let Some(attempts) = attempts {
                backend.u64("attempts", attempts);
            }
        }
        Ok(Event::at(time).into())
    }
}

#[cfg(test)]
mod tests {
    use kelk_parser_sdk::{Lines, SourceContext, parse};

    #[test]
    fn parses_a_line_and_rejects_a_bad_one() {
        let input = b"2024-05-01T12:00:00Z INFO 10.0.0.1 GET /a?b=1 404 10.0.5.7 2\nnonsense\n";
        let batch = parse::<Lines<super::Parser>>(&SourceContext::default(), input).unwrap();
        let docs: Vec<_> = batch.iter().map(|(_, json)| String::from_utf8(json.to_vec()).unwrap()).collect();
        assert_eq!(docs.len(), 1);
        assert!(docs[0].contains(r#""status_code":404"#), "{}", docs[0]);
        assert!(docs[0].contains(r#""upstream":{"ip":"10.0.5.7","attempts":2}"#), "{}", docs[0]);
        assert_eq!(batch.rejections.len(), 1);
        assert_eq!(batch.rejections[0].record.number, 2);
        assert_eq!(batch.rejections[0].reason, "1 fields, at least 8 expected");
    }
}
