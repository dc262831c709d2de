output "bucket" {
  description = "The query-log bucket: id, ARN and policy."
  value       = { id = module.bucket.id, arn = module.bucket.arn, policy = module.bucket.policy }
}

output "prefix" {
  description = "The key prefix the query logs are written under."
  value       = var.prefix
}

output "destination_arn" {
  description = "Where the query logging configuration delivers."
  value       = aws_route53_resolver_query_log_config.this.destination_arn
}

output "associated_vpc_ids" {
  description = "The VPCs associated with the configuration, by label."
  value       = { for k, a in aws_route53_resolver_query_log_config_association.this : k => a.resource_id }
}

output "associations_config_ids" {
  description = "The configuration each association names (all the same one)."
  value       = distinct([for a in aws_route53_resolver_query_log_config_association.this : a.resolver_query_log_config_id])
}

output "config_id" {
  description = "The query logging configuration."
  value       = aws_route53_resolver_query_log_config.this.id
}
