# S3 server access logging of the buckets given, into a prefix of a bucket of its own that is
# not logged itself (its own access logs would be written into it, and read, without end).
# Keys are partitioned by source account, region and bucket, then by the day of the requests.

module "bucket" {
  source             = "../log_bucket"
  name               = "${var.name}-s3access-logs"
  delivery           = "s3access"
  prefix             = var.prefix
  source_bucket_arns = [for b in values(var.source_buckets) : b.arn]
  retention          = var.retention
  force_destroy      = var.force_destroy
  tags               = var.tags
}

resource "aws_s3_bucket_logging" "this" {
  for_each      = var.source_buckets
  bucket        = each.value.id
  target_bucket = module.bucket.id
  target_prefix = var.prefix
  target_object_key_format {
    partitioned_prefix {
      partition_date_source = "EventTime"
    }
  }
  # S3 checks the target's policy when logging is turned on.
  depends_on = [module.bucket]
}
