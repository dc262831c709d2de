output "cloudfront_domain" {
  description = "The CloudFront distribution's domain name."
  value       = aws_cloudfront_distribution.web.domain_name
}

output "alb_dns_name" {
  description = "The ALB's DNS name (reachable only from CloudFront)."
  value       = aws_lb.web.dns_name
}

output "alb_arn" {
  description = "The ALB's ARN."
  value       = aws_lb.web.arn
}

output "instance_id" {
  description = "The web instance (reach it with Session Manager)."
  value       = aws_instance.web.id
}

output "role_policy" {
  description = "The web instance role's policy, as JSON."
  value       = local.web_policy
}
