# The delivery stream for Apache access lines that Kinesis Agent ships: the KELK host
# transforms each record with the Apache plugin, then Firehose indexes the document into
# OpenSearch (a daily index, by arrival date) and keeps the records in S3 for the long term:
# all of them by default, or only the failed ones.

data "aws_caller_identity" "current" {}
data "aws_region" "current" {}

module "backup" {
  source        = "../log_bucket"
  name          = "${var.name}-apache-raw"
  delivery      = "none"
  force_destroy = var.force_destroy
  retention     = var.retention
  tags          = var.tags
}

locals {
  stream_name   = "${var.name}-apache"
  log_group     = "/aws/kinesisfirehose/${local.stream_name}"
  log_group_arn = "arn:aws:logs:${data.aws_region.current.name}:${data.aws_caller_identity.current.account_id}:log-group:${local.log_group}"
}

resource "aws_cloudwatch_log_group" "firehose" {
  name              = local.log_group
  retention_in_days = var.log_retention_days
  kms_key_id        = var.logs_kms_key_arn
  tags              = var.tags
}

resource "aws_cloudwatch_log_stream" "firehose" {
  for_each       = toset(["OpenSearchDelivery", "BackupDelivery"])
  name           = each.key
  log_group_name = aws_cloudwatch_log_group.firehose.name
}

resource "aws_iam_role" "firehose" {
  name = "${var.name}-firehose"
  assume_role_policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect    = "Allow"
      Principal = { Service = "firehose.amazonaws.com" }
      Action    = "sts:AssumeRole"
      Condition = { StringEquals = { "sts:ExternalId" = data.aws_caller_identity.current.account_id } }
    }]
  })
  tags = var.tags
}

locals {
  firehose_policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      {
        Sid      = "DescribeDomain"
        Effect   = "Allow"
        Action   = ["es:DescribeDomain", "es:DescribeDomains", "es:DescribeDomainConfig"]
        Resource = [var.opensearch_arn, "${var.opensearch_arn}/*"]
      },
      {
        Sid      = "IndexIntoOpenSearch"
        Effect   = "Allow"
        Action   = ["es:ESHttpPost", "es:ESHttpPut", "es:ESHttpGet"]
        Resource = "${var.opensearch_arn}/*"
      },
      {
        Sid      = "WriteBackup"
        Effect   = "Allow"
        Action   = ["s3:AbortMultipartUpload", "s3:GetBucketLocation", "s3:GetObject", "s3:ListBucket", "s3:ListBucketMultipartUploads", "s3:PutObject"]
        Resource = [module.backup.arn, "${module.backup.arn}/*"]
      },
      {
        Sid      = "Transform"
        Effect   = "Allow"
        Action   = ["lambda:InvokeFunction", "lambda:GetFunctionConfiguration"]
        Resource = [var.transform_function_arn, "${var.transform_function_arn}:*"]
      },
      {
        Sid      = "OwnLogs"
        Effect   = "Allow"
        Action   = "logs:PutLogEvents"
        Resource = "${local.log_group_arn}:*"
      },
    ]
  })
}

resource "aws_iam_role_policy" "firehose" {
  name   = "firehose"
  role   = aws_iam_role.firehose.id
  policy = local.firehose_policy
}

resource "aws_kinesis_firehose_delivery_stream" "apache" {
  #checkov:skip=CKV_AWS_241:Encrypted with an AWS-owned key; a customer-managed key adds a KMS key and grants for no gain in a log pipeline.
  name        = local.stream_name
  destination = "opensearch"

  server_side_encryption {
    enabled  = true
    key_type = "AWS_OWNED_CMK"
  }

  opensearch_configuration {
    domain_arn            = var.opensearch_arn
    role_arn              = aws_iam_role.firehose.arn
    index_name            = "logs-apache.access-default"
    index_rotation_period = "OneDay"
    s3_backup_mode        = var.backup_all_records ? "AllDocuments" : "FailedDocumentsOnly"
    buffering_interval    = 60
    buffering_size        = 5
    retry_duration        = 300

    document_id_options {
      # Stable across Firehose's own retries.
      default_document_id_format = "FIREHOSE_DEFAULT"
    }

    s3_configuration {
      role_arn            = aws_iam_role.firehose.arn
      bucket_arn          = module.backup.arn
      prefix              = "apache/"
      error_output_prefix = "apache-failed/!{firehose:error-output-type}/"
      compression_format  = "GZIP"
      cloudwatch_logging_options {
        enabled         = true
        log_group_name  = aws_cloudwatch_log_group.firehose.name
        log_stream_name = aws_cloudwatch_log_stream.firehose["BackupDelivery"].name
      }
    }

    processing_configuration {
      enabled = true
      processors {
        type = "Lambda"
        parameters {
          parameter_name  = "LambdaArn"
          parameter_value = "${var.transform_function_arn}:$LATEST"
        }
        parameters {
          parameter_name  = "BufferSizeInMBs"
          parameter_value = "1"
        }
        parameters {
          parameter_name  = "BufferIntervalInSeconds"
          parameter_value = "60"
        }
        parameters {
          parameter_name  = "NumberOfRetries"
          parameter_value = "3"
        }
      }
    }

    cloudwatch_logging_options {
      enabled         = true
      log_group_name  = aws_cloudwatch_log_group.firehose.name
      log_stream_name = aws_cloudwatch_log_stream.firehose["OpenSearchDelivery"].name
    }
  }

  tags       = var.tags
  depends_on = [aws_iam_role_policy.firehose]
}

module "guard" {
  source            = "../policy_guard"
  identity_policies = { "firehose role" = local.firehose_policy }
  encryption        = { "firehose server-side encryption" = aws_kinesis_firehose_delivery_stream.apache.server_side_encryption[0].enabled }
}
