output "function_arn" {
  description = "The host function's ARN."
  value       = aws_lambda_function.host.arn
}

output "function_name" {
  description = "The host function's name."
  value       = aws_lambda_function.host.function_name
}

output "role_arn" {
  description = "The host's IAM role."
  value       = aws_iam_role.host.arn
}

output "role_policy" {
  description = "The host role's policy, as JSON."
  value       = local.host_policy
}

output "queue_arn" {
  description = "The object-notification queue."
  value       = aws_sqs_queue.objects.arn
}

output "dead_letter_queue_arn" {
  description = "The queue of objects, and of asynchronous invocations (CloudWatch Logs batches), that failed repeatedly."
  value       = aws_sqs_queue.dead_letters.arn
}

output "redrive_policy" {
  description = "The object queue's redrive policy, as JSON."
  value       = aws_sqs_queue.objects.redrive_policy
}

output "event_source_response_types" {
  description = "What the host reports back to SQS."
  value       = aws_lambda_event_source_mapping.objects.function_response_types
}

output "notifications" {
  description = "The S3 notifications to the object queue, by log bucket: the bucket and the key prefix notified on."
  value = { for k, n in aws_s3_bucket_notification.logs : k => {
    bucket    = n.bucket
    prefix    = one(n.queue).filter_prefix
    queue_arn = one(n.queue).queue_arn
  } }
}

output "queue_policy" {
  description = "The object queue's policy, as JSON."
  value       = local.queue_policy
}

output "log_group_subscriptions" {
  description = "The CloudWatch Logs subscription filters to the host, by log group: filter pattern, destination, and the source ARN the invoke permission is scoped to."
  value = { for g, f in aws_cloudwatch_log_subscription_filter.log_groups : g => {
    filter_pattern    = f.filter_pattern
    destination_arn   = f.destination_arn
    permission_source = aws_lambda_permission.log_groups[g].source_arn
    principal         = aws_lambda_permission.log_groups[g].principal
  } }
}

output "failed_invocations" {
  description = "Where an asynchronous invocation goes after its retries fail."
  value       = one(aws_lambda_function_event_invoke_config.host.destination_config[0].on_failure[*].destination)
}

output "backfill" {
  description = "What an S3 Batch Operations backfill job needs: the role it runs as (and that role's policy, as JSON), the host to invoke, and where its manifests and reports go."
  value = {
    role_arn     = aws_iam_role.backfill.arn
    policy       = local.backfill_policy
    function_arn = aws_lambda_function.host.arn
    reports      = "${var.dead_letter_bucket_arn}/backfill/"
  }
}
