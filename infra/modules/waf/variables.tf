variable "name" {
  description = "Name prefix."
  type        = string
}

variable "alb_arn" {
  description = "The ALB the web ACL protects."
  type        = string
}

variable "retention" {
  description = "Lifecycle of the WAF logs in S3."
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
