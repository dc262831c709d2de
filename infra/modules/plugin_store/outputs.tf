output "bucket" {
  description = "The plugin bucket's name."
  value       = module.bucket.id
}

output "bucket_arn" {
  description = "The plugin bucket's ARN."
  value       = module.bucket.arn
}

output "routing_config_uri" {
  description = "Where the host reads its routing config."
  value       = "s3://${module.bucket.id}/${aws_s3_object.routing_config.key}"
}

output "routing_config" {
  description = "The routing config, as JSON."
  value       = local.routing_config
}

output "policy" {
  description = "The bucket policy, as JSON."
  value       = module.bucket.policy
}
