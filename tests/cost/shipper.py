"""The classic Python log-shipping Lambda, KELK's peer in the cost model (README, BENCHMARKS.md).

What such functions do (the 2017 KELK example, SIEM on OpenSearch's es-loader, CLO's log
processor, countless hand-written ones): for each object of an S3 notification, download it,
gunzip it, parse each record with the standard library (csv for the space- or tab-separated
formats, json for the JSON ones, a regex where a format has brackets), turn it into a dict, and
index the dicts with opensearch-py's `helpers.bulk` into a daily index by event date. Nothing
here is tuned or hobbled: it is what the README of such a function shows.

Run it as Lambda runs it, on one S3 object: `python shipper.py FORMAT s3://bucket/key`, with
`OPENSEARCH_URL` and the AWS settings (`AWS_ENDPOINT_URL_S3` for a local S3 server) in the
environment. It prints the documents it indexed.
"""

import csv
import datetime
import gzip
import io
import json
import os
import re
import sys
import urllib.parse

import boto3
from opensearchpy import OpenSearch, helpers

s3 = boto3.client("s3")
client = OpenSearch(os.environ.get("OPENSEARCH_URL", "http://localhost:9200"), timeout=120)
PREFIX = os.environ.get("INDEX_PREFIX", "shipper")

ALB_FIELDS = [
    "type", "time", "elb", "client_port", "target_port", "request_processing_time",
    "target_processing_time", "response_processing_time", "elb_status_code",
    "target_status_code", "received_bytes", "sent_bytes", "request", "user_agent",
    "ssl_cipher", "ssl_protocol", "target_group_arn", "trace_id", "domain_name",
    "chosen_cert_arn", "matched_rule_priority", "request_creation_time", "actions_executed",
    "redirect_url", "error_reason", "target_port_list", "target_status_code_list",
    "classification", "classification_reason", "conn_trace_id",
]
NLB_FIELDS = [
    "type", "version", "time", "elb", "listener", "client_port", "destination_port",
    "connection_time", "tls_handshake_time", "received_bytes", "sent_bytes",
    "incoming_tls_alert", "chosen_cert_arn", "chosen_cert_serial", "tls_cipher",
    "tls_protocol_version", "tls_named_group", "domain_name", "alpn_fe_protocol",
    "alpn_be_protocol", "alpn_client_preference_list", "tls_connection_creation_time",
]
ALB_NUMBERS = {
    "request_processing_time": float, "target_processing_time": float,
    "response_processing_time": float, "received_bytes": int, "sent_bytes": int,
    "connection_time": float, "tls_handshake_time": float,
}
VPCFLOW_NUMBERS = {"srcport", "dstport", "protocol", "packets", "bytes", "start", "end", "version"}
APACHE = re.compile(
    r'(?P<host>\S+) (?P<ident>\S+) (?P<user>\S+) \[(?P<time>[^\]]+)\] "(?P<request>[^"]*)" '
    r'(?P<status>\d{3}) (?P<bytes>\S+)(?: "(?P<referrer>[^"]*)" "(?P<agent>[^"]*)")?'
)
# AWS's own pattern for S3 server access logs (the Athena table in the S3 user guide).
S3ACCESS = re.compile(
    r'([^ ]*) ([^ ]*) \[(.*?)\] ([^ ]*) ([^ ]*) ([^ ]*) ([^ ]*) ([^ ]*) ("[^"]*"|-) (-|[0-9]*) '
    r'([^ ]*) ([^ ]*) ([^ ]*) ([^ ]*) ([^ ]*) ([^ ]*) ("[^"]*"|-) ([^ ]*)(?: ([^ ]*) ([^ ]*) '
    r'([^ ]*) ([^ ]*) ([^ ]*) ([^ ]*) ([^ ]*) ([^ ]*))?.*$'
)
S3ACCESS_FIELDS = [
    "bucket_owner", "bucket", "time", "remote_ip", "requester", "request_id", "operation", "key",
    "request_uri", "http_status", "error_code", "bytes_sent", "object_size", "total_time",
    "turn_around_time", "referrer", "user_agent", "version_id", "host_id", "signature_version",
    "cipher_suite", "authentication_type", "host_header", "tls_version", "access_point_arn",
    "acl_required",
]
APACHE_TIME = "%d/%b/%Y:%H:%M:%S %z"


def number(value, kind):
    try:
        return kind(value)
    except ValueError:
        return None


def alb(text):
    for row in csv.reader(io.StringIO(text), delimiter=" ", quotechar='"'):
        fields = NLB_FIELDS if row and row[0] == "tls" else ALB_FIELDS
        doc = dict(zip(fields, row))
        for name, kind in ALB_NUMBERS.items():
            if name in doc:
                doc[name] = number(doc[name], kind)
        doc["@timestamp"] = doc["time"]
        yield doc


def cloudfront(text):
    fields = []
    for row in csv.reader(io.StringIO(text), delimiter="\t", quoting=csv.QUOTE_NONE):
        if row and row[0].startswith("#Fields:"):
            fields = [row[0][len("#Fields: "):]] + row[1:]
            fields = " ".join(fields).split()
            continue
        if not row or row[0].startswith("#"):
            continue
        doc = dict(zip(fields, row))
        doc["@timestamp"] = f"{doc['date']}T{doc['time']}Z"
        for name in ("sc-status", "sc-bytes", "cs-bytes"):
            doc[name] = number(doc.get(name, ""), int)
        doc["time-taken"] = number(doc.get("time-taken", ""), float)
        yield doc


def apache(text):
    for line in text.splitlines():
        match = APACHE.match(line)
        if not match:
            continue
        doc = match.groupdict()
        doc["@timestamp"] = datetime.datetime.strptime(doc["time"], APACHE_TIME).isoformat()
        doc["status"] = int(doc["status"])
        doc["bytes"] = number(doc["bytes"], int) or 0
        yield doc


def cloudtrail(text):
    for record in json.loads(text)["Records"]:
        record["@timestamp"] = record["eventTime"]
        # Free-form objects as strings, or their keys would explode the mapping.
        for name in ("requestParameters", "responseElements", "additionalEventData", "serviceEventDetails"):
            if name in record:
                record[name] = json.dumps(record[name])
        yield record


def vpcflow(text):
    lines = iter(text.splitlines())
    fields = next(lines).split()
    for line in lines:
        doc = dict(zip(fields, line.split(" ")))
        for name in VPCFLOW_NUMBERS & doc.keys():
            doc[name] = number(doc[name], int)
        start = doc.get("start")
        if start is not None:
            doc["@timestamp"] = datetime.datetime.fromtimestamp(start, datetime.timezone.utc).isoformat()
        yield doc


def s3access(text):
    for line in text.splitlines():
        match = S3ACCESS.match(line)
        if not match:
            continue
        doc = dict(zip(S3ACCESS_FIELDS, match.groups()))
        doc["@timestamp"] = datetime.datetime.strptime(doc["time"], APACHE_TIME).isoformat()
        for name in ("http_status", "bytes_sent", "object_size", "total_time", "turn_around_time"):
            doc[name] = number(doc[name] or "-", int)
        yield doc


def json_lines(time):
    def parse(text):
        for line in text.splitlines():
            if line:
                doc = json.loads(line)
                doc["@timestamp"] = time(doc)
                yield doc

    return parse


def epoch_ms(ms):
    return datetime.datetime.fromtimestamp(ms / 1000, datetime.timezone.utc).isoformat()


def waf_doc(doc):
    # Header names are the client's choice: kept as one string, as with CloudTrail's objects.
    doc["httpRequest"]["headers"] = json.dumps(doc["httpRequest"]["headers"])
    return epoch_ms(doc["timestamp"])


PARSERS = {
    "alb": alb,
    "nlb": alb,
    "cloudfront": cloudfront,
    "cloudfront-json": json_lines(lambda d: epoch_ms(int(d["timestamp(ms)"]))),
    "apache": apache,
    "cloudtrail": cloudtrail,
    "vpcflow": vpcflow,
    "s3access": s3access,
    "waf": json_lines(waf_doc),
    "route53": json_lines(lambda d: d["query_timestamp"]),
}


def actions(fmt, docs):
    for doc in docs:
        yield {"_index": f"{PREFIX}-{fmt}-{doc['@timestamp'][:10].replace('-', '.')}", "_source": doc}


def handler(event, context):
    fmt = os.environ["LOG_FORMAT"]
    indexed = 0
    for record in event["Records"]:
        bucket = record["s3"]["bucket"]["name"]
        key = urllib.parse.unquote_plus(record["s3"]["object"]["key"])
        body = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
        if body[:2] == b"\x1f\x8b":
            body = gzip.decompress(body)
        ok, errors = helpers.bulk(client, actions(fmt, PARSERS[fmt](body.decode("utf-8"))), raise_on_error=False)
        if errors:
            print(f"{len(errors)} documents refused, the first: {errors[0]}", file=sys.stderr)
        indexed += ok
    return {"indexed": indexed}


if __name__ == "__main__":
    fmt, uri = sys.argv[1], sys.argv[2]
    os.environ["LOG_FORMAT"] = fmt
    bucket, key = uri.removeprefix("s3://").split("/", 1)
    event = {"Records": [{"s3": {"bucket": {"name": bucket}, "object": {"key": urllib.parse.quote_plus(key)}}}]}
    print(handler(event, None)["indexed"])
