variable "name" {
  description = "Name prefix of the bucket."
  type        = string
}

variable "delivery" {
  description = "Which AWS service delivers into the bucket: alb, cloudfront, cloudtrail, logdelivery (the log-delivery service of VPC Flow Logs, Route 53 Resolver query logs and AWS WAF), s3access (S3 server access logging), or none."
  type        = string
  validation {
    condition     = contains(["alb", "cloudfront", "cloudtrail", "logdelivery", "s3access", "none"], var.delivery)
    error_message = "delivery must be one of alb, cloudfront, cloudtrail, logdelivery, s3access, none."
  }
}

variable "prefix" {
  description = "The key prefix the service writes under (\"\" or ending in /)."
  type        = string
  default     = ""
  validation {
    condition     = var.prefix == "" || endswith(var.prefix, "/")
    error_message = "prefix must be empty or end with /."
  }
}

variable "trail_arn" {
  description = "For delivery = cloudtrail: the trail allowed to write (its ARN, built as a string to avoid a cycle)."
  type        = string
  default     = null
}

variable "source_bucket_arns" {
  description = "For delivery = s3access: the buckets whose server access logs may be written here."
  type        = list(string)
  default     = []
}

variable "retention" {
  description = "Days after which objects move to STANDARD_IA and GLACIER_IR, and expire."
  type = object({
    infrequent_access_after_days = number
    glacier_after_days           = number
    expire_after_days            = number
  })
  validation {
    condition = (var.retention.infrequent_access_after_days >= 30
      && var.retention.glacier_after_days > var.retention.infrequent_access_after_days
    && var.retention.expire_after_days > var.retention.glacier_after_days)
    error_message = "retention: STANDARD_IA needs at least 30 days, and each step must come after the previous one."
  }
}

variable "force_destroy" {
  description = "Let terraform destroy the bucket with its objects."
  type        = bool
  default     = false
}

variable "tags" {
  description = "Tags for the bucket."
  type        = map(string)
  default     = {}
}
