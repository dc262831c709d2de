# The KELK host as a Lambda function (provided.al2023, arm64): S3 notifications of the log
# buckets reach it through an SQS queue (with a dead-letter queue and redrive), it parses each
# object with the plugin its routing config names, and bulk-indexes into OpenSearch. Rejected
# lines and unindexable documents go to the dead-letter bucket. CloudWatch Logs log groups, when
# given, reach it directly through subscription filters.

data "aws_caller_identity" "current" {}
data "aws_region" "current" {}

locals {
  function_name = "${var.name}-host"
  function_arn  = "arn:aws:lambda:${data.aws_region.current.name}:${data.aws_caller_identity.current.account_id}:function:${local.function_name}"
  log_group_arn = "arn:aws:logs:${data.aws_region.current.name}:${data.aws_caller_identity.current.account_id}:log-group:/aws/lambda/${local.function_name}"
}

resource "aws_sqs_queue" "dead_letters" {
  #checkov:skip=CKV_AWS_27:Encrypted with SQS-managed keys (sqs_managed_sse_enabled); a CMK adds a KMS key and its grants for no gain here.
  name                      = "${var.name}-objects-dlq"
  message_retention_seconds = 1209600
  sqs_managed_sse_enabled   = true
  tags                      = var.tags
}

resource "aws_sqs_queue" "objects" {
  name = "${var.name}-objects"
  # Longer than the function's timeout, so a message is not redelivered while in work.
  visibility_timeout_seconds = var.timeout_seconds * 6
  message_retention_seconds  = 345600
  sqs_managed_sse_enabled    = true
  redrive_policy = jsonencode({
    deadLetterTargetArn = aws_sqs_queue.dead_letters.arn
    maxReceiveCount     = var.max_receive_count
  })
  tags = var.tags
}

locals {
  queue_policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Sid       = "LogBucketNotifications"
      Effect    = "Allow"
      Principal = { Service = "s3.amazonaws.com" }
      Action    = "sqs:SendMessage"
      Resource  = aws_sqs_queue.objects.arn
      Condition = {
        ArnLike      = { "aws:SourceArn" = [for b in values(var.log_buckets) : b.arn] }
        StringEquals = { "aws:SourceAccount" = data.aws_caller_identity.current.account_id }
      }
    }]
  })
}

resource "aws_sqs_queue_policy" "objects" {
  queue_url = aws_sqs_queue.objects.id
  policy    = local.queue_policy
}

# One notification configuration per bucket (it owns the whole configuration), filtered to
# the prefix the service writes under, so digests and other objects never reach the host.
resource "aws_s3_bucket_notification" "logs" {
  for_each = var.log_buckets
  bucket   = each.value.id
  queue {
    queue_arn     = aws_sqs_queue.objects.arn
    events        = ["s3:ObjectCreated:*"]
    filter_prefix = each.value.notify_prefix
  }
  depends_on = [aws_sqs_queue_policy.objects]
}

resource "aws_iam_role" "host" {
  name = "${var.name}-host"
  assume_role_policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect    = "Allow"
      Principal = { Service = "lambda.amazonaws.com" }
      Action    = "sts:AssumeRole"
    }]
  })
  tags = var.tags
}

locals {
  host_policy = jsonencode({
    Version = "2012-10-17"
    Statement = concat(
      [
        {
          Sid      = "ReadLogObjects"
          Effect   = "Allow"
          Action   = ["s3:GetObject", "s3:GetObjectVersion"]
          Resource = [for b in values(var.log_buckets) : "${b.arn}/${b.notify_prefix}*"]
        },
        {
          Sid      = "ReadPlugins"
          Effect   = "Allow"
          Action   = ["s3:GetObject", "s3:GetObjectVersion"]
          Resource = "${var.plugin_bucket_arn}/*"
        },
        {
          Sid      = "WriteDeadLetters"
          Effect   = "Allow"
          Action   = "s3:PutObject"
          Resource = "${var.dead_letter_bucket_arn}/*"
        },
        {
          # An object's progress (`progress.json` beside its dead letters), read when a retry
          # resumes; listing makes a missing one a 404 rather than a 403.
          Sid      = "ReadProgress"
          Effect   = "Allow"
          Action   = "s3:GetObject"
          Resource = "${var.dead_letter_bucket_arn}/dead-letters/*/progress.json"
        },
        {
          Sid      = "ListDeadLetters"
          Effect   = "Allow"
          Action   = "s3:ListBucket"
          Resource = var.dead_letter_bucket_arn
        },
        {
          Sid      = "IndexIntoOpenSearch"
          Effect   = "Allow"
          Action   = ["es:ESHttpGet", "es:ESHttpHead", "es:ESHttpPost", "es:ESHttpPut", "es:ESHttpDelete"]
          Resource = "${var.opensearch_arn}/*"
        },
        {
          Sid      = "ConsumeObjectQueue"
          Effect   = "Allow"
          Action   = ["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes", "sqs:ChangeMessageVisibility"]
          Resource = aws_sqs_queue.objects.arn
        },
        {
          # Asynchronous invocations (CloudWatch Logs) that failed every retry, payload and all.
          Sid      = "FailedInvocations"
          Effect   = "Allow"
          Action   = "sqs:SendMessage"
          Resource = aws_sqs_queue.dead_letters.arn
        },
        {
          Sid      = "OwnLogs"
          Effect   = "Allow"
          Action   = ["logs:CreateLogStream", "logs:PutLogEvents"]
          Resource = "${local.log_group_arn}:*"
        },
      ],
      var.extra_policy_statements,
    )
  })
}

resource "aws_iam_role_policy" "host" {
  name   = "host"
  role   = aws_iam_role.host.id
  policy = local.host_policy
}

resource "aws_cloudwatch_log_group" "host" {
  name              = "/aws/lambda/${local.function_name}"
  retention_in_days = var.log_retention_days
  kms_key_id        = var.logs_kms_key_arn
  tags              = var.tags
}

resource "aws_lambda_function" "host" {
  #checkov:skip=CKV_AWS_117:The host reaches S3 and OpenSearch over their public endpoints; a VPC would add NAT or endpoints for no isolation gain (the domain's policy names the role).
  #checkov:skip=CKV_AWS_173:The environment holds no secrets, only bucket names and the OpenSearch endpoint.
  #checkov:skip=CKV_AWS_272:Code signing needs an AWS Signer profile; the package is built and uploaded by the deploy step itself.
  #checkov:skip=CKV_AWS_116:Failed objects go to the SQS dead-letter queue through the queue's redrive policy; the function is not invoked asynchronously.
  function_name                  = local.function_name
  role                           = aws_iam_role.host.arn
  runtime                        = "provided.al2023"
  handler                        = "bootstrap"
  architectures                  = ["arm64"]
  filename                       = var.package_path
  source_code_hash               = filebase64sha256(var.package_path)
  memory_size                    = var.memory_mb
  timeout                        = var.timeout_seconds
  reserved_concurrent_executions = var.reserved_concurrency
  environment {
    variables = merge({
      KELK_ROUTING_CONFIG  = var.routing_config_uri
      KELK_OPENSEARCH_URL  = "https://${var.opensearch_endpoint}"
      KELK_OPENSEARCH_AUTH = "sigv4"
      KELK_DEAD_LETTERS    = "s3://${var.dead_letter_bucket}/dead-letters/"
      KELK_RETENTION_DAYS  = tostring(var.index_retention_days)
      KELK_LOG_FORMAT      = "json"
    }, var.environment)
  }
  tracing_config {
    mode = "Active"
  }
  tags       = var.tags
  depends_on = [aws_cloudwatch_log_group.host, aws_iam_role_policy.host]
}

# CloudWatch Logs log groups whose events reach the host directly, by a subscription filter
# that passes every event (an empty pattern); logs.amazonaws.com may invoke the host for those
# log groups of this account only.
resource "aws_lambda_permission" "log_groups" {
  for_each       = toset(var.log_group_subscriptions)
  statement_id   = "CloudWatchLogs-${md5(each.key)}"
  action         = "lambda:InvokeFunction"
  function_name  = aws_lambda_function.host.function_name
  principal      = "logs.amazonaws.com"
  source_arn     = "arn:aws:logs:${data.aws_region.current.name}:${data.aws_caller_identity.current.account_id}:log-group:${each.key}:*"
  source_account = data.aws_caller_identity.current.account_id
}

resource "aws_cloudwatch_log_subscription_filter" "log_groups" {
  for_each        = toset(var.log_group_subscriptions)
  name            = "${var.name}-host"
  log_group_name  = each.key
  filter_pattern  = ""
  destination_arn = aws_lambda_function.host.arn
  depends_on      = [aws_lambda_permission.log_groups]
}

# CloudWatch Logs invokes the host asynchronously; Lambda retries a failed batch twice, then
# sends it, payload and all, to the dead-letter queue (and its depth alarm) instead of dropping it.
resource "aws_lambda_function_event_invoke_config" "host" {
  function_name                = aws_lambda_function.host.function_name
  maximum_retry_attempts       = 2
  maximum_event_age_in_seconds = 21600
  destination_config {
    on_failure {
      destination = aws_sqs_queue.dead_letters.arn
    }
  }
}

# Backfills run on S3 Batch Operations (README, "Backfilling"): a job assumes this role to list
# a log bucket's prefix into a manifest (or read an S3 Inventory report's), invoke the host once
# per object, and write its report.
resource "aws_iam_role" "backfill" {
  name = "${var.name}-backfill"
  assume_role_policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect    = "Allow"
      Principal = { Service = "batchoperations.s3.amazonaws.com" }
      Action    = "sts:AssumeRole"
      Condition = { StringEquals = { "aws:SourceAccount" = data.aws_caller_identity.current.account_id } }
    }]
  })
  tags = var.tags
}

locals {
  backfill_policy = jsonencode({
    Version = "2012-10-17"
    Statement = concat([
      {
        Sid      = "InvokeHost"
        Effect   = "Allow"
        Action   = "lambda:InvokeFunction"
        Resource = aws_lambda_function.host.arn
      },
      {
        Sid      = "ListLogs"
        Effect   = "Allow"
        Action   = "s3:ListBucket"
        Resource = distinct([for b in values(var.log_buckets) : b.arn])
      },
      {
        Sid      = "ReadManifests"
        Effect   = "Allow"
        Action   = ["s3:GetObject", "s3:GetObjectVersion"]
        Resource = "${var.dead_letter_bucket_arn}/backfill/*"
      },
      {
        Sid      = "WriteManifestsAndReports"
        Effect   = "Allow"
        Action   = "s3:PutObject"
        Resource = "${var.dead_letter_bucket_arn}/backfill/*"
      },
      ], length(var.backfill_inventories) == 0 ? [] : [{
        Sid      = "ReadInventories"
        Effect   = "Allow"
        Action   = ["s3:GetObject", "s3:GetObjectVersion"]
        Resource = [for prefix in var.backfill_inventories : "${prefix}*"]
    }])
  })
}

resource "aws_iam_role_policy" "backfill" {
  name   = "backfill"
  role   = aws_iam_role.backfill.id
  policy = local.backfill_policy
}

resource "aws_lambda_event_source_mapping" "objects" {
  event_source_arn        = aws_sqs_queue.objects.arn
  function_name           = aws_lambda_function.host.arn
  batch_size              = 10
  function_response_types = ["ReportBatchItemFailures"]
}

# Index setup is not invoked from here: on a domain with fine-grained access control the host's
# role has no OpenSearch permissions until the master user maps it (`kelk setup --writer-role`,
# see the README), and that same command puts the templates. `{"action":"setup"}` re-puts them
# as the host afterwards.

locals {
  # Each alarm fires on the first datapoint above zero.
  alarms = {
    "host-errors" = {
      description = "The KELK host failed invocations."
      namespace   = "AWS/Lambda"
      metric      = "Errors"
      dimensions  = { FunctionName = aws_lambda_function.host.function_name }
      statistic   = "Sum"
    }
    "host-dead-lettered" = {
      description = "The KELK host dead-lettered records (rejected lines or unindexable documents)."
      namespace   = "KELK"
      metric      = "DeadLettered"
      dimensions  = { FunctionName = aws_lambda_function.host.function_name }
      statistic   = "Sum"
    }
    "objects-dlq-depth" = {
      description = "Objects the host failed on repeatedly wait in the dead-letter queue."
      namespace   = "AWS/SQS"
      metric      = "ApproximateNumberOfMessagesVisible"
      dimensions  = { QueueName = aws_sqs_queue.dead_letters.name }
      statistic   = "Maximum"
    }
  }
}

resource "aws_cloudwatch_metric_alarm" "this" {
  for_each            = local.alarms
  alarm_name          = "${var.name}-${each.key}"
  alarm_description   = each.value.description
  namespace           = each.value.namespace
  metric_name         = each.value.metric
  dimensions          = each.value.dimensions
  statistic           = each.value.statistic
  period              = 300
  evaluation_periods  = 1
  threshold           = 0
  comparison_operator = "GreaterThanThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = var.alarm_actions
  tags                = var.tags
}

module "guard" {
  source            = "../policy_guard"
  identity_policies = { "host role" = local.host_policy }
  resource_policies = { "object queue" = local.queue_policy }
}
