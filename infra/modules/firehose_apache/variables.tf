variable "name" {
  description = "Name prefix."
  type        = string
}

variable "opensearch_arn" {
  description = "The OpenSearch domain."
  type        = string
}

variable "transform_function_arn" {
  description = "The KELK host function, the stream's transformation Lambda."
  type        = string
}

variable "backup_all_records" {
  description = "Keep every record in S3 (the long-term store); false keeps only the failed ones."
  type        = bool
  default     = true
}

variable "retention" {
  description = "Lifecycle of the raw records in S3."
  type = object({
    infrequent_access_after_days = number
    glacier_after_days           = number
    expire_after_days            = number
  })
}

variable "force_destroy" {
  description = "Let terraform destroy the backup bucket with its objects."
  type        = bool
  default     = false
}

variable "log_retention_days" {
  description = "Retention of the stream's CloudWatch logs."
  type        = number
  default     = 365
}

variable "logs_kms_key_arn" {
  description = "A KMS key for the stream's log group; unencrypted by KMS when null."
  type        = string
  default     = null
}

variable "tags" {
  description = "Tags."
  type        = map(string)
  default     = {}
}
