variable "name" {
  description = "Name prefix."
  type        = string
}

variable "package_path" {
  description = "The host's Lambda package: a zip with the `bootstrap` binary for arm64 (`cargo lambda build --release --arm64 --output-format zip`)."
  type        = string
}

variable "log_buckets" {
  description = "The log buckets whose new objects the host parses: id, ARN and the prefix to notify on."
  type = map(object({
    id            = string
    arn           = string
    notify_prefix = string
  }))
}

variable "log_group_subscriptions" {
  description = "CloudWatch Logs log groups (names) whose every event is sent to the host by a subscription filter."
  type        = list(string)
  default     = []
  validation {
    # The host's own log group would feed the host its own logs, without end.
    condition     = !contains(var.log_group_subscriptions, "/aws/lambda/${var.name}-host")
    error_message = "The host's own log group cannot be subscribed to the host."
  }
}

variable "plugin_bucket_arn" {
  description = "The plugin store bucket."
  type        = string
}

variable "routing_config_uri" {
  description = "s3:// URI of the routing config."
  type        = string
}

variable "dead_letter_bucket" {
  description = "The bucket dead letters are written to (under dead-letters/)."
  type        = string
}

variable "dead_letter_bucket_arn" {
  description = "Its ARN."
  type        = string
}

variable "opensearch_arn" {
  description = "The OpenSearch domain."
  type        = string
}

variable "opensearch_endpoint" {
  description = "The OpenSearch domain's endpoint."
  type        = string
}

variable "index_retention_days" {
  description = "Days indices live in OpenSearch (the ISM policy the host sets up)."
  type        = number
}

variable "memory_mb" {
  description = "Lambda memory (and so CPU: about one vCPU at 1769 MB)."
  type        = number
  default     = 1024
}

variable "timeout_seconds" {
  description = "Lambda timeout; the host stops taking new work before it."
  type        = number
  default     = 300
}

variable "reserved_concurrency" {
  description = "Concurrent executions reserved for the host; also caps the load on the domain."
  type        = number
  default     = 10
}

variable "max_receive_count" {
  description = "Deliveries of an object notification before it goes to the dead-letter queue."
  type        = number
  default     = 5
}

variable "environment" {
  description = "Extra environment variables for the host."
  type        = map(string)
  default     = {}
}

variable "extra_policy_statements" {
  description = "Extra IAM statements for the host role (e.g. kms:Decrypt on an SSE-KMS log bucket's key)."
  type        = list(any)
  default     = []
}

variable "alarm_actions" {
  description = "ARNs notified when an alarm fires (e.g. an SNS topic)."
  type        = list(string)
  default     = []
}

variable "log_retention_days" {
  description = "Retention of the host's CloudWatch logs."
  type        = number
  default     = 365
}

variable "logs_kms_key_arn" {
  description = "A KMS key for the host's log group; unencrypted by KMS when null."
  type        = string
  default     = null
}

variable "tags" {
  description = "Tags."
  type        = map(string)
  default     = {}
}

variable "backfill_inventories" {
  description = "S3 Inventory report prefixes (`arn:aws:s3:::BUCKET/PREFIX`) the backfill role may read."
  type        = list(string)
  default     = []
}
