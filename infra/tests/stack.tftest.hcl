# The whole stack, planned and "applied" against a mocked AWS provider (no account, no
# network): the security properties hold, and every piece is wired to the next.

mock_provider "aws" {
  mock_data "aws_caller_identity" {
    defaults = { account_id = "123456789012" }
  }
  mock_data "aws_region" {
    defaults = { name = "eu-west-1" }
  }
  mock_data "aws_availability_zones" {
    defaults = { names = ["eu-west-1a", "eu-west-1b"] }
  }
  mock_data "aws_elb_service_account" {
    defaults = { arn = "arn:aws:iam::156460612806:root" }
  }
  mock_data "aws_ssm_parameter" {
    defaults = { value = "ami-0123456789abcdef0" }
  }
  mock_data "aws_ec2_managed_prefix_list" {
    defaults = { id = "pl-4fa04526" }
  }
  mock_resource "aws_iam_role" {
    defaults = { arn = "arn:aws:iam::123456789012:role/mock" }
  }
  mock_resource "aws_s3_bucket" {
    defaults = { arn = "arn:aws:s3:::mock-bucket", bucket_domain_name = "mock-bucket.s3.amazonaws.com" }
  }
  mock_resource "aws_sqs_queue" {
    defaults = { arn = "arn:aws:sqs:eu-west-1:123456789012:mock", url = "https://sqs.eu-west-1.amazonaws.com/123456789012/mock" }
  }
  mock_resource "aws_lambda_function" {
    defaults = { arn = "arn:aws:lambda:eu-west-1:123456789012:function:kelk-host" }
  }
  mock_resource "aws_opensearch_domain" {
    defaults = { arn = "arn:aws:es:eu-west-1:123456789012:domain/kelk-logs", endpoint = "search-kelk-logs.eu-west-1.es.amazonaws.com" }
  }
  mock_resource "aws_kinesis_firehose_delivery_stream" {
    defaults = { arn = "arn:aws:firehose:eu-west-1:123456789012:deliverystream/kelk-apache" }
  }
  mock_resource "aws_cloudwatch_log_group" {
    defaults = { arn = "arn:aws:logs:eu-west-1:123456789012:log-group:mock" }
  }
  mock_resource "aws_lb" {
    defaults = { arn = "arn:aws:elasticloadbalancing:eu-west-1:123456789012:loadbalancer/app/kelk-web/0123456789abcdef", dns_name = "kelk-web-123.eu-west-1.elb.amazonaws.com" }
  }
  mock_resource "aws_lb_target_group" {
    defaults = { arn = "arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/kelk-web/0123456789abcdef" }
  }
  mock_resource "aws_cloudtrail" {
    defaults = { arn = "arn:aws:cloudtrail:eu-west-1:123456789012:trail/kelk-trail" }
  }
}

variables {
  host_package   = "tests/fixtures/placeholder"
  admin_role_arn = "arn:aws:iam::123456789012:role/Admin"
  plugins = {
    alb        = "tests/fixtures/placeholder"
    cloudfront = "tests/fixtures/placeholder"
    cloudtrail = "tests/fixtures/placeholder"
    apache     = "tests/fixtures/placeholder"
  }
  dashboards_allowed_cidrs = ["203.0.113.0/24"]
  precompiled_plugins      = { alb = "tests/fixtures/placeholder" }
}

run "stack" {
  command = apply

  assert {
    condition = alltrue([for s in jsondecode(module.opensearch.access_policy).Statement :
    s.Principal != "*" && (try(s.Principal.AWS, null) != "*" || length(try(s.Condition, {})) > 0)])
    error_message = "The domain's access policy lets everyone in without a condition."
  }
  assert {
    condition     = module.opensearch.settings.encrypt_at_rest && module.opensearch.settings.node_to_node_encryption
    error_message = "The domain is not encrypted at rest and between nodes."
  }
  assert {
    condition     = module.opensearch.settings.enforce_https && module.opensearch.settings.tls_security_policy == "Policy-Min-TLS-1-2-2019-07"
    error_message = "The domain does not enforce HTTPS with TLS 1.2 or later."
  }
  assert {
    condition     = module.opensearch.settings.fine_grained_access_control && !module.opensearch.settings.anonymous_auth
    error_message = "The domain's fine-grained access control is off, or lets anonymous users in."
  }
  assert {
    condition = alltrue(flatten([for s in jsondecode(module.host.role_policy).Statement : [
      for a in flatten([s.Action]) : !contains(["*", "s3:*", "es:*"], a)
    ]]))
    error_message = "The host role is granted a whole service."
  }
  assert {
    condition     = alltrue(flatten([for s in jsondecode(module.host.role_policy).Statement : [for r in flatten([s.Resource]) : r != "*"]]))
    error_message = "The host role is granted something on every resource."
  }
  assert {
    condition = alltrue([for r in flatten([for s in jsondecode(module.host.role_policy).Statement : s.Resource if s.Sid == "IndexIntoOpenSearch"]) :
    startswith(r, module.opensearch.arn)])
    error_message = "The host may index into something other than the stack's domain."
  }
  assert {
    condition = [for s in jsondecode(module.host.role_policy).Statement : [s.Action, s.Resource] if contains(["ReadProgress", "ListDeadLetters"], s.Sid)] == [
      ["s3:GetObject", "${module.dead_letters.arn}/dead-letters/*/progress.json"],
      ["s3:ListBucket", module.dead_letters.arn],
    ]
    error_message = "The host cannot read an object's progress beside its dead letters (a missing one must be a 404), or may read more."
  }
  assert {
    condition = [for s in jsondecode(module.host.backfill.policy).Statement : s.Resource if s.Action == "lambda:InvokeFunction"] == [module.host.function_arn] && alltrue(flatten([
      for s in jsondecode(module.host.backfill.policy).Statement : [for r in flatten([s.Resource]) : r != "*" && !endswith(r, ":*")]
    ]))
    error_message = "The backfill role may invoke more than the host, or is granted something on every resource."
  }
  assert {
    condition = alltrue([for b in [module.alb_logs, module.cloudfront_logs, module.dead_letters] :
    alltrue(values(b.public_access_block))])
    error_message = "A bucket does not block public access."
  }
  assert {
    condition = alltrue([for p in [module.alb_logs.policy, module.cloudfront_logs.policy, module.trail.bucket.policy, module.dead_letters.policy, module.plugins.policy] :
    contains([for s in jsondecode(p).Statement : s.Sid], "DenyInsecureTransport")])
    error_message = "A bucket accepts requests without TLS."
  }
  assert {
    condition = alltrue([for s in jsondecode(module.trail.bucket.policy).Statement :
    s.Sid == "DenyInsecureTransport" || try(s.Condition.StringEquals["aws:SourceArn"], "") == "arn:aws:cloudtrail:eu-west-1:123456789012:trail/kelk-trail"])
    error_message = "The CloudTrail bucket lets CloudTrail in without scoping it to the trail."
  }
  assert {
    condition     = jsondecode(module.host.redrive_policy).deadLetterTargetArn == module.host.dead_letter_queue_arn
    error_message = "The object queue does not redrive to its dead-letter queue."
  }
  assert {
    condition     = module.host.event_source_response_types == toset(["ReportBatchItemFailures"])
    error_message = "The host does not report per-message failures to SQS."
  }
  assert {
    condition     = module.firehose.transform_lambda == "${module.host.function_arn}:$LATEST"
    error_message = "Firehose does not transform with the KELK host."
  }
  assert {
    condition     = module.firehose.s3_backup_mode == "AllDocuments"
    error_message = "Firehose does not keep every record in S3 by default."
  }
  assert {
    condition     = endswith(jsondecode(module.plugins.routing_config).plugins.alb.precompiled_key, ".aarch64-unknown-linux-gnu.cwasm") && jsondecode(module.plugins.routing_config).plugins.alb.precompiled_sha256 == filesha256("tests/fixtures/placeholder")
    error_message = "The routing config does not name the precompiled artifact uploaded for a plugin, with its sha256."
  }
  assert {
    condition = alltrue([for r in jsondecode(module.plugins.routing_config).routes :
    jsondecode(module.plugins.routing_config).plugins[r.plugin].sha256 == filesha256("tests/fixtures/placeholder")])
    error_message = "The routing config does not pin each plugin by its sha256."
  }
  assert {
    condition = length([for r in jsondecode(module.plugins.routing_config).routes : r
    if try(r.delivery_stream, "") == module.firehose.stream_name && !contains(keys(r), "bucket")]) == 1
    error_message = "The Firehose stream has no route of its own (with no object fields) in the routing config."
  }
}

run "a_backfill_may_read_the_inventories_named_and_no_more" {
  command = plan
  variables {
    backfill_inventories = ["arn:aws:s3:::my-inventories/my-logs/all/"]
  }
  assert {
    condition = [for s in jsondecode(module.host.backfill.policy).Statement : [s.Action, s.Resource] if s.Sid == "ReadInventories"] == [
      [["s3:GetObject", "s3:GetObjectVersion"], ["arn:aws:s3:::my-inventories/my-logs/all/*"]],
    ]
    error_message = "The backfill role cannot read the inventory named, or may read more."
  }
}

run "a_backfill_inventory_is_a_prefix_not_a_bucket" {
  command = plan
  variables {
    backfill_inventories = ["arn:aws:s3:::my-inventories/*"]
  }
  expect_failures = [var.backfill_inventories]
}

run "dashboards_cannot_be_opened_to_the_internet" {
  command = plan
  variables {
    dashboards_allowed_cidrs = ["0.0.0.0/0"]
  }
  expect_failures = [var.dashboards_allowed_cidrs]
}
