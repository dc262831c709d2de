variable "name" {
  description = "Name of the stack: a prefix for every resource (lowercase letters, digits, hyphens)."
  type        = string
  default     = "kelk"
  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,20}$", var.name))
    error_message = "name must be 2–21 lowercase letters, digits and hyphens, starting with a letter."
  }
}

variable "region" {
  description = "The AWS region. CloudFront standard logging is not available in af-south-1, ap-east-1, eu-south-1 and me-south-1."
  type        = string
  default     = "eu-west-1"
  validation {
    condition     = !contains(["af-south-1", "ap-east-1", "eu-south-1", "me-south-1"], var.region)
    error_message = "CloudFront cannot deliver standard logs to buckets in this region."
  }
}

variable "host_package" {
  description = "The KELK host's Lambda package (zip with `bootstrap`, arm64), built by `cargo lambda build --release --arm64 --output-format zip`."
  type        = string
}

variable "plugins" {
  description = "Built parser components by name (`kelk-plugin build parsers/NAME` prints each path). alb, cloudfront, cloudtrail and apache are routed; vpcflow, waf, s3access and route53resolver too when their delivery is on; and any plugin cloudwatch_log_routes names."
  type        = map(string)
  validation {
    condition     = alltrue([for p in ["alb", "cloudfront", "cloudtrail", "apache"] : contains(keys(var.plugins), p)])
    error_message = "plugins needs alb, cloudfront, cloudtrail and apache."
  }
  validation {
    condition = alltrue([for p, on in {
      vpcflow         = var.vpc_flow_logs.enabled
      waf             = var.waf.enabled
      s3access        = var.s3_access_logs.enabled
      route53resolver = var.resolver_query_logs.enabled
    } : !on || contains(keys(var.plugins), p)])
    error_message = "A delivery that is on needs its plugin in plugins: vpcflow (vpc_flow_logs), waf (waf), s3access (s3_access_logs), route53resolver (resolver_query_logs)."
  }
  validation {
    condition     = alltrue([for r in values(var.cloudwatch_log_routes) : r.plugin == null ? true : contains(keys(var.plugins), r.plugin)])
    error_message = "A cloudwatch_log_routes entry names a plugin that plugins does not have."
  }
}

variable "precompiled_plugins" {
  description = "Precompiled artifacts (.cwasm, aarch64) of the plugins, by name, uploaded beside them so the host need not compile at cold start."
  type        = map(string)
  default     = {}
}

variable "opensearch" {
  description = "The OpenSearch domain: version, instance type and count, dedicated masters (0 or 3), volume size."
  type = object({
    engine_version         = optional(string, "OpenSearch_2.19")
    instance_type          = optional(string, "r7g.large.search")
    instance_count         = optional(number, 1)
    dedicated_master_count = optional(number, 0)
    volume_size_gb         = optional(number, 50)
  })
  default = {}
}

variable "admin_role_arn" {
  description = "The IAM role that is OpenSearch's fine-grained-access-control master user (it maps users and roles in Dashboards)."
  type        = string
  validation {
    condition     = can(regex("^arn:aws[a-z-]*:iam::[0-9]{12}:role/", var.admin_role_arn))
    error_message = "admin_role_arn must be an IAM role ARN."
  }
}

variable "dashboards_allowed_cidrs" {
  description = "CIDR ranges (your office or VPN) allowed to reach OpenSearch Dashboards, where FGAC users log in. Empty: reach Dashboards only with SigV4 (e.g. through the admin role)."
  type        = list(string)
  default     = []
  validation {
    condition     = alltrue([for c in var.dashboards_allowed_cidrs : can(cidrhost(c, 0)) && !contains(["0.0.0.0/0", "::/0"], c)])
    error_message = "dashboards_allowed_cidrs must be CIDR blocks, and not the whole internet."
  }
}

variable "index_retention_days" {
  description = "Days indices live in OpenSearch (ISM deletes them after). Hot data: short."
  type        = number
  default     = 30
  validation {
    condition     = var.index_retention_days >= 1
    error_message = "index_retention_days must be at least 1."
  }
}

variable "raw_log_retention" {
  description = "Lifecycle of the raw logs in S3: days to STANDARD_IA, to GLACIER_IR, and to expiry. Raw data: long."
  type = object({
    infrequent_access_after_days = optional(number, 30)
    glacier_after_days           = optional(number, 90)
    expire_after_days            = optional(number, 400)
  })
  default = {}
}

variable "firehose_backup_all_records" {
  description = "Keep every Apache record in S3 (true), or only those Firehose failed to deliver."
  type        = bool
  default     = true
}

variable "host" {
  description = "The host Lambda's memory, timeout and reserved concurrency."
  type = object({
    memory_mb            = optional(number, 1024)
    timeout_seconds      = optional(number, 300)
    reserved_concurrency = optional(number, 10)
  })
  default = {}
}

variable "alarm_actions" {
  description = "ARNs (e.g. an SNS topic) notified when an alarm fires."
  type        = list(string)
  default     = []
}

variable "web_instance_type" {
  description = "The demo web instance (arm64)."
  type        = string
  default     = "t4g.small"
}

variable "force_destroy" {
  description = "Let terraform destroy the buckets with their objects (for a demo)."
  type        = bool
  default     = false
}

variable "tags" {
  description = "Extra tags for every resource."
  type        = map(string)
  default     = {}
}

# Opt-in deliveries of more log kinds to the host, each off by default.

variable "vpc_flow_logs" {
  description = "VPC Flow Logs to S3 (bucket <name>-vpcflow-logs, prefix vpcflow/), parsed by the vpcflow plugin: of the stack's VPC (stack_vpc) and of vpc_ids, in a custom format with every field of versions 2 to 8."
  type = object({
    enabled                  = optional(bool, false)
    stack_vpc                = optional(bool, true)
    vpc_ids                  = optional(list(string), [])
    traffic_type             = optional(string, "ALL")
    max_aggregation_interval = optional(number, 600)
  })
  default = {}
  validation {
    condition     = alltrue([for id in var.vpc_flow_logs.vpc_ids : can(regex("^vpc-[0-9a-f]{8,17}$", id))])
    error_message = "vpc_flow_logs.vpc_ids must be VPC ids (vpc-…)."
  }
  validation {
    condition     = !var.vpc_flow_logs.enabled || var.vpc_flow_logs.stack_vpc || length(var.vpc_flow_logs.vpc_ids) > 0
    error_message = "vpc_flow_logs is on but logs no VPC: set stack_vpc or vpc_ids."
  }
}

variable "waf" {
  description = "An AWS WAF web ACL on the demo ALB (AWS managed rule groups, count mode only), its traffic logs to S3 (bucket aws-waf-logs-<name>-…, authorization and cookie headers redacted), parsed by the waf plugin."
  type = object({
    enabled = optional(bool, false)
  })
  default = {}
}

variable "s3_access_logs" {
  description = "S3 server access logs of the stack's log buckets (ALB, CloudFront, CloudTrail, Apache backup, and the flow-log, query-log and WAF buckets when on) to S3 (bucket <name>-s3access-logs, prefix s3access/, itself not logged), parsed by the s3access plugin."
  type = object({
    enabled = optional(bool, false)
  })
  default = {}
}

variable "resolver_query_logs" {
  description = "Route 53 Resolver query logs to S3 (bucket <name>-resolver-logs, prefix route53resolver/), parsed by the route53resolver plugin: of the stack's VPC (stack_vpc) and of vpc_ids."
  type = object({
    enabled   = optional(bool, false)
    stack_vpc = optional(bool, true)
    vpc_ids   = optional(list(string), [])
  })
  default = {}
  validation {
    condition     = alltrue([for id in var.resolver_query_logs.vpc_ids : can(regex("^vpc-[0-9a-f]{8,17}$", id))])
    error_message = "resolver_query_logs.vpc_ids must be VPC ids (vpc-…)."
  }
  validation {
    condition     = !var.resolver_query_logs.enabled || var.resolver_query_logs.stack_vpc || length(var.resolver_query_logs.vpc_ids) > 0
    error_message = "resolver_query_logs is on but logs no VPC: set stack_vpc or vpc_ids."
  }
}

variable "cloudwatch_log_groups" {
  description = "CloudWatch Logs log groups (names, in the stack's region) whose every event is sent to the host by a subscription filter."
  type        = list(string)
  default     = []
  validation {
    condition     = alltrue([for g in var.cloudwatch_log_groups : can(regex("^[A-Za-z0-9_./#-]{1,512}$", g))])
    error_message = "cloudwatch_log_groups must be log group names (no globs: a subscription filter names one group)."
  }
  validation {
    # The host's own log group would feed the host its own logs, without end.
    condition     = !contains(var.cloudwatch_log_groups, "/aws/lambda/${var.name}-host")
    error_message = "cloudwatch_log_groups cannot have the host's own log group."
  }
}

variable "cloudwatch_log_routes" {
  description = "How the host parses CloudWatch Logs events, by log group name or glob: the plugin (omitted: the route names none), index prefix and options. Routes are tried exact names first, then globs; a subscribed group this map does not name gets a route of its own without a plugin."
  type = map(object({
    plugin       = optional(string)
    index_prefix = optional(string)
    options      = optional(map(string), {})
  }))
  default = {}
}

variable "backfill_inventories" {
  description = "S3 Inventory reports a backfill may read (`kelk backfill --inventory`), each `arn:aws:s3:::BUCKET/PREFIX`: the role the job runs as may get objects under it (the report's manifest.json and its CSV files)."
  type        = list(string)
  default     = []
  validation {
    condition     = alltrue([for p in var.backfill_inventories : can(regex("^arn:aws[a-z-]*:s3:::[a-z0-9.-]+/[^*]+$", p))])
    error_message = "Each backfill inventory is arn:aws:s3:::BUCKET/PREFIX: a prefix, not a whole bucket, and no `*`."
  }
}
