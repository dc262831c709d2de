//! Every format the benchmarks and `kelk-generate` know: its generator with a seed of its own,
//! its plugin package, and its parser natively. One list, so every benchmark (KELK's and its
//! peers') measures the same corpora.

use crate::generate::{Generator, Log};
use kelk_parser_sdk::{Batch, Lines, Parser, SourceContext};
use kelk_runtime::pipeline::decode::CHUNK_BYTES;
use kelk_runtime::sandbox::{self, Plugin};
use std::io::Read;

/// A format, by the name the benchmarks and `kelk-generate` take it by.
pub struct Format {
    pub name: &'static str,
    seed: u64,
    generate: Generator,
    /// The workspace package of its plugin.
    pub package: &'static str,
    /// Parses a whole corpus natively, in the pipeline's chunks; returns how many documents.
    pub native: fn(&[u8]) -> u64,
}

impl Format {
    /// About `bytes` of the format, always the same.
    pub fn log(&self, bytes: u64) -> Log {
        (self.generate)(self.seed, bytes)
    }

    /// About `bytes` of the format in memory, and how many records they hold.
    pub fn corpus(&self, bytes: u64) -> (Vec<u8>, u64) {
        let mut log = self.log(bytes);
        let mut corpus = Vec::with_capacity(bytes as usize + (64 << 10));
        log.read_to_end(&mut corpus).expect("in memory");
        (corpus, log.records())
    }
}

/// Feeds `corpus` to a fresh `P` in the pipeline's chunk size, as the plugin is fed.
fn native<P: Parser>(corpus: &[u8]) -> u64 {
    let mut parser = P::open(&SourceContext::default()).expect("opens without options");
    let mut docs = 0;
    for chunk in corpus.chunks(CHUNK_BYTES) {
        let mut batch = Batch::default();
        parser.push(chunk, &mut batch).expect("no fatal error");
        docs += std::hint::black_box(&batch).documents.len() as u64;
    }
    let mut batch = Batch::default();
    parser.finish(&mut batch).expect("no fatal error");
    docs + batch.documents.len() as u64
}

/// Feeds `corpus` to a session of `plugin` in the pipeline's chunk size, with the CPU
/// deadline armed for every call; returns how many documents.
pub fn wasm(plugin: &Plugin, log_type: &str, corpus: &[u8]) -> u64 {
    let ctx = sandbox::SourceContext {
        bucket: "b".into(),
        key: "k".into(),
        version_id: None,
        log_type: log_type.into(),
        options: vec![],
    };
    let mut session = plugin.session(&ctx, "k").expect("a session opens");
    let mut docs = 0;
    for chunk in corpus.chunks(CHUNK_BYTES) {
        docs += std::hint::black_box(session.push(chunk).expect("no failure")).documents.len() as u64;
    }
    docs + session.finish().expect("no failure").documents.len() as u64
}

type Alb = Lines<kelk_parser_alb::Alb>;
type CloudFront = Lines<kelk_parser_cloudfront::CloudFront>;

pub const FORMATS: &[Format] = &[
    Format { name: "alb", seed: 1, generate: Log::alb, package: "kelk-parser-alb", native: native::<Alb> },
    Format {
        name: "elb-classic",
        seed: 11,
        generate: Log::elb_classic,
        package: "kelk-parser-alb",
        native: native::<Alb>,
    },
    Format { name: "nlb", seed: 5, generate: Log::nlb, package: "kelk-parser-alb", native: native::<Alb> },
    Format {
        name: "alb-connection",
        seed: 12,
        generate: Log::alb_connection,
        package: "kelk-parser-alb",
        native: native::<Alb>,
    },
    Format {
        name: "cloudfront",
        seed: 2,
        generate: Log::cloudfront,
        package: "kelk-parser-cloudfront",
        native: native::<CloudFront>,
    },
    Format {
        name: "cloudfront-json",
        seed: 6,
        generate: Log::cloudfront_json,
        package: "kelk-parser-cloudfront",
        native: native::<CloudFront>,
    },
    Format {
        name: "apache",
        seed: 3,
        generate: Log::apache,
        package: "kelk-parser-apache",
        native: native::<Lines<kelk_parser_apache::Apache>>,
    },
    Format {
        name: "cloudtrail",
        seed: 4,
        generate: Log::cloudtrail,
        package: "kelk-parser-cloudtrail",
        native: native::<kelk_parser_cloudtrail::CloudTrail>,
    },
    Format {
        name: "vpcflow",
        seed: 7,
        generate: Log::vpcflow,
        package: "kelk-parser-vpcflow",
        native: native::<Lines<kelk_parser_vpcflow::VpcFlow>>,
    },
    Format {
        name: "s3access",
        seed: 8,
        generate: Log::s3access,
        package: "kelk-parser-s3access",
        native: native::<Lines<kelk_parser_s3access::S3Access>>,
    },
    Format {
        name: "waf",
        seed: 9,
        generate: Log::waf,
        package: "kelk-parser-waf",
        native: native::<Lines<kelk_parser_waf::Waf>>,
    },
    Format {
        name: "route53",
        seed: 10,
        generate: Log::route53,
        package: "kelk-parser-route53",
        native: native::<Lines<kelk_parser_route53::Route53Resolver>>,
    },
];

/// The format called `name`.
pub fn named(name: &str) -> Option<&'static Format> {
    FORMATS.iter().find(|f| f.name == name)
}

/// The formats a benchmark's arguments choose (every one when none is given; flags such as
/// cargo's `--bench` are passed over); an unknown name is an error, never a silent skip.
pub fn chosen() -> Vec<&'static Format> {
    let names: Vec<String> = std::env::args().skip(1).filter(|a| !a.starts_with('-')).collect();
    if names.is_empty() {
        return FORMATS.iter().collect();
    }
    names
        .iter()
        .map(|n| {
            named(n).unwrap_or_else(|| {
                let all: Vec<&str> = FORMATS.iter().map(|f| f.name).collect();
                panic!("no format {n}; formats: {}", all.join(" "))
            })
        })
        .collect()
}
