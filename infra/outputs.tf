output "opensearch_endpoint" {
  description = "The OpenSearch domain's endpoint."
  value       = module.opensearch.endpoint
}

output "dashboards_url" {
  description = "OpenSearch Dashboards (from the allowed CIDRs, or through SigV4)."
  value       = module.opensearch.dashboards_url
}

output "cloudfront_domain" {
  description = "The demo site: browse it to produce CloudFront, ALB and Apache logs."
  value       = module.web.cloudfront_domain
}

output "plugin_bucket" {
  description = "The plugin store; `routing.json` there says which plugin parses which objects."
  value       = module.plugins.bucket
}

output "routing_config_uri" {
  description = "The routing config the host reads."
  value       = module.plugins.routing_config_uri
}

output "host_function" {
  description = "The KELK host Lambda."
  value       = module.host.function_name
}

output "host_role_arn" {
  description = "The host's IAM role, to map to the kelk_writer OpenSearch role (kelk setup --writer-role)."
  value       = module.host.role_arn
}

output "firehose_role_arn" {
  description = "Firehose's IAM role, to map to the kelk_writer OpenSearch role (kelk setup --writer-role)."
  value       = module.firehose.role_arn
}

output "firehose_stream" {
  description = "The Apache delivery stream."
  value       = module.firehose.stream_name
}

output "dead_letter_bucket" {
  description = "Where rejected lines and unindexable documents are kept, with their reasons."
  value       = module.dead_letters.id
}

output "web_instance_id" {
  description = "The web instance (Session Manager: aws ssm start-session --target …)."
  value       = module.web.instance_id
}

output "delivery_buckets" {
  description = "The buckets of the opt-in deliveries that are on (vpcflow, route53resolver, waf, s3access), by kind."
  value       = { for kind, d in local.optional_deliveries : kind => d.bucket.id }
}

output "web_acl_arn" {
  description = "The ALB's WAF web ACL, when var.waf is on."
  value       = var.waf.enabled ? module.waf[0].web_acl_arn : null
}

output "backfill" {
  description = "For `aws s3control create-job` (README, \"Backfilling\"): the S3 Batch Operations role, the host function, and the report prefix."
  value       = { for k, v in module.host.backfill : k => v if k != "policy" }
}
