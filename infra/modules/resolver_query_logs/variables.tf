variable "name" {
  description = "Name prefix (and the query logging configuration's name)."
  type        = string
}

variable "vpc_ids" {
  description = "The VPCs whose DNS queries are logged, by a label known at plan time (e.g. \"stack\", or the id itself)."
  type        = map(string)
}

variable "prefix" {
  description = "The key prefix the query logs are written under (ending in /)."
  type        = string
  default     = "route53resolver/"
  validation {
    condition     = endswith(var.prefix, "/") && !startswith(var.prefix, "/")
    error_message = "prefix must end with / and not start with one."
  }
}

variable "retention" {
  description = "Lifecycle of the query logs in S3."
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
