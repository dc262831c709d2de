variable "name" {
  description = "Name prefix."
  type        = string
}

variable "source_buckets" {
  description = "The buckets whose server access logs are kept, by a name known at plan time: id and ARN."
  type = map(object({
    id  = string
    arn = string
  }))
}

variable "prefix" {
  description = "The key prefix the access logs are written under (ending in /)."
  type        = string
  default     = "s3access/"
  validation {
    condition     = endswith(var.prefix, "/") && !startswith(var.prefix, "/")
    error_message = "prefix must end with / and not start with one."
  }
}

variable "retention" {
  description = "Lifecycle of the access logs in S3."
  type = object({
    infrequent_access_after_days = number
    glacier_after_days           = number
    expire_after_days            = number
  })
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
