output "arn" {
  description = "The trail's ARN."
  value       = aws_cloudtrail.this.arn
}

output "bucket" {
  description = "The log bucket: id, ARN and policy."
  value       = { id = module.bucket.id, arn = module.bucket.arn, policy = module.bucket.policy }
}
