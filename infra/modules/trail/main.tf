# A multi-region CloudTrail trail with log file validation, delivering into its own bucket.

data "aws_caller_identity" "current" {}
data "aws_region" "current" {}

locals {
  # Built as a string: the bucket policy needs the trail's ARN before the trail exists.
  trail_arn = "arn:aws:cloudtrail:${data.aws_region.current.name}:${data.aws_caller_identity.current.account_id}:trail/${var.name}"
}

module "bucket" {
  source        = "../log_bucket"
  name          = "${var.name}-cloudtrail"
  delivery      = "cloudtrail"
  trail_arn     = local.trail_arn
  force_destroy = var.force_destroy
  retention     = var.retention
  tags          = var.tags
}

resource "aws_cloudtrail" "this" {
  #checkov:skip=CKV_AWS_35:Log files are encrypted with SSE-S3; SSE-KMS would need kms:Decrypt for the host and a key policy for CloudTrail (set var.kms_key_arn to use one).
  #checkov:skip=CKV_AWS_252:No SNS topic: the host learns of new log files from S3 notifications.
  #checkov:skip=CKV2_AWS_10:Events reach OpenSearch through the KELK host, not CloudWatch Logs.
  name                          = var.name
  s3_bucket_name                = module.bucket.id
  include_global_service_events = true
  is_multi_region_trail         = true
  enable_log_file_validation    = true
  kms_key_id                    = var.kms_key_arn
  tags                          = var.tags
  # CloudTrail checks the bucket policy when the trail is created.
  depends_on = [module.bucket]
}
