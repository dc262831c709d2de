variable "name" {
  description = "The trail's name."
  type        = string
}

variable "retention" {
  description = "Lifecycle of the log files in S3."
  type = object({
    infrequent_access_after_days = number
    glacier_after_days           = number
    expire_after_days            = number
  })
}

variable "kms_key_arn" {
  description = "A KMS key for the log files; SSE-S3 when null."
  type        = string
  default     = null
}

variable "force_destroy" {
  description = "Let terraform destroy the bucket with its objects."
  type        = bool
  default     = false
}

variable "tags" {
  description = "Tags."
  type        = map(string)
  default     = {}
}
