variable "name" {
  description = "Name prefix."
  type        = string
}

variable "vpc_id" {
  description = "The VPC."
  type        = string
}

variable "subnet_ids" {
  description = "Two public subnets in two zones."
  type        = list(string)
  validation {
    condition     = length(var.subnet_ids) >= 2
    error_message = "The ALB needs subnets in two zones."
  }
}

variable "instance_type" {
  description = "The web instance type (arm64)."
  type        = string
  default     = "t4g.small"
}

variable "firehose_stream_name" {
  description = "The Apache delivery stream Kinesis Agent sends to."
  type        = string
}

variable "firehose_stream_arn" {
  description = "Its ARN."
  type        = string
}

variable "alb_log_bucket" {
  description = "The ALB log bucket."
  type        = string
}

variable "alb_log_prefix" {
  description = "The ALB log prefix (ending in /)."
  type        = string
}

variable "cloudfront_log_bucket_domain" {
  description = "The CloudFront log bucket's domain name."
  type        = string
}

variable "cloudfront_log_prefix" {
  description = "The CloudFront log prefix (ending in /)."
  type        = string
}

variable "tags" {
  description = "Tags."
  type        = map(string)
  default     = {}
}
