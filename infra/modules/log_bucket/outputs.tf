output "id" {
  description = "The bucket's name."
  value       = aws_s3_bucket.this.id
}

output "name_prefix" {
  description = "The prefix of the bucket's name (S3 adds a unique suffix)."
  value       = aws_s3_bucket.this.bucket_prefix
}

output "arn" {
  description = "The bucket's ARN."
  value       = aws_s3_bucket.this.arn
}

output "domain_name" {
  description = "The bucket's domain name (what CloudFront logging takes)."
  value       = aws_s3_bucket.this.bucket_domain_name
}

output "policy" {
  description = "The bucket policy, as JSON."
  value       = local.policy
}

output "public_access_block" {
  description = "The bucket's public access block settings."
  value = {
    block_public_acls       = aws_s3_bucket_public_access_block.this.block_public_acls
    block_public_policy     = aws_s3_bucket_public_access_block.this.block_public_policy
    ignore_public_acls      = aws_s3_bucket_public_access_block.this.ignore_public_acls
    restrict_public_buckets = aws_s3_bucket_public_access_block.this.restrict_public_buckets
  }
}
