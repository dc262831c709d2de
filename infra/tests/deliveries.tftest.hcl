# The opt-in deliveries (VPC Flow Logs, Route 53 Resolver query logs, the ALB's WAF web ACL and
# its logs, S3 server access logs, CloudWatch Logs subscriptions), against a mocked AWS
# provider: each one turned on makes its resources, with the right values, its S3 notification
# to the host and its route in routing.json; with everything off, none of them exists.

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
  mock_resource "aws_wafv2_web_acl" {
    defaults = { arn = "arn:aws:wafv2:eu-west-1:123456789012:regional/webacl/kelk-alb/0123abcd-4567-89ab-cdef-0123456789ab" }
  }
}

# Each delivery's bucket with a name and ARN of its own, to tell them apart.
override_resource {
  target = module.vpc_flow_logs[0].module.bucket.aws_s3_bucket.this
  values = { id = "kelk-vpcflow-logs-1", arn = "arn:aws:s3:::kelk-vpcflow-logs-1" }
}
override_resource {
  target = module.resolver_query_logs[0].module.bucket.aws_s3_bucket.this
  values = { id = "kelk-resolver-logs-1", arn = "arn:aws:s3:::kelk-resolver-logs-1" }
}
override_resource {
  target = module.waf[0].module.bucket.aws_s3_bucket.this
  values = { id = "aws-waf-logs-kelk-1", arn = "arn:aws:s3:::aws-waf-logs-kelk-1" }
}
override_resource {
  target = module.access_logs[0].module.bucket.aws_s3_bucket.this
  values = { id = "kelk-s3access-logs-1", arn = "arn:aws:s3:::kelk-s3access-logs-1" }
}
override_resource {
  target = module.alb_logs.aws_s3_bucket.this
  values = { id = "kelk-alb-logs-1", arn = "arn:aws:s3:::kelk-alb-logs-1" }
}
override_resource {
  target = module.plugins.module.bucket.aws_s3_bucket.this
  values = { id = "kelk-plugins-1", arn = "arn:aws:s3:::kelk-plugins-1" }
}
override_resource {
  target = module.dead_letters.aws_s3_bucket.this
  values = { id = "kelk-dead-letters-1", arn = "arn:aws:s3:::kelk-dead-letters-1" }
}
override_resource {
  target = module.network.aws_vpc.this
  values = { id = "vpc-0aaaaaaaaaaaaaaaa" }
}

variables {
  host_package   = "tests/fixtures/placeholder"
  admin_role_arn = "arn:aws:iam::123456789012:role/Admin"
  plugins = {
    alb             = "tests/fixtures/placeholder"
    cloudfront      = "tests/fixtures/placeholder"
    cloudtrail      = "tests/fixtures/placeholder"
    apache          = "tests/fixtures/placeholder"
    vpcflow         = "tests/fixtures/placeholder"
    waf             = "tests/fixtures/placeholder"
    s3access        = "tests/fixtures/placeholder"
    route53resolver = "tests/fixtures/placeholder"
  }
}

run "everything_off" {
  command = apply
  variables {
    plugins = {
      alb        = "tests/fixtures/placeholder"
      cloudfront = "tests/fixtures/placeholder"
      cloudtrail = "tests/fixtures/placeholder"
      apache     = "tests/fixtures/placeholder"
    }
  }

  assert {
    condition     = length(module.vpc_flow_logs) + length(module.resolver_query_logs) + length(module.waf) + length(module.access_logs) == 0
    error_message = "An opt-in delivery exists with everything off."
  }
  assert {
    condition     = length(module.host.log_group_subscriptions) == 0
    error_message = "A CloudWatch Logs subscription exists with everything off."
  }
  assert {
    condition     = keys(module.host.notifications) == ["alb", "cloudfront", "cloudtrail"]
    error_message = "The host is notified of buckets beyond ALB, CloudFront and CloudTrail with everything off."
  }
  assert {
    condition     = toset([for r in jsondecode(module.plugins.routing_config).routes : r.plugin]) == toset(["alb", "cloudfront", "cloudtrail", "apache"])
    error_message = "routing.json routes to more than the four base plugins with everything off."
  }
  assert {
    condition     = length([for r in jsondecode(module.plugins.routing_config).routes : r if contains(keys(r), "log_group_glob")]) == 0
    error_message = "routing.json has a log-group route with everything off."
  }
  assert {
    condition     = output.delivery_buckets == {} && output.web_acl_arn == null
    error_message = "The outputs name an opt-in delivery with everything off."
  }
}

run "vpc_flow_logs" {
  command = apply
  variables {
    vpc_flow_logs = { enabled = true, vpc_ids = ["vpc-0123456789abcdef0"] }
  }

  assert {
    condition     = { for k, f in module.vpc_flow_logs[0].flow_logs : k => f.vpc_id } == { stack = "vpc-0aaaaaaaaaaaaaaaa", "vpc-0123456789abcdef0" = "vpc-0123456789abcdef0" }
    error_message = "The flow logs are not of the stack's VPC and the VPC ids given."
  }
  assert {
    condition = alltrue([for f in values(module.vpc_flow_logs[0].flow_logs) :
      f.log_destination_type == "s3" && f.log_destination == "arn:aws:s3:::kelk-vpcflow-logs-1/vpcflow/"
    && f.traffic_type == "ALL" && f.max_aggregation_interval == 600])
    error_message = "A flow log does not deliver all traffic to the flow-log bucket under vpcflow/."
  }
  assert {
    condition = alltrue([for f in values(module.vpc_flow_logs[0].flow_logs) :
    f.log_format == "$${version} $${account-id} $${interface-id} $${srcaddr} $${dstaddr} $${srcport} $${dstport} $${protocol} $${packets} $${bytes} $${start} $${end} $${action} $${log-status} $${vpc-id} $${subnet-id} $${instance-id} $${tcp-flags} $${type} $${pkt-srcaddr} $${pkt-dstaddr} $${region} $${az-id} $${sublocation-type} $${sublocation-id} $${pkt-src-aws-service} $${pkt-dst-aws-service} $${flow-direction} $${traffic-path} $${ecs-cluster-arn} $${ecs-cluster-name} $${ecs-container-instance-arn} $${ecs-container-instance-id} $${ecs-container-id} $${ecs-second-container-id} $${ecs-service-name} $${ecs-task-definition-arn} $${ecs-task-arn} $${ecs-task-id} $${reject-reason}"])
    error_message = "A flow log's format is not every field of versions 2 to 8."
  }
  assert {
    condition = alltrue([for f in values(module.vpc_flow_logs[0].flow_logs) :
    f.file_format == "plain-text" && !f.hive_partitions && !f.per_hour_partition])
    error_message = "A flow log is not plain text without Hive partitions."
  }
  assert {
    condition = [for s in jsondecode(module.vpc_flow_logs[0].bucket.policy).Statement : s if s.Sid == "AWSLogDeliveryWrite"] == [{
      Sid       = "AWSLogDeliveryWrite"
      Effect    = "Allow"
      Principal = { Service = "delivery.logs.amazonaws.com" }
      Action    = "s3:PutObject"
      Resource  = "arn:aws:s3:::kelk-vpcflow-logs-1/vpcflow/AWSLogs/123456789012/*"
      Condition = {
        StringEquals = { "s3:x-amz-acl" = "bucket-owner-full-control", "aws:SourceAccount" = "123456789012" }
        ArnLike      = { "aws:SourceArn" = "arn:aws:logs:eu-west-1:123456789012:*" }
      }
    }]
    error_message = "The flow-log bucket does not let the log-delivery service write, for this account's deliveries only."
  }
  assert {
    condition = [for s in jsondecode(module.vpc_flow_logs[0].bucket.policy).Statement : s if s.Sid == "AWSLogDeliveryAclCheck"] == [{
      Sid       = "AWSLogDeliveryAclCheck"
      Effect    = "Allow"
      Principal = { Service = "delivery.logs.amazonaws.com" }
      Action    = "s3:GetBucketAcl"
      Resource  = "arn:aws:s3:::kelk-vpcflow-logs-1"
      Condition = {
        StringEquals = { "aws:SourceAccount" = "123456789012" }
        ArnLike      = { "aws:SourceArn" = "arn:aws:logs:eu-west-1:123456789012:*" }
      }
    }]
    error_message = "The flow-log bucket does not let the log-delivery service check its ACL, for this account only."
  }
  assert {
    condition     = module.host.notifications.vpcflow == { bucket = "kelk-vpcflow-logs-1", prefix = "vpcflow/AWSLogs/", queue_arn = module.host.queue_arn }
    error_message = "The flow-log bucket does not notify the host's queue of new flow logs."
  }
  assert {
    condition     = contains(flatten([for s in jsondecode(module.host.role_policy).Statement : s.Resource if s.Sid == "ReadLogObjects"]), "arn:aws:s3:::kelk-vpcflow-logs-1/vpcflow/AWSLogs/*")
    error_message = "The host may not read the flow logs."
  }
  assert {
    condition     = contains(jsondecode(module.host.queue_policy).Statement[0].Condition.ArnLike["aws:SourceArn"], "arn:aws:s3:::kelk-vpcflow-logs-1")
    error_message = "The flow-log bucket may not send to the host's queue."
  }
  assert {
    condition = [for r in jsondecode(module.plugins.routing_config).routes : r if try(r.plugin, "") == "vpcflow"] == [{
      bucket = "kelk-vpcflow-logs-1", key_glob = "vpcflow/AWSLogs/*/vpcflowlogs/*", plugin = "vpcflow", index_prefix = "logs-aws.vpcflow-default", options = {}
    }]
    error_message = "routing.json has no route of the flow logs to the vpcflow plugin."
  }
  assert {
    condition     = jsondecode(module.plugins.routing_config).plugins.vpcflow.key == "plugins/vpcflow/${filesha256("tests/fixtures/placeholder")}.wasm"
    error_message = "routing.json's plugins do not say where the vpcflow plugin is."
  }
  assert {
    condition     = length(module.resolver_query_logs) + length(module.waf) + length(module.access_logs) == 0
    error_message = "Turning on flow logs turned on another delivery."
  }
}

run "waf" {
  command = apply
  variables {
    waf = { enabled = true }
  }

  assert {
    condition     = module.waf[0].association == { resource_arn = module.web.alb_arn, web_acl_arn = module.waf[0].web_acl_arn }
    error_message = "The web ACL is not associated with the stack's ALB."
  }
  assert {
    condition     = module.waf[0].rule_overrides == { AWSManagedRulesCommonRuleSet = { vendor = "AWS", count_only = true }, AWSManagedRulesKnownBadInputsRuleSet = { vendor = "AWS", count_only = true } }
    error_message = "The web ACL's rules are not AWS managed rule groups in count mode."
  }
  assert {
    condition     = startswith(module.waf[0].bucket.name_prefix, "aws-waf-logs-kelk-")
    error_message = "The WAF log bucket's name does not start with aws-waf-logs-<stack>, as WAF requires."
  }
  assert {
    condition     = module.waf[0].logging.resource_arn == module.waf[0].web_acl_arn && module.waf[0].logging.destinations == toset(["arn:aws:s3:::aws-waf-logs-kelk-1"])
    error_message = "The web ACL does not log to the WAF log bucket."
  }
  assert {
    condition     = toset(module.waf[0].logging.redacted_headers) == toset(["authorization", "cookie"])
    error_message = "The WAF logs do not redact the authorization and cookie headers (only them)."
  }
  assert {
    condition = [for s in jsondecode(module.waf[0].bucket.policy).Statement : s.Resource if s.Sid == "AWSLogDeliveryWrite"] == ["arn:aws:s3:::aws-waf-logs-kelk-1/AWSLogs/123456789012/*"] && alltrue([
      for s in jsondecode(module.waf[0].bucket.policy).Statement : s.Principal.Service == "delivery.logs.amazonaws.com"
      && s.Condition.StringEquals["aws:SourceAccount"] == "123456789012" && s.Condition.ArnLike["aws:SourceArn"] == "arn:aws:logs:eu-west-1:123456789012:*"
    if s.Sid != "DenyInsecureTransport"])
    error_message = "The WAF log bucket does not let the log-delivery service in, for this account's deliveries only."
  }
  assert {
    condition     = module.host.notifications.waf == { bucket = "aws-waf-logs-kelk-1", prefix = "AWSLogs/", queue_arn = module.host.queue_arn }
    error_message = "The WAF log bucket does not notify the host's queue of new logs."
  }
  assert {
    condition = [for r in jsondecode(module.plugins.routing_config).routes : r if try(r.plugin, "") == "waf"] == [{
      bucket = "aws-waf-logs-kelk-1", key_glob = "AWSLogs/*/WAFLogs/*", plugin = "waf", index_prefix = "logs-aws.waf-default", options = {}
    }]
    error_message = "routing.json has no route of the WAF logs to the waf plugin."
  }
  assert {
    condition     = output.web_acl_arn == module.waf[0].web_acl_arn && output.delivery_buckets == { waf = "aws-waf-logs-kelk-1" }
    error_message = "The outputs do not name the web ACL and the WAF log bucket."
  }
}

run "s3_access_logs" {
  command = apply
  variables {
    s3_access_logs = { enabled = true }
  }

  assert {
    condition     = keys(module.access_logs[0].logged) == ["alb", "apache_backups", "cloudfront", "cloudtrail"]
    error_message = "Server access logging is not on for exactly the log buckets."
  }
  assert {
    condition = alltrue([for l in values(module.access_logs[0].logged) :
    l.target_bucket == "kelk-s3access-logs-1" && l.target_prefix == "s3access/"])
    error_message = "A bucket's access logs do not go to s3access/ of the access-log bucket."
  }
  assert {
    condition     = length(setintersection(toset([for l in values(module.access_logs[0].logged) : l.bucket]), toset(["kelk-s3access-logs-1", "kelk-plugins-1", "kelk-dead-letters-1"]))) == 0
    error_message = "The access-log bucket itself, the plugin store or the dead letters are logged (the host would read its own traffic back)."
  }
  assert {
    condition     = module.access_logs[0].logged.alb.bucket == "kelk-alb-logs-1"
    error_message = "The ALB log bucket's access logging names another bucket."
  }
  assert {
    condition = [for s in jsondecode(module.access_logs[0].bucket.policy).Statement : s if s.Sid != "DenyInsecureTransport"] == [{
      Sid       = "S3ServerAccessLogs"
      Effect    = "Allow"
      Principal = { Service = "logging.s3.amazonaws.com" }
      Action    = "s3:PutObject"
      Resource  = "arn:aws:s3:::kelk-s3access-logs-1/s3access/*"
      Condition = {
        ArnLike      = { "aws:SourceArn" = [for b in values(local.access_logged_buckets) : b.arn] }
        StringEquals = { "aws:SourceAccount" = "123456789012" }
      }
    }]
    error_message = "The access-log bucket does not let S3 logging write under s3access/, for the logged buckets of this account only."
  }
  assert {
    condition     = contains(jsondecode(module.access_logs[0].bucket.policy).Statement[1].Condition.ArnLike["aws:SourceArn"], "arn:aws:s3:::kelk-alb-logs-1")
    error_message = "The access-log bucket does not admit the ALB log bucket's logs."
  }
  assert {
    condition     = module.host.notifications.s3access == { bucket = "kelk-s3access-logs-1", prefix = "s3access/", queue_arn = module.host.queue_arn }
    error_message = "The access-log bucket does not notify the host's queue of new logs."
  }
  assert {
    condition = [for r in jsondecode(module.plugins.routing_config).routes : r if try(r.plugin, "") == "s3access"] == [{
      bucket = "kelk-s3access-logs-1", key_glob = "s3access/*", plugin = "s3access", index_prefix = "logs-aws.s3access-default", options = {}
    }]
    error_message = "routing.json has no route of the access logs to the s3access plugin."
  }
}

run "resolver_query_logs" {
  command = apply
  variables {
    resolver_query_logs = { enabled = true, stack_vpc = false, vpc_ids = ["vpc-0123456789abcdef0", "vpc-0fedcba9876543210"] }
  }

  assert {
    condition     = module.resolver_query_logs[0].destination_arn == "arn:aws:s3:::kelk-resolver-logs-1/route53resolver/"
    error_message = "The query logging configuration does not deliver under route53resolver/ of the query-log bucket."
  }
  assert {
    condition     = module.resolver_query_logs[0].associated_vpc_ids == { "vpc-0123456789abcdef0" = "vpc-0123456789abcdef0", "vpc-0fedcba9876543210" = "vpc-0fedcba9876543210" }
    error_message = "The query logging configuration is not associated with exactly the VPC ids given."
  }
  assert {
    condition     = module.resolver_query_logs[0].associations_config_ids == tolist([module.resolver_query_logs[0].config_id])
    error_message = "An association names another query logging configuration."
  }
  assert {
    condition = [for s in jsondecode(module.resolver_query_logs[0].bucket.policy).Statement : s.Resource if s.Sid == "AWSLogDeliveryWrite"] == ["arn:aws:s3:::kelk-resolver-logs-1/route53resolver/AWSLogs/123456789012/*"] && alltrue([
      for s in jsondecode(module.resolver_query_logs[0].bucket.policy).Statement : s.Principal.Service == "delivery.logs.amazonaws.com"
      && s.Condition.StringEquals["aws:SourceAccount"] == "123456789012" && s.Condition.ArnLike["aws:SourceArn"] == "arn:aws:logs:eu-west-1:123456789012:*"
    if s.Sid != "DenyInsecureTransport"])
    error_message = "The query-log bucket does not let the log-delivery service in, for this account's deliveries only."
  }
  assert {
    condition     = module.host.notifications.route53resolver == { bucket = "kelk-resolver-logs-1", prefix = "route53resolver/AWSLogs/", queue_arn = module.host.queue_arn }
    error_message = "The query-log bucket does not notify the host's queue of new logs."
  }
  assert {
    condition = [for r in jsondecode(module.plugins.routing_config).routes : r if try(r.plugin, "") == "route53resolver"] == [{
      bucket = "kelk-resolver-logs-1", key_glob = "route53resolver/AWSLogs/*/vpcdnsquerylogs/*", plugin = "route53resolver", index_prefix = "logs-aws.route53_resolver_logs-default", options = {}
    }]
    error_message = "routing.json has no route of the query logs to the route53resolver plugin."
  }
}

run "cloudwatch_logs" {
  command = apply
  variables {
    cloudwatch_log_groups = ["/ecs/web", "/aws/lambda/app"]
    cloudwatch_log_routes = {
      "/aws/lambda/*" = {}
      "/ecs/web"      = { plugin = "apache", index_prefix = "logs-apache.access-web" }
    }
  }

  assert {
    condition = module.host.log_group_subscriptions == {
      "/ecs/web" = {
        filter_pattern    = ""
        destination_arn   = module.host.function_arn
        permission_source = "arn:aws:logs:eu-west-1:123456789012:log-group:/ecs/web:*"
        principal         = "logs.amazonaws.com"
      }
      "/aws/lambda/app" = {
        filter_pattern    = ""
        destination_arn   = module.host.function_arn
        permission_source = "arn:aws:logs:eu-west-1:123456789012:log-group:/aws/lambda/app:*"
        principal         = "logs.amazonaws.com"
      }
    }
    error_message = "The log groups are not subscribed to the host with an empty pattern, each invoke permission scoped to its group."
  }
  assert {
    condition = [for r in jsondecode(module.plugins.routing_config).routes : r if contains(keys(r), "log_group_glob")] == [
      { log_group_glob = "/ecs/web", plugin = "apache", index_prefix = "logs-apache.access-web", options = {} },
      { log_group_glob = "/aws/lambda/*", options = {} },
      { log_group_glob = "/aws/lambda/app", options = {} },
    ]
    error_message = "routing.json's log-group routes are not the map's (exact names, then globs) and one without a plugin for each other subscribed group."
  }
  assert {
    condition     = keys(module.host.notifications) == ["alb", "cloudfront", "cloudtrail"]
    error_message = "Subscribing log groups changed the S3 notifications."
  }
  assert {
    condition = module.host.failed_invocations == module.host.dead_letter_queue_arn && contains([
      for s in jsondecode(module.host.role_policy).Statement : s.Resource if s.Action == "sqs:SendMessage"
    ], module.host.dead_letter_queue_arn)
    error_message = "A CloudWatch Logs batch that fails every retry is not kept in the dead-letter queue the host may send to."
  }
}

run "everything_on" {
  command = apply
  variables {
    vpc_flow_logs         = { enabled = true }
    waf                   = { enabled = true }
    s3_access_logs        = { enabled = true }
    resolver_query_logs   = { enabled = true }
    cloudwatch_log_groups = ["/aws/lambda/app"]
  }

  assert {
    condition     = keys(module.access_logs[0].logged) == ["alb", "apache_backups", "cloudfront", "cloudtrail", "route53resolver", "vpcflow", "waf"]
    error_message = "Server access logging is not on for every log bucket, the opt-in ones too."
  }
  assert {
    condition     = !contains([for l in values(module.access_logs[0].logged) : l.bucket], "kelk-s3access-logs-1")
    error_message = "The access-log bucket logs into itself."
  }
  assert {
    condition     = keys(module.host.notifications) == ["alb", "cloudfront", "cloudtrail", "route53resolver", "s3access", "vpcflow", "waf"]
    error_message = "The host is not notified of every log bucket."
  }
  assert {
    condition = alltrue([for kind, n in module.host.notifications : length([for r in jsondecode(module.plugins.routing_config).routes : r
    if try(r.bucket, "") == n.bucket && startswith(replace(try(r.key_glob, ""), "*", ""), n.prefix)]) == 1])
    error_message = "A notified bucket and prefix has no route of its own in routing.json."
  }
  assert {
    condition     = keys(module.vpc_flow_logs[0].flow_logs) == ["stack"] && keys(module.resolver_query_logs[0].associated_vpc_ids) == ["stack"]
    error_message = "The flow logs and query logs are not of the stack's VPC by default."
  }
  assert {
    condition     = keys(output.delivery_buckets) == ["route53resolver", "s3access", "vpcflow", "waf"]
    error_message = "The outputs do not name every opt-in delivery's bucket."
  }
}

run "a_delivery_needs_its_plugin" {
  command = plan
  variables {
    plugins = {
      alb        = "tests/fixtures/placeholder"
      cloudfront = "tests/fixtures/placeholder"
      cloudtrail = "tests/fixtures/placeholder"
      apache     = "tests/fixtures/placeholder"
    }
    vpc_flow_logs = { enabled = true }
  }
  expect_failures = [var.plugins]
}

run "a_log_group_route_needs_its_plugin" {
  command = plan
  variables {
    cloudwatch_log_routes = { "/ecs/*" = { plugin = "nginx" } }
  }
  expect_failures = [var.plugins]
}

run "the_host_cannot_subscribe_to_itself" {
  command = plan
  variables {
    cloudwatch_log_groups = ["/aws/lambda/kelk-host"]
  }
  expect_failures = [var.cloudwatch_log_groups]
}

run "no_vpc_to_log_is_refused" {
  command = plan
  variables {
    vpc_flow_logs = { enabled = true, stack_vpc = false }
  }
  expect_failures = [var.vpc_flow_logs]
}
