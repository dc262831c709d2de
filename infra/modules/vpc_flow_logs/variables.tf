variable "name" {
  description = "Name prefix."
  type        = string
}

variable "vpc_ids" {
  description = "The VPCs to log, by a label known at plan time (e.g. \"stack\", or the id itself)."
  type        = map(string)
}

variable "prefix" {
  description = "The key prefix the flow logs are written under (ending in /)."
  type        = string
  default     = "vpcflow/"
  validation {
    condition     = endswith(var.prefix, "/") && !startswith(var.prefix, "/")
    error_message = "prefix must end with / and not start with one."
  }
}

variable "traffic_type" {
  description = "Which traffic to log: ACCEPT, REJECT or ALL."
  type        = string
  default     = "ALL"
  validation {
    condition     = contains(["ACCEPT", "REJECT", "ALL"], var.traffic_type)
    error_message = "traffic_type must be ACCEPT, REJECT or ALL."
  }
}

variable "max_aggregation_interval" {
  description = "Seconds a flow is aggregated over before it is a record: 60 or 600."
  type        = number
  default     = 600
  validation {
    condition     = contains([60, 600], var.max_aggregation_interval)
    error_message = "max_aggregation_interval must be 60 or 600."
  }
}

variable "retention" {
  description = "Lifecycle of the flow logs in S3."
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
