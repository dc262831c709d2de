output "web_acl_arn" {
  description = "The ALB's web ACL."
  value       = aws_wafv2_web_acl.alb.arn
}

output "bucket" {
  description = "The WAF log bucket: id, name prefix, ARN and policy."
  value       = { id = module.bucket.id, name_prefix = module.bucket.name_prefix, arn = module.bucket.arn, policy = module.bucket.policy }
}

output "association" {
  description = "What the web ACL is associated with."
  value       = { resource_arn = aws_wafv2_web_acl_association.alb.resource_arn, web_acl_arn = aws_wafv2_web_acl_association.alb.web_acl_arn }
}

output "rule_overrides" {
  description = "Each rule's managed rule group and whether it only counts."
  value = { for r in aws_wafv2_web_acl.alb.rule : r.name => {
    vendor     = one(one(r.statement).managed_rule_group_statement).vendor_name
    count_only = length(one(r.override_action).count) == 1 && length(one(r.override_action).none) == 0
  } }
}

output "logging" {
  description = "The web ACL's logging: destinations and redacted headers."
  value = {
    resource_arn     = aws_wafv2_web_acl_logging_configuration.alb.resource_arn
    destinations     = aws_wafv2_web_acl_logging_configuration.alb.log_destination_configs
    redacted_headers = [for f in aws_wafv2_web_acl_logging_configuration.alb.redacted_fields : one(f.single_header).name]
  }
}
