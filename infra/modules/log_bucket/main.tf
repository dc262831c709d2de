# A bucket that AWS services deliver logs into: private, encrypted with SSE-S3 (ALB log
# delivery supports nothing else), TLS-only, with lifecycle rules that move the raw logs to
# cheaper storage classes and expire them.

data "aws_caller_identity" "current" {}
data "aws_region" "current" {}
data "aws_elb_service_account" "current" {}
data "aws_cloudfront_log_delivery_canonical_user_id" "current" {}
data "aws_canonical_user_id" "current" {}

locals {
  account_id = data.aws_caller_identity.current.account_id
  # The log-delivery service writes on behalf of a delivery of this account and region.
  log_delivery_source = "arn:aws:logs:${data.aws_region.current.name}:${local.account_id}:*"
  # Where each service writes, under the bucket's log prefix.
  delivery_arn = "${aws_s3_bucket.this.arn}/${var.prefix}AWSLogs/${local.account_id}/*"
}

resource "aws_s3_bucket" "this" {
  #checkov:skip=CKV_AWS_144:Cross-region replication doubles the cost of raw logs that OpenSearch already indexes; enable it per deployment if required.
  #checkov:skip=CKV_AWS_145:ALB access-log delivery only supports SSE-S3 (aws-cdk#21947), so every log bucket uses it alike.
  #checkov:skip=CKV_AWS_18:Server access logging is opt-in (var.s3_access_logs, modules/access_logs), set from the root module; the bucket it logs into is never logged itself (no loop).
  #checkov:skip=CKV2_AWS_62:Event notifications are configured by the ingest module, not here.
  bucket_prefix = "${var.name}-"
  force_destroy = var.force_destroy
  tags          = var.tags
}

resource "aws_s3_bucket_public_access_block" "this" {
  bucket                  = aws_s3_bucket.this.id
  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

resource "aws_s3_bucket_server_side_encryption_configuration" "this" {
  bucket = aws_s3_bucket.this.id
  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm = "AES256"
    }
  }
}

resource "aws_s3_bucket_versioning" "this" {
  bucket = aws_s3_bucket.this.id
  versioning_configuration {
    status = "Enabled"
  }
}

resource "aws_s3_bucket_lifecycle_configuration" "this" {
  bucket = aws_s3_bucket.this.id
  rule {
    id     = "retention"
    status = "Enabled"
    filter {}
    transition {
      days          = var.retention.infrequent_access_after_days
      storage_class = "STANDARD_IA"
    }
    transition {
      days          = var.retention.glacier_after_days
      storage_class = "GLACIER_IR"
    }
    expiration {
      days = var.retention.expire_after_days
    }
    noncurrent_version_expiration {
      noncurrent_days = 30
    }
    abort_incomplete_multipart_upload {
      days_after_initiation = 7
    }
  }
}

# CloudFront standard logging writes with an ACL grant to the awslogsdelivery account, so this
# bucket keeps ACLs enabled (BucketOwnerPreferred) and grants that account, as AWS requires.
resource "aws_s3_bucket_ownership_controls" "this" {
  #checkov:skip=CKV2_AWS_65:CloudFront standard logging writes through an ACL grant, so the CloudFront log bucket keeps ACLs (BucketOwnerPreferred); every other bucket enforces bucket-owner ownership.
  bucket = aws_s3_bucket.this.id
  rule {
    object_ownership = var.delivery == "cloudfront" ? "BucketOwnerPreferred" : "BucketOwnerEnforced"
  }
}

resource "aws_s3_bucket_acl" "cloudfront" {
  count  = var.delivery == "cloudfront" ? 1 : 0
  bucket = aws_s3_bucket.this.id
  access_control_policy {
    owner {
      id = data.aws_canonical_user_id.current.id
    }
    grant {
      grantee {
        id   = data.aws_canonical_user_id.current.id
        type = "CanonicalUser"
      }
      permission = "FULL_CONTROL"
    }
    grant {
      grantee {
        id   = data.aws_cloudfront_log_delivery_canonical_user_id.current.id
        type = "CanonicalUser"
      }
      permission = "FULL_CONTROL"
    }
  }
  depends_on = [aws_s3_bucket_ownership_controls.this]
}

locals {
  deny_insecure_transport = {
    Sid       = "DenyInsecureTransport"
    Effect    = "Deny"
    Principal = "*"
    Action    = "s3:*"
    Resource  = [aws_s3_bucket.this.arn, "${aws_s3_bucket.this.arn}/*"]
    Condition = { Bool = { "aws:SecureTransport" = "false" } }
  }
  delivery_statements = {
    none       = []
    cloudfront = []
    # Regions opened before August 2022 deliver as the regional ELB account, newer ones as the
    # log-delivery service; granting both is harmless.
    alb = [
      {
        Sid       = "ElbAccountDelivery"
        Effect    = "Allow"
        Principal = { AWS = data.aws_elb_service_account.current.arn }
        Action    = "s3:PutObject"
        Resource  = local.delivery_arn
      },
      {
        Sid       = "ElbServiceDelivery"
        Effect    = "Allow"
        Principal = { Service = "logdelivery.elasticloadbalancing.amazonaws.com" }
        Action    = "s3:PutObject"
        Resource  = local.delivery_arn
      },
    ]
    cloudtrail = [
      {
        Sid       = "CloudTrailAclCheck"
        Effect    = "Allow"
        Principal = { Service = "cloudtrail.amazonaws.com" }
        Action    = "s3:GetBucketAcl"
        Resource  = aws_s3_bucket.this.arn
        Condition = { StringEquals = { "aws:SourceArn" = var.trail_arn } }
      },
      {
        Sid       = "CloudTrailWrite"
        Effect    = "Allow"
        Principal = { Service = "cloudtrail.amazonaws.com" }
        Action    = "s3:PutObject"
        Resource  = local.delivery_arn
        Condition = { StringEquals = { "s3:x-amz-acl" = "bucket-owner-full-control", "aws:SourceArn" = var.trail_arn } }
      },
    ]
    # Vended logs (VPC Flow Logs, Route 53 Resolver query logs, AWS WAF): the log-delivery
    # service checks the bucket's ACL, then writes, for this account's deliveries only.
    logdelivery = [
      {
        Sid       = "AWSLogDeliveryAclCheck"
        Effect    = "Allow"
        Principal = { Service = "delivery.logs.amazonaws.com" }
        Action    = "s3:GetBucketAcl"
        Resource  = aws_s3_bucket.this.arn
        Condition = {
          StringEquals = { "aws:SourceAccount" = local.account_id }
          ArnLike      = { "aws:SourceArn" = local.log_delivery_source }
        }
      },
      {
        Sid       = "AWSLogDeliveryWrite"
        Effect    = "Allow"
        Principal = { Service = "delivery.logs.amazonaws.com" }
        Action    = "s3:PutObject"
        Resource  = local.delivery_arn
        Condition = {
          StringEquals = { "s3:x-amz-acl" = "bucket-owner-full-control", "aws:SourceAccount" = local.account_id }
          ArnLike      = { "aws:SourceArn" = local.log_delivery_source }
        }
      },
    ]
    # S3 server access logs of the source buckets given, under the prefix.
    s3access = [
      {
        Sid       = "S3ServerAccessLogs"
        Effect    = "Allow"
        Principal = { Service = "logging.s3.amazonaws.com" }
        Action    = "s3:PutObject"
        Resource  = "${aws_s3_bucket.this.arn}/${var.prefix}*"
        Condition = {
          ArnLike      = { "aws:SourceArn" = var.source_bucket_arns }
          StringEquals = { "aws:SourceAccount" = local.account_id }
        }
      },
    ]
  }
  policy = jsonencode({
    Version   = "2012-10-17"
    Statement = concat([local.deny_insecure_transport], local.delivery_statements[var.delivery])
  })
}

resource "aws_s3_bucket_policy" "this" {
  bucket     = aws_s3_bucket.this.id
  policy     = local.policy
  depends_on = [aws_s3_bucket_public_access_block.this]
}
