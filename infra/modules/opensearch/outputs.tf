output "arn" {
  description = "The domain's ARN."
  value       = aws_opensearch_domain.this.arn
}

output "endpoint" {
  description = "The domain's HTTPS endpoint (host name)."
  value       = aws_opensearch_domain.this.endpoint
}

output "dashboards_url" {
  description = "OpenSearch Dashboards."
  value       = "https://${aws_opensearch_domain.this.endpoint}/_dashboards/"
}

output "access_policy" {
  description = "The domain's access policy, as JSON."
  value       = local.access_policy
}

output "settings" {
  description = "The domain's security settings."
  value = {
    encrypt_at_rest             = aws_opensearch_domain.this.encrypt_at_rest[0].enabled
    node_to_node_encryption     = aws_opensearch_domain.this.node_to_node_encryption[0].enabled
    enforce_https               = aws_opensearch_domain.this.domain_endpoint_options[0].enforce_https
    tls_security_policy         = aws_opensearch_domain.this.domain_endpoint_options[0].tls_security_policy
    fine_grained_access_control = aws_opensearch_domain.this.advanced_security_options[0].enabled
    anonymous_auth              = aws_opensearch_domain.this.advanced_security_options[0].anonymous_auth_enabled
  }
}
