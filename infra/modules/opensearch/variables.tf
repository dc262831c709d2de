variable "name" {
  description = "The domain name (3–28 lowercase letters, digits and hyphens)."
  type        = string
  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{2,27}$", var.name))
    error_message = "The domain name must be 3–28 lowercase letters, digits and hyphens, starting with a letter."
  }
}

variable "engine_version" {
  description = "The OpenSearch version (flat_object needs 2.7 or later)."
  type        = string
  default     = "OpenSearch_2.19"
}

variable "instance_type" {
  description = "Data node instance type (it must support encryption at rest)."
  type        = string
  default     = "r7g.large.search"
}

variable "instance_count" {
  description = "Data nodes; more than one spreads them over two zones."
  type        = number
  default     = 1
}

variable "dedicated_master_count" {
  description = "Dedicated master nodes: 0 for none, or 3."
  type        = number
  default     = 0
  validation {
    condition     = contains([0, 3], var.dedicated_master_count)
    error_message = "Use 0 or 3 dedicated master nodes."
  }
}

variable "volume_size_gb" {
  description = "EBS volume per data node, in GiB."
  type        = number
  default     = 50
}

variable "kms_key_arn" {
  description = "A customer-managed KMS key for encryption at rest; the AWS-owned key when null."
  type        = string
  default     = null
}

variable "logs_kms_key_arn" {
  description = "A KMS key for the domain's CloudWatch log groups; unencrypted by KMS when null."
  type        = string
  default     = null
}

variable "master_user_arn" {
  description = "The IAM role or user that is FGAC's master user."
  type        = string
}

variable "internal_user_database" {
  description = "Let FGAC's internal users (created by the master user) log in to Dashboards."
  type        = bool
  default     = true
}

variable "principal_arns" {
  description = "IAM principals allowed to call the domain (the ingest host, Firehose, admins)."
  type        = list(string)
}

variable "dashboards_allowed_cidrs" {
  description = "CIDR ranges allowed to reach the domain's endpoint for Dashboards login (FGAC still authenticates)."
  type        = list(string)
  default     = []
}

variable "log_retention_days" {
  description = "Retention of the domain's CloudWatch logs."
  type        = number
  default     = 365
}

variable "tags" {
  description = "Tags for the domain."
  type        = map(string)
  default     = {}
}
