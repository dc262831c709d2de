//! Against an OpenSearch with fine-grained access control (started by `make test`,
//! `tests/servers/opensearch-secure`: the security plugin, TLS from a private CA, basic auth).
//! As the admin, the writer role is made and mapped as `kelk setup --writer-role ARN` does it,
//! and an internal user is given that ARN as its backend role, so that it gets the role through
//! the same mapping an IAM role would. As that user, KELK does its work (its index templates,
//! documents into `logs-*`, through the real setup, pipeline and bulk sink, and through the
//! `kelk` tool) and nothing else: deleting an index, reading one outside `logs-*`, writing one
//! outside `logs-*`, changing the security configuration are refused with 403. A wrong password
//! is refused, and the cluster's certificate is trusted with its CA only.

use kelk_runtime::opensearch::setup::{self, WRITER_ROLE};
use kelk_runtime::opensearch::{Auth, BulkSink, Cluster};
use kelk_runtime::pipeline::{self, Job};
use kelk_runtime::sink::{KeptLetter, SinkError};
use kelk_runtime::source::{ObjectRef, SourceRef};
use kelk_tests::{aws, index_count, load, sandbox, workspace};
use opensearch::http::Method;
use serde_json::json;
use std::path::PathBuf;
use std::process::Command;
use std::sync::OnceLock;

/// The IAM role a host would run as; here the backend role of the writer user.
const HOST_ROLE: &str = "arn:aws:iam::123456789012:role/kelk-test-host";
const WRITER: &str = "kelk-test-writer";
/// Strong enough for the security plugin's password rules.
const WRITER_PASSWORD: &str = "Kelk-Writer-Test-7f3q!";

fn env(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| {
        panic!(
            "{name} is not set: run `make test`, which starts OpenSearch with the security plugin \
             (tests/servers/opensearch-secure start)"
        )
    })
}

fn url() -> String {
    env("KELK_TEST_OPENSEARCH_SECURE")
}

fn ca() -> PathBuf {
    env("KELK_TEST_OPENSEARCH_SECURE_CA").into()
}

fn connect(auth: Auth) -> Cluster {
    Cluster::connect_with_ca(&url(), auth, Some(&ca()), &aws()).unwrap()
}

fn admin() -> Cluster {
    connect(Auth::Basic {
        user: env("KELK_TEST_OPENSEARCH_SECURE_USER"),
        password: env("KELK_TEST_OPENSEARCH_SECURE_PASSWORD"),
    })
}

/// The writer user, once per run: the role and its mapping as `kelk setup --writer-role` puts
/// them, and a user whose backend role is the host's IAM role.
fn writer() -> Cluster {
    static READY: OnceLock<()> = OnceLock::new();
    READY.get_or_init(|| {
        let admin = admin();
        let done = setup::map_writers(&admin, &[HOST_ROLE.to_owned()]).unwrap();
        assert_eq!(done.len(), 2, "{done:?}");
        let user = json!({ "password": WRITER_PASSWORD, "backend_roles": [HOST_ROLE] });
        admin
            .request(
                Method::Put,
                &format!("/_plugins/_security/api/internalusers/{WRITER}"),
                Some(user.to_string().as_bytes()),
            )
            .unwrap();
    });
    connect(Auth::Basic { user: WRITER.into(), password: WRITER_PASSWORD.into() })
}

/// A request the cluster must refuse for want of permission, 403: its message, which says why.
fn forbidden(result: std::io::Result<Option<serde_json::Value>>) -> String {
    let message = result.expect_err("refused").to_string();
    assert!(message.contains(": 403 Forbidden: "), "{message}");
    message
}

/// A request on indices the cluster must refuse for want of `action`.
fn no_permission_for(action: &str, result: std::io::Result<Option<serde_json::Value>>) {
    let message = forbidden(result);
    let said = format!("no permissions for [{action}] and User [name={WRITER}");
    assert!(message.contains("security_exception") && message.contains(&said), "{message}");
}

/// Removes what an earlier run against the same node left, as the admin.
fn fresh(pattern: &str) {
    admin().request(Method::Delete, &format!("/{pattern}"), None).unwrap();
}

/// Runs an Apache sample through the pipeline into `cluster` under `prefix`.
fn ingest(
    cluster: Cluster,
    prefix: &str,
    key: &str,
) -> (Result<pipeline::Counts, pipeline::Failed>, BulkSink, Vec<KeptLetter>) {
    let sandbox = sandbox();
    let apache = load(&sandbox, "kelk-parser-apache");
    let mut sink = BulkSink::new(cluster);
    let mut letters = Vec::new();
    let source = SourceRef::Object(ObjectRef { bucket: "logs".into(), key: key.into(), ..ObjectRef::default() });
    let job = Job { index_prefix: Some(prefix), ..Job::new(&source) };
    let input = std::fs::read(workspace().join("parsers/apache/samples/apache-httpd-docs-logs-examples.log")).unwrap();
    let result = pipeline::ingest(&apache, &job, &input[..], &mut sink, &mut letters);
    (result, sink, letters)
}

#[test]
fn the_writer_gets_the_kelk_role_through_its_backend_role() {
    let who = writer().request(Method::Get, "/_plugins/_security/authinfo", None).unwrap().unwrap();
    assert_eq!(who["user_name"], WRITER);
    assert_eq!(who["backend_roles"], json!([HOST_ROLE]));
    assert_eq!(who["roles"], json!([WRITER_ROLE]), "the writer role only, by the mapping: {who}");
}

#[test]
fn the_writer_puts_kelk_templates_and_indexes_into_logs() {
    let prefix = "logs-apache.access-sectest";
    let writer = writer();
    // The admin removes what an earlier run left, for the writer to put it again.
    fresh(&format!("{prefix}-*"));
    admin().request(Method::Delete, &format!("/_index_template/kelk-{prefix}-*"), None).unwrap();

    let sandbox = sandbox();
    let apache = load(&sandbox, "kelk-parser-apache");
    let done = setup::setup(&writer, &[(&apache, prefix)], Some(30)).unwrap();
    assert_eq!(done[0], format!("put _index_template/kelk-{prefix}-{}", apache.info.version), "{done:?}");
    // The node has no ISM plugin: the writer may ask which plugins it has, and is told none.
    assert!(done[1].contains("no ISM plugin"), "{done:?}");
    let again = setup::setup(&writer, &[(&apache, prefix)], None).unwrap();
    assert_eq!(again, [format!("kept _index_template/kelk-{prefix}-{}", apache.info.version)]);

    // Into a daily index the writer's first document creates, twice: the second time finds
    // every document there.
    let (counts, sink, letters) = ingest(writer, prefix, "writer.log");
    let counts = counts.unwrap_or_else(|f| panic!("{}", f.error));
    assert!(letters.is_empty(), "{letters:?}");
    assert_eq!((sink.stats().indexed, sink.stats().refused), (counts.documents, 0));
    let (again, sink, letters) = ingest(self::writer(), prefix, "writer.log");
    again.unwrap_or_else(|f| panic!("{}", f.error));
    assert!(letters.is_empty(), "{letters:?}");
    assert_eq!((sink.stats().indexed, sink.stats().already_indexed), (0, counts.documents));
    assert_eq!(index_count(&admin(), &format!("{prefix}-*")), counts.documents);
    let index = admin().request(Method::Get, &format!("/{prefix}-*/_mapping/field/source.ip"), None).unwrap().unwrap();
    let (_, mapping) = index.as_object().unwrap().iter().next().unwrap();
    assert_eq!(mapping["mappings"]["source.ip"]["mapping"]["ip"]["type"], "ip", "the template mapped it: {index}");
}

#[test]
fn the_writer_may_do_nothing_else() {
    let writer = writer();
    let admin = admin();
    // An index of KELK's, and one that is not.
    for (index, body) in
        [("logs-sectest.refusals-2000.10.10", json!({})), ("kelk-sectest-private", json!({"secret": "yes"}))]
    {
        admin.request(Method::Delete, &format!("/{index}"), None).unwrap();
        admin
            .request(Method::Put, &format!("/{index}/_doc/1?refresh=true"), Some(body.to_string().as_bytes()))
            .unwrap();
    }

    let index = "/logs-sectest.refusals-2000.10.10";
    no_permission_for("indices:admin/delete", writer.request(Method::Delete, index, None));
    no_permission_for("indices:admin/delete", writer.request(Method::Delete, "/logs-*", None));
    assert!(admin.request(Method::Get, index, None).unwrap().is_some(), "still there");

    let search = Some(&b"{}"[..]);
    no_permission_for(
        "indices:data/read/search",
        writer.request(Method::Post, "/kelk-sectest-private/_search", search),
    );
    no_permission_for("indices:data/read/get", writer.request(Method::Get, "/kelk-sectest-private/_doc/1", None));

    // The security configuration: a role of its own with every permission, or itself mapped to
    // the admin's role.
    let api = "/_plugins/_security/api";
    let everything = json!({
        "cluster_permissions": ["*"],
        "index_permissions": [{ "index_patterns": ["*"], "allowed_actions": ["*"] }],
    });
    let mapping = json!({ "backend_roles": ["admin", HOST_ROLE] });
    for (path, body) in [
        (format!("{api}/roles/kelk_sectest_everything"), everything),
        (format!("{api}/rolesmapping/all_access"), mapping),
    ] {
        let refused = forbidden(writer.request(Method::Put, &path, Some(body.to_string().as_bytes())));
        assert!(refused.contains("No permission to access REST API"), "{refused}");
    }
    assert!(admin.request(Method::Get, &format!("{api}/roles/kelk_sectest_everything"), None).unwrap().is_none());
    let who = writer.request(Method::Get, "/_plugins/_security/authinfo", None).unwrap().unwrap();
    assert_eq!(who["roles"], json!([WRITER_ROLE]));

    // Documents for an index outside `logs-*` are refused one by one (403): not for what they
    // are, but for who sends them, so the object fails with the reason (to be retried once the
    // role is fixed), and nothing is dead-lettered.
    fresh("kelk-sectest-outside-*");
    let (result, sink, letters) = ingest(writer, "kelk-sectest-outside", "outside.log");
    let failed = result.expect_err("a writer without permission indexes nothing");
    assert!(matches!(*failed.error, pipeline::IngestError::Sink(SinkError::Refused(_))), "{}", failed.error);
    let message = failed.error.to_string();
    assert!(message.contains("(403)") && message.contains("security_exception"), "{message}");
    assert!(letters.is_empty(), "{letters:?}");
    assert_eq!((sink.stats().indexed, sink.stats().refused), (0, 0));
}

#[test]
fn a_wrong_password_is_refused() {
    writer();
    let wrong = connect(Auth::Basic { user: WRITER.into(), password: "Not-The-Password-1!".into() });
    let message = wrong.request(Method::Get, "/_cluster/health", None).unwrap_err().to_string();
    assert!(message.contains("401 Unauthorized"), "{message}");
    let nobody = connect(Auth::None);
    let message = nobody.request(Method::Get, "/_cluster/health", None).unwrap_err().to_string();
    assert!(message.contains("401 Unauthorized"), "{message}");
}

#[test]
fn the_certificate_is_trusted_with_its_ca_only() {
    let auth = Auth::Basic {
        user: env("KELK_TEST_OPENSEARCH_SECURE_USER"),
        password: env("KELK_TEST_OPENSEARCH_SECURE_PASSWORD"),
    };
    let untrusting = Cluster::connect(&url(), auth.clone(), &aws()).unwrap();
    let message = untrusting.request(Method::Get, "/_cluster/health", None).unwrap_err().to_string();
    assert!(message.contains("invalid peer certificate: UnknownIssuer"), "{message}");
    let health = connect(auth).request(Method::Get, "/_cluster/health", None).unwrap().unwrap();
    assert!(health["status"] == "green" || health["status"] == "yellow", "{health}");
}

/// `kelk ingest` as the writer, with `--ca-cert`: the templates and the documents go in; without
/// it, the tool stops on the certificate and says so.
#[test]
fn kelk_ingest_trusts_the_ca_it_is_given() {
    writer();
    let prefix = "logs-apache.access-default";
    fresh(&format!("{prefix}-*"));
    let dir = tempfile::tempdir().unwrap();
    let sample = workspace().join("parsers/apache/samples/apache-httpd-docs-logs-examples.log");
    let kelk = |ca: Option<&PathBuf>| {
        let mut command = Command::new(workspace().join("target/release/kelk"));
        command.args(["ingest", "--plugin", "apache", "--opensearch", &url(), "--user", WRITER, "--out"]);
        command.arg(dir.path()).arg(&sample).env("KELK_OPENSEARCH_PASSWORD", WRITER_PASSWORD);
        if let Some(ca) = ca {
            command.arg("--ca-cert").arg(ca);
        }
        let out = command.output().expect("target/release/kelk runs (cargo build --release --bins)");
        (out.status, format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr)))
    };
    let (status, said) = kelk(None);
    assert!(!status.success() && said.contains("invalid peer certificate: UnknownIssuer"), "{status}: {said}");
    let (status, said) = kelk(Some(&ca()));
    assert!(status.success(), "{said}");
    assert_eq!(index_count(&admin(), &format!("{prefix}-*")), 2, "{said}");
}
