//! `kelk backfill`: starts an S3 Batch Operations job that sends logs already in S3 through
//! the Lambda host, one invocation per object, on as many invocations at once as the function's
//! concurrency allows (README, "Backfilling"). The job reads every object under prefixes of one
//! bucket (S3 lists them itself, optionally by creation time) or the objects an S3 Inventory
//! report lists; it invokes the host with schema 2.0 tasks, which the host answers with a result
//! code each, and reports the failed ones.

use aws_sdk_s3control::Client;
use aws_sdk_s3control::error::DisplayErrorContext;
use aws_sdk_s3control::types::{
    JobManifest, JobManifestFormat, JobManifestGenerator, JobManifestGeneratorFilter, JobManifestLocation,
    JobManifestSpec, JobOperation, JobReport, JobReportFormat, JobReportScope, KeyNameConstraint,
    LambdaInvokeOperation, S3JobManifestGenerator,
};
use chrono::{DateTime, NaiveDate, Utc};
use kelk_cli::exit;
use kelk_runtime::aws::Aws;
use kelk_runtime::aws::s3::{S3, S3Uri};
use serde_json::{Value, json};
use sha2::Digest;
use std::path::PathBuf;
use tokio::runtime::Handle;

#[derive(clap::Args)]
#[command(after_help = "Example, with the stack's Terraform output:\n\n  \
terraform output -json backfill > backfill.json\n  \
kelk backfill --terraform-output backfill.json \\\n      \
s3://my-logs/AWSLogs/123456789012/elasticloadbalancing/eu-west-1/2025/\n\n\
AWS credentials come from the standard AWS configuration; the job is made in the function's region.")]
pub struct Args {
    /// The objects to send: every object under `s3://BUCKET/PREFIX` (`s3://BUCKET/` for the
    /// whole bucket). Several prefixes of one bucket make one job.
    #[arg(value_name = "S3_PREFIX", required_unless_present = "inventory", conflicts_with = "inventory")]
    prefixes: Vec<S3Uri>,
    /// Instead of prefixes, the objects an S3 Inventory report lists: its `manifest.json`
    /// (`s3://BUCKET/…/manifest.json`; a CSV report, the only kind Batch Operations reads).
    #[arg(long, value_name = "S3_URI")]
    inventory: Option<S3Uri>,
    /// With prefixes: only objects created at or after this time (`2025-03-01` or RFC 3339).
    #[arg(long, value_name = "TIME", value_parser = parse_time, conflicts_with = "inventory")]
    created_after: Option<DateTime<Utc>>,
    /// With prefixes: only objects created before this time (`2025-04-01` or RFC 3339).
    #[arg(long, value_name = "TIME", value_parser = parse_time, conflicts_with = "inventory")]
    created_before: Option<DateTime<Utc>>,
    /// The Terraform stack's `backfill` output as JSON (`terraform output -json backfill`, or
    /// the whole `terraform output -json`): the role, the function and where reports go.
    #[arg(long, value_name = "FILE")]
    terraform_output: Option<PathBuf>,
    /// The host function to invoke [default: the Terraform output's `function_arn`].
    #[arg(long, value_name = "ARN", required_unless_present = "terraform_output")]
    function_arn: Option<String>,
    /// The role the job runs as [default: the Terraform output's `role_arn`].
    #[arg(long, value_name = "ARN", required_unless_present = "terraform_output")]
    role_arn: Option<String>,
    /// Where the job's report of failed tasks goes: `s3://BUCKET/PREFIX` or
    /// `arn:aws:s3:::BUCKET/PREFIX` [default: the Terraform output's `reports`].
    #[arg(long, value_name = "S3_URI", value_parser = parse_location, required_unless_present = "terraform_output")]
    report: Option<S3Uri>,
    /// The account that makes the job [default: the caller's, from STS].
    #[arg(long, value_name = "ID")]
    account_id: Option<String>,
    /// The job's priority among the account's Batch Operations jobs (higher runs first).
    #[arg(long, default_value_t = 10)]
    priority: i32,
    /// The job's idempotency token [default: one made of the job's settings, so that running
    /// the same command again, after a timeout say, starts no second job]. Give a new one to
    /// run the same backfill again on purpose.
    #[arg(long, value_name = "TOKEN")]
    client_request_token: Option<String>,
    /// Check the inputs and print the job as `aws s3control create-job --cli-input-json`
    /// takes it, without starting it.
    #[arg(long)]
    dry_run: bool,
}

/// What a job reads.
#[derive(Debug)]
enum Objects {
    /// Every object under these prefixes of one bucket, listed by the job itself.
    Prefixes {
        bucket: String,
        prefixes: Vec<String>,
        created_after: Option<DateTime<Utc>>,
        created_before: Option<DateTime<Utc>>,
    },
    /// The objects an S3 Inventory report lists, by its manifest and that object's ETag.
    Inventory { manifest: S3Uri, etag: String },
}

/// A Batch Operations job that invokes the host on objects.
#[derive(Debug)]
struct Job {
    account_id: String,
    /// The function's ARN's partition (`aws`, `aws-cn`…), for the bucket ARNs.
    partition: String,
    function_arn: String,
    role_arn: String,
    objects: Objects,
    report: S3Uri,
    priority: i32,
    token: String,
}

/// The function's ARN, the role's ARN and the report location: flags over the Terraform output.
fn destination(args: &Args) -> anyhow::Result<(String, String, S3Uri)> {
    let output = match &args.terraform_output {
        Some(path) => {
            let text = std::fs::read(path).map_err(|e| anyhow::anyhow!("cannot read {}: {e}", path.display()))?;
            let all: Value = serde_json::from_slice(&text).map_err(|e| {
                anyhow::anyhow!("{} is not JSON (`terraform output -json backfill`): {e}", path.display())
            })?;
            // `terraform output -json` has every output, each under `value`.
            let backfill = match &all["backfill"]["value"] {
                Value::Object(_) => all["backfill"]["value"].clone(),
                _ => all,
            };
            Some((path, backfill))
        }
        None => None,
    };
    let from_output = |name: &str| -> anyhow::Result<String> {
        let (path, backfill) = output.as_ref().expect("clap requires the flag without --terraform-output");
        backfill[name].as_str().map(str::to_owned).ok_or_else(|| {
            anyhow::anyhow!("{} has no `{name}`: is it `terraform output -json backfill`?", path.display())
        })
    };
    let function = args.function_arn.clone().map_or_else(|| from_output("function_arn"), Ok)?;
    let role = args.role_arn.clone().map_or_else(|| from_output("role_arn"), Ok)?;
    let report = match &args.report {
        Some(report) => report.clone(),
        None => parse_location(&from_output("reports")?).map_err(anyhow::Error::msg)?,
    };
    Ok((function, role, report))
}

/// The partition and region of a Lambda function's ARN.
fn function_partition_region(arn: &str) -> anyhow::Result<(String, String)> {
    match arn.split(':').collect::<Vec<_>>()[..] {
        ["arn", partition, "lambda", region, _account, "function", _name, ..] if !region.is_empty() => {
            Ok((partition.to_owned(), region.to_owned()))
        }
        _ => Err(clap_error(format!(
            "`{arn}` is not a Lambda function's ARN (arn:aws:lambda:REGION:ACCOUNT:function:NAME)"
        ))),
    }
}

/// A usage error found after parsing: clap's exit status (2) and message.
fn clap_error(message: String) -> anyhow::Error {
    clap::Error::raw(clap::error::ErrorKind::ValueValidation, format!("{message}\n")).into()
}

pub fn run(args: &Args, aws: &Aws) -> anyhow::Result<u8> {
    let (function_arn, role_arn, report) = destination(args)?;
    let (partition, region) = function_partition_region(&function_arn)?;
    let objects = objects(args, &S3::new(aws))?;
    let account_id = match &args.account_id {
        Some(id) => id.clone(),
        None => caller_account(aws)?,
    };
    let mut job = Job {
        account_id,
        partition,
        function_arn,
        role_arn,
        objects,
        report,
        priority: args.priority,
        token: String::new(),
    };
    job.token = args.client_request_token.clone().unwrap_or_else(|| job.default_token());
    if args.dry_run {
        println!("{}", serde_json::to_string_pretty(&job.cli_input())?);
        eprintln!(
            "not started (--dry-run); `aws s3control create-job --region {region} --cli-input-json file://JOB.json` starts it"
        );
        return Ok(exit::OK);
    }
    let config = aws_sdk_s3control::config::Builder::from(aws.config())
        .region(aws_sdk_s3control::config::Region::new(region.clone()))
        .build();
    let id = start(&Client::from_conf(config), &job, aws.handle())?;
    println!("{id}");
    eprintln!(
        "started S3 Batch Operations job {id} ({}); follow it with `aws s3control describe-job --region {region} --account-id {} --job-id {id}`; failed tasks are reported under {}",
        job.description(),
        job.account_id,
        job.report
    );
    Ok(exit::OK)
}

/// The objects the arguments name, checked: each prefix has an object, an inventory
/// manifest is a CSV report's.
fn objects(args: &Args, s3: &S3) -> anyhow::Result<Objects> {
    if let Some(manifest) = &args.inventory {
        let fetched = s3.get(manifest)?;
        let report: Value = serde_json::from_slice(&fetched.bytes)
            .map_err(|e| anyhow::anyhow!("{manifest} is not an S3 Inventory manifest.json: {e}"))?;
        let files = report["files"].as_array().map_or(0, Vec::len);
        match report["fileFormat"].as_str() {
            Some("CSV") if files > 0 => {}
            Some("CSV") => anyhow::bail!("{manifest}: the inventory report lists no files"),
            Some(other) => anyhow::bail!(
                "{manifest}: the inventory report is {other}; Batch Operations reads CSV reports only (set the inventory's output format to CSV)"
            ),
            None => anyhow::bail!("{manifest} is not an S3 Inventory manifest.json (it has no fileFormat)"),
        }
        let etag = fetched.etag.ok_or_else(|| anyhow::anyhow!("{manifest}: S3 gave no ETag"))?;
        eprintln!(
            "inventory of s3://{}: {files} CSV file(s), made at {}",
            report["sourceBucket"].as_str().unwrap_or("?"),
            report["creationTimestamp"]
                .as_str()
                .and_then(|ms| ms.parse().ok())
                .and_then(DateTime::from_timestamp_millis)
                .map_or_else(|| "?".into(), |t| t.to_rfc3339())
        );
        return Ok(Objects::Inventory { manifest: manifest.clone(), etag: etag.trim_matches('"').to_owned() });
    }
    let bucket = &args.prefixes[0].bucket;
    if let Some(other) = args.prefixes.iter().find(|p| p.bucket != *bucket) {
        return Err(clap_error(format!(
            "{other} is in another bucket than {}: a job reads one bucket (run kelk backfill once per bucket)",
            args.prefixes[0]
        )));
    }
    for prefix in &args.prefixes {
        anyhow::ensure!(s3.any_under(prefix)?, "{prefix}: no object under this prefix; nothing to backfill");
    }
    let mut prefixes: Vec<String> = args.prefixes.iter().map(|p| p.key.clone()).collect();
    prefixes.sort();
    prefixes.dedup();
    Ok(Objects::Prefixes {
        bucket: bucket.clone(),
        prefixes,
        created_after: args.created_after,
        created_before: args.created_before,
    })
}

/// The caller's account, from STS.
fn caller_account(aws: &Aws) -> anyhow::Result<String> {
    let client = aws_sdk_sts::Client::new(aws.config());
    let identity = aws.handle().block_on(client.get_caller_identity().send()).map_err(|e| {
        anyhow::anyhow!(
            "cannot tell the account from STS (give --account-id): {}",
            aws_sdk_sts::error::DisplayErrorContext(e)
        )
    })?;
    identity.account.ok_or_else(|| anyhow::anyhow!("STS named no account; give --account-id"))
}

/// Starts the job; its id.
fn start(client: &Client, job: &Job, runtime: &Handle) -> anyhow::Result<String> {
    let report = JobReport::builder()
        .enabled(true)
        .bucket(job.bucket_arn(&job.report.bucket))
        .prefix(job.report.key.trim_end_matches('/'))
        .format(JobReportFormat::ReportCsv20180820)
        .report_scope(JobReportScope::FailedTasksOnly)
        .build();
    let invoke =
        LambdaInvokeOperation::builder().function_arn(&job.function_arn).invocation_schema_version("2.0").build();
    let mut request = client
        .create_job()
        .account_id(&job.account_id)
        .confirmation_required(false)
        .operation(JobOperation::builder().lambda_invoke(invoke).build())
        .report(report)
        .client_request_token(&job.token)
        .description(job.description())
        .priority(job.priority)
        .role_arn(&job.role_arn);
    request = match &job.objects {
        Objects::Prefixes { bucket, prefixes, created_after, created_before } => {
            let time = |t: &Option<DateTime<Utc>>| {
                t.map(|t| aws_sdk_s3control::primitives::DateTime::from_secs(t.timestamp()))
            };
            let filter = JobManifestGeneratorFilter::builder()
                .set_created_after(time(created_after))
                .set_created_before(time(created_before))
                .set_key_name_constraint(
                    (!whole_bucket(prefixes))
                        .then(|| KeyNameConstraint::builder().set_match_any_prefix(Some(prefixes.clone())).build()),
                )
                .build();
            let generator = S3JobManifestGenerator::builder()
                .source_bucket(job.bucket_arn(bucket))
                .enable_manifest_output(false)
                .filter(filter)
                .build()?;
            request.manifest_generator(JobManifestGenerator::S3JobManifestGenerator(generator))
        }
        Objects::Inventory { manifest, etag } => request.manifest(
            JobManifest::builder()
                .spec(JobManifestSpec::builder().format(JobManifestFormat::S3InventoryReportCsv20161130).build()?)
                .location(
                    JobManifestLocation::builder()
                        .object_arn(job.bucket_arn(&format!("{}/{}", manifest.bucket, manifest.key)))
                        .e_tag(etag)
                        .build()?,
                )
                .build(),
        ),
    };
    let created = runtime
        .block_on(request.send())
        .map_err(|e| anyhow::anyhow!("S3 Batch Operations did not create the job: {}", DisplayErrorContext(e)))?;
    created.job_id.ok_or_else(|| anyhow::anyhow!("S3 Batch Operations created a job without naming it"))
}

impl Job {
    /// `arn:PARTITION:s3:::NAME`, for a bucket or an object (`BUCKET/KEY`).
    fn bucket_arn(&self, name: &str) -> String {
        format!("arn:{}:s3:::{name}", self.partition)
    }

    /// What the job reads, in words.
    fn description(&self) -> String {
        let text = match &self.objects {
            Objects::Prefixes { bucket, prefixes, .. } => {
                format!(
                    "kelk backfill of {}",
                    prefixes.iter().map(|p| format!("s3://{bucket}/{p}")).collect::<Vec<_>>().join(" ")
                )
            }
            Objects::Inventory { manifest, .. } => format!("kelk backfill of the inventory {manifest}"),
        };
        // Batch Operations takes at most 256 characters.
        text.chars().take(256).collect()
    }

    /// The job as `aws s3control create-job --cli-input-json` takes it: what `start` sends.
    fn cli_input(&self) -> Value {
        let time = |t: &Option<DateTime<Utc>>| t.map(|t| t.to_rfc3339());
        let mut input = json!({
            "AccountId": self.account_id,
            "ConfirmationRequired": false,
            "Operation": { "LambdaInvoke": { "FunctionArn": self.function_arn, "InvocationSchemaVersion": "2.0" } },
            "Report": {
                "Bucket": self.bucket_arn(&self.report.bucket),
                "Prefix": self.report.key.trim_end_matches('/'),
                "Format": "Report_CSV_20180820",
                "Enabled": true,
                "ReportScope": "FailedTasksOnly",
            },
            "ClientRequestToken": self.token,
            "Description": self.description(),
            "Priority": self.priority,
            "RoleArn": self.role_arn,
        });
        match &self.objects {
            Objects::Prefixes { bucket, prefixes, created_after, created_before } => {
                let mut filter = json!({});
                if !whole_bucket(prefixes) {
                    filter["KeyNameConstraint"] = json!({ "MatchAnyPrefix": prefixes });
                }
                for (name, time) in [("CreatedAfter", time(created_after)), ("CreatedBefore", time(created_before))] {
                    if let Some(time) = time {
                        filter[name] = json!(time);
                    }
                }
                input["ManifestGenerator"] = json!({ "S3JobManifestGenerator": {
                    "SourceBucket": self.bucket_arn(bucket), "EnableManifestOutput": false, "Filter": filter,
                } });
            }
            Objects::Inventory { manifest, etag } => {
                input["Manifest"] = json!({
                    "Spec": { "Format": "S3InventoryReport_CSV_20161130" },
                    "Location": { "ObjectArn": self.bucket_arn(&format!("{}/{}", manifest.bucket, manifest.key)), "ETag": etag },
                });
            }
        }
        input
    }

    /// A token made of everything the job does, so that the same command starts one job
    /// however often it is run, and any other job another.
    fn default_token(&self) -> String {
        let mut input = self.cli_input();
        input.as_object_mut().expect("an object").remove("ClientRequestToken");
        let digest = sha2::Sha256::digest(input.to_string().as_bytes());
        format!("kelk-{}", &hex::encode(digest)[..40])
    }
}

/// Whether the prefixes take in the whole bucket: then the job lists it without a key filter.
fn whole_bucket(prefixes: &[String]) -> bool {
    prefixes.iter().any(String::is_empty)
}

/// `2025-03-01` (midnight UTC) or an RFC 3339 time.
fn parse_time(text: &str) -> Result<DateTime<Utc>, String> {
    if let Ok(day) = NaiveDate::parse_from_str(text, "%Y-%m-%d") {
        return Ok(day.and_hms_opt(0, 0, 0).expect("midnight exists").and_utc());
    }
    DateTime::parse_from_rfc3339(text)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| format!("`{text}` is neither YYYY-MM-DD nor an RFC 3339 time: {e}"))
}

/// `s3://BUCKET/PREFIX` or `arn:PARTITION:s3:::BUCKET/PREFIX` (as Terraform gives it).
fn parse_location(text: &str) -> Result<S3Uri, String> {
    match text.split_once(":s3:::") {
        Some((arn, rest)) if arn.starts_with("arn:") => format!("s3://{rest}").parse(),
        _ => text.parse(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_s3control::config::{BehaviorVersion, Credentials, Region};
    use aws_smithy_http_client::test_util::capture_request;
    use aws_smithy_types::body::SdkBody;

    fn job(objects: Objects) -> Job {
        let mut job = Job {
            account_id: "123456789012".into(),
            partition: "aws".into(),
            function_arn: "arn:aws:lambda:eu-west-1:123456789012:function:kelk".into(),
            role_arn: "arn:aws:iam::123456789012:role/kelk-backfill".into(),
            objects,
            report: "s3://kelk-dead-letters/backfill/".parse().unwrap(),
            priority: 10,
            token: String::new(),
        };
        job.token = job.default_token();
        job
    }

    fn prefixes(prefixes: &[&str]) -> Objects {
        Objects::Prefixes {
            bucket: "my-logs".into(),
            prefixes: prefixes.iter().map(|p| p.to_string()).collect(),
            created_after: Some(parse_time("2025-03-01").unwrap()),
            created_before: Some(parse_time("2025-04-01T12:00:00+02:00").unwrap()),
        }
    }

    /// The HTTP request the SDK sends for `job` (S3 Control answering with a job id), as text:
    /// method, URI and headers on the first lines, the XML body after.
    fn sent(job: &Job) -> String {
        let answer = http::Response::builder()
            .status(200)
            .body(SdkBody::from("<CreateJobResult><JobId>8c4a9c3b-job</JobId></CreateJobResult>"))
            .unwrap();
        let (http_client, request) = capture_request(Some(answer));
        let config = aws_sdk_s3control::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new("eu-west-1"))
            .credentials_provider(Credentials::new("AKIDEXAMPLE", "secret", None, None, "test"))
            .http_client(http_client)
            .build();
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        let id = start(&Client::from_conf(config), job, runtime.handle()).unwrap();
        assert_eq!(id, "8c4a9c3b-job");
        let request = request.expect_request();
        let headers: Vec<String> =
            request.headers().iter().map(|(name, value)| format!("{}: {value}", name.to_lowercase())).collect();
        let body = std::str::from_utf8(request.body().bytes().unwrap()).unwrap().to_owned();
        format!("{} {}\n{}\n\n{body}", request.method(), request.uri(), headers.join("\n"))
    }

    /// What Batch Operations needs of a backfill over prefixes: the job in the account and the
    /// function's region, the manifest made by S3 from a listing of the prefixes between two
    /// times, the host invoked with schema 2.0, a report of the failed tasks, no confirmation,
    /// and the idempotency token.
    #[test]
    fn a_backfill_over_prefixes_asks_for_a_generated_manifest() {
        let job = job(prefixes(&["alb/2025/", "alb-old/2025/"]));
        let sent = sent(&job);
        for expected in [
            "POST https://123456789012.s3-control.eu-west-1.amazonaws.com/v20180820/jobs",
            "x-amz-account-id: 123456789012",
            "<ConfirmationRequired>false</ConfirmationRequired>",
            "<Operation><LambdaInvoke><FunctionArn>arn:aws:lambda:eu-west-1:123456789012:function:kelk</FunctionArn><InvocationSchemaVersion>2.0</InvocationSchemaVersion></LambdaInvoke></Operation>",
            "<Report><Bucket>arn:aws:s3:::kelk-dead-letters</Bucket><Format>Report_CSV_20180820</Format><Enabled>true</Enabled><Prefix>backfill</Prefix><ReportScope>FailedTasksOnly</ReportScope></Report>",
            &format!("<ClientRequestToken>{}</ClientRequestToken>", job.token),
            "<Priority>10</Priority>",
            "<RoleArn>arn:aws:iam::123456789012:role/kelk-backfill</RoleArn>",
            "<ManifestGenerator><S3JobManifestGenerator><SourceBucket>arn:aws:s3:::my-logs</SourceBucket><Filter>",
            "<EnableManifestOutput>false</EnableManifestOutput>",
            "<CreatedAfter>2025-03-01T00:00:00Z</CreatedAfter><CreatedBefore>2025-04-01T10:00:00Z</CreatedBefore>",
            "<KeyNameConstraint><MatchAnyPrefix><member>alb/2025/</member><member>alb-old/2025/</member></MatchAnyPrefix></KeyNameConstraint>",
        ] {
            assert!(sent.contains(expected), "{expected}\nnot in\n{sent}");
        }
        assert!(!sent.contains("<Manifest>"), "{sent}");
    }

    /// Over an S3 Inventory report: its manifest.json by ARN and ETag, in the inventory's CSV format.
    #[test]
    fn a_backfill_over_an_inventory_names_its_manifest_and_etag() {
        let manifest: S3Uri = "s3://inventories/my-logs/all/2025-03-02T01-00Z/manifest.json".parse().unwrap();
        let sent = sent(&job(Objects::Inventory { manifest, etag: "0cc175b9c0f1b6a831c399e269772661".into() }));
        let expected = "<Manifest><Spec><Format>S3InventoryReport_CSV_20161130</Format></Spec><Location><ObjectArn>arn:aws:s3:::inventories/my-logs/all/2025-03-02T01-00Z/manifest.json</ObjectArn><ETag>0cc175b9c0f1b6a831c399e269772661</ETag></Location></Manifest>";
        assert!(sent.contains(expected), "{sent}");
        assert!(!sent.contains("<ManifestGenerator>"), "{sent}");
    }

    /// The whole bucket is listed without a key filter.
    #[test]
    fn a_whole_bucket_has_no_key_filter() {
        let sent = sent(&job(prefixes(&["", "alb/"])));
        assert!(sent.contains("<SourceBucket>arn:aws:s3:::my-logs</SourceBucket>"), "{sent}");
        assert!(!sent.contains("KeyNameConstraint"), "{sent}");
        assert!(!job(prefixes(&[""])).cli_input().to_string().contains("KeyNameConstraint"));
    }

    /// The same job has the same token, so running the command again starts no second job; a
    /// job that differs in anything has another.
    #[test]
    fn the_token_is_the_same_for_the_same_job_only() {
        let token = job(prefixes(&["alb/2025/"])).token;
        assert_eq!(job(prefixes(&["alb/2025/"])).token, token);
        assert!(token.starts_with("kelk-") && token.len() <= 64, "{token}");
        assert_ne!(job(prefixes(&["alb/2024/"])).token, token);
        let mut other = job(prefixes(&["alb/2025/"]));
        other.priority = 20;
        assert_ne!(other.default_token(), token);
    }

    #[test]
    fn terraform_report_locations_and_times_parse() {
        let report = parse_location("arn:aws:s3:::kelk-dead-letters/backfill/").unwrap();
        assert_eq!((report.bucket.as_str(), report.key.as_str()), ("kelk-dead-letters", "backfill/"));
        assert_eq!(parse_location("s3://b/p").unwrap().key, "p");
        assert!(parse_location("b/p").is_err());
        assert_eq!(parse_time("2025-03-01T00:00:00Z").unwrap(), parse_time("2025-03-01").unwrap());
        assert!(parse_time("March").is_err());
        let (partition, region) = function_partition_region("arn:aws-cn:lambda:cn-north-1:1:function:kelk").unwrap();
        assert_eq!((partition.as_str(), region.as_str()), ("aws-cn", "cn-north-1"));
        assert!(function_partition_region("arn:aws:iam::1:role/kelk").is_err());
    }
}
