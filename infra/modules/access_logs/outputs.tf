output "bucket" {
  description = "The access-log bucket: id, ARN and policy."
  value       = { id = module.bucket.id, arn = module.bucket.arn, policy = module.bucket.policy }
}

output "prefix" {
  description = "The key prefix the access logs are written under."
  value       = var.prefix
}

output "logged" {
  description = "The logging of each source bucket, by name: the source, the target bucket and prefix."
  value = { for k, l in aws_s3_bucket_logging.this : k => {
    bucket        = l.bucket
    target_bucket = l.target_bucket
    target_prefix = l.target_prefix
  } }
}
