variable "name" {
  description = "Name prefix."
  type        = string
}

variable "cidr" {
  description = "The VPC's CIDR block."
  type        = string
  default     = "10.42.0.0/16"
  validation {
    condition     = can(cidrhost(var.cidr, 0))
    error_message = "cidr must be a CIDR block."
  }
}

variable "log_retention_days" {
  description = "Retention of the VPC flow logs."
  type        = number
  default     = 365
}

variable "logs_kms_key_arn" {
  description = "A KMS key for the flow-log group; unencrypted by KMS when null."
  type        = string
  default     = null
}

variable "tags" {
  description = "Tags."
  type        = map(string)
  default     = {}
}
