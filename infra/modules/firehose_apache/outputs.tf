output "stream_name" {
  description = "The delivery stream Kinesis Agent sends to."
  value       = aws_kinesis_firehose_delivery_stream.apache.name
}

output "stream_arn" {
  description = "The delivery stream's ARN."
  value       = aws_kinesis_firehose_delivery_stream.apache.arn
}

output "role_arn" {
  description = "Firehose's IAM role (an OpenSearch principal)."
  value       = aws_iam_role.firehose.arn
}

output "role_policy" {
  description = "Firehose's role policy, as JSON."
  value       = local.firehose_policy
}

output "backup_bucket" {
  description = "The bucket of raw Apache records."
  value       = module.backup.id
}

output "backup_bucket_arn" {
  description = "Its ARN."
  value       = module.backup.arn
}

output "backup_policy" {
  description = "The backup bucket's policy, as JSON."
  value       = module.backup.policy
}

output "transform_lambda" {
  description = "The Lambda the stream transforms records with."
  value       = one([for p in one(one(aws_kinesis_firehose_delivery_stream.apache.opensearch_configuration).processing_configuration).processors[0].parameters : p.parameter_value if p.parameter_name == "LambdaArn"])
}

output "s3_backup_mode" {
  description = "Which records the stream keeps in S3."
  value       = one(aws_kinesis_firehose_delivery_stream.apache.opensearch_configuration).s3_backup_mode
}
