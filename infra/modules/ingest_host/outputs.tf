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
  description = "The queue of objects that failed repeatedly."
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
