# The whole KELK stack: log buckets for the four sources, the OpenSearch domain, the plugin
# store with its routing config, the KELK host Lambda fed by S3 notifications through SQS, the
# Firehose stream for Apache, and the demo web tier and trail that produce the logs. Opt-in,
# each off by default: VPC Flow Logs, Route 53 Resolver query logs, a WAF web ACL on the ALB
# with its logs, S3 server access logs of the log buckets, and CloudWatch Logs subscriptions.

locals {
  retention = var.raw_log_retention
  # Where each service writes in its bucket; the host is notified for these prefixes only.
  alb_prefix        = "alb/"
  cloudfront_prefix = "cloudfront/"
  vpcflow_prefix    = "vpcflow/"
  resolver_prefix   = "route53resolver/"
  s3access_prefix   = "s3access/"

  # The VPCs each VPC-wide delivery covers, by a label known at plan time.
  flow_log_vpcs = merge(
    var.vpc_flow_logs.stack_vpc ? { stack = module.network.vpc_id } : {},
    { for id in var.vpc_flow_logs.vpc_ids : id => id },
  )
  resolver_vpcs = merge(
    var.resolver_query_logs.stack_vpc ? { stack = module.network.vpc_id } : {},
    { for id in var.resolver_query_logs.vpc_ids : id => id },
  )

  # The opt-in deliveries' buckets that are on, by kind, with the prefix the host is notified
  # on and the route of the objects there.
  optional_deliveries = merge(
    var.vpc_flow_logs.enabled ? {
      vpcflow = {
        bucket        = module.vpc_flow_logs[0].bucket
        notify_prefix = "${local.vpcflow_prefix}AWSLogs/"
        key_glob      = "${local.vpcflow_prefix}AWSLogs/*/vpcflowlogs/*"
        plugin        = "vpcflow"
        index_prefix  = "logs-aws.vpcflow-default"
      }
    } : {},
    var.resolver_query_logs.enabled ? {
      route53resolver = {
        bucket        = module.resolver_query_logs[0].bucket
        notify_prefix = "${local.resolver_prefix}AWSLogs/"
        key_glob      = "${local.resolver_prefix}AWSLogs/*/vpcdnsquerylogs/*"
        plugin        = "route53resolver"
        index_prefix  = "logs-aws.route53_resolver_logs-default"
      }
    } : {},
    var.waf.enabled ? {
      # WAF writes at the top of its own bucket.
      waf = {
        bucket        = module.waf[0].bucket
        notify_prefix = "AWSLogs/"
        key_glob      = "AWSLogs/*/WAFLogs/*"
        plugin        = "waf"
        index_prefix  = "logs-aws.waf-default"
      }
    } : {},
    var.s3_access_logs.enabled ? {
      s3access = {
        bucket        = module.access_logs[0].bucket
        notify_prefix = local.s3access_prefix
        key_glob      = "${local.s3access_prefix}*"
        plugin        = "s3access"
        index_prefix  = "logs-aws.s3access-default"
      }
    } : {},
  )

  # CloudWatch Logs routes: exact names before globs, as the host takes the first route that
  # matches; then a route without a plugin for each subscribed group the map does not name.
  is_glob = { for g in keys(var.cloudwatch_log_routes) : g => length(regexall("[*?\\[{]", g)) > 0 }
  cloudwatch_routes = concat(
    [for g, r in var.cloudwatch_log_routes : merge(r, { log_group_glob = g }) if !local.is_glob[g]],
    [for g, r in var.cloudwatch_log_routes : merge(r, { log_group_glob = g }) if local.is_glob[g]],
    [for g in var.cloudwatch_log_groups : { log_group_glob = g } if !contains(keys(var.cloudwatch_log_routes), g)],
  )
}

module "alb_logs" {
  source        = "./modules/log_bucket"
  name          = "${var.name}-alb-logs"
  delivery      = "alb"
  prefix        = local.alb_prefix
  retention     = local.retention
  force_destroy = var.force_destroy
}

module "cloudfront_logs" {
  source        = "./modules/log_bucket"
  name          = "${var.name}-cf-logs"
  delivery      = "cloudfront"
  prefix        = local.cloudfront_prefix
  retention     = local.retention
  force_destroy = var.force_destroy
}

module "dead_letters" {
  source        = "./modules/log_bucket"
  name          = "${var.name}-dead-letters"
  delivery      = "none"
  retention     = local.retention
  force_destroy = var.force_destroy
}

module "trail" {
  source        = "./modules/trail"
  name          = "${var.name}-trail"
  retention     = local.retention
  force_destroy = var.force_destroy
}

module "plugins" {
  source        = "./modules/plugin_store"
  name          = var.name
  plugins       = var.plugins
  precompiled   = var.precompiled_plugins
  force_destroy = var.force_destroy
  routes = concat([
    {
      bucket       = module.alb_logs.id
      key_glob     = "${local.alb_prefix}AWSLogs/*/elasticloadbalancing/*"
      plugin       = "alb"
      index_prefix = "logs-aws.elb_logs-default"
    },
    {
      bucket       = module.cloudfront_logs.id
      key_glob     = "${local.cloudfront_prefix}*"
      plugin       = "cloudfront"
      index_prefix = "logs-aws.cloudfront_logs-default"
    },
    {
      bucket       = module.trail.bucket.id
      key_glob     = "AWSLogs/*/CloudTrail/*"
      plugin       = "cloudtrail"
      index_prefix = "logs-aws.cloudtrail-default"
    },
    {
      # Firehose delivers the documents itself, into its own index rotation.
      delivery_stream = "${var.name}-apache"
      plugin          = "apache"
    },
    ],
    [for kind, d in local.optional_deliveries : {
      bucket       = d.bucket.id
      key_glob     = d.key_glob
      plugin       = d.plugin
      index_prefix = d.index_prefix
    }],
    local.cloudwatch_routes,
  )
}

module "opensearch" {
  source                   = "./modules/opensearch"
  name                     = "${var.name}-logs"
  engine_version           = var.opensearch.engine_version
  instance_type            = var.opensearch.instance_type
  instance_count           = var.opensearch.instance_count
  dedicated_master_count   = var.opensearch.dedicated_master_count
  volume_size_gb           = var.opensearch.volume_size_gb
  master_user_arn          = var.admin_role_arn
  principal_arns           = [module.host.role_arn, module.firehose.role_arn, var.admin_role_arn]
  dashboards_allowed_cidrs = var.dashboards_allowed_cidrs
}

module "host" {
  source                 = "./modules/ingest_host"
  name                   = var.name
  package_path           = var.host_package
  plugin_bucket_arn      = module.plugins.bucket_arn
  routing_config_uri     = module.plugins.routing_config_uri
  dead_letter_bucket     = module.dead_letters.id
  dead_letter_bucket_arn = module.dead_letters.arn
  opensearch_arn         = module.opensearch.arn
  opensearch_endpoint    = module.opensearch.endpoint
  index_retention_days   = var.index_retention_days
  memory_mb              = var.host.memory_mb
  timeout_seconds        = var.host.timeout_seconds
  reserved_concurrency   = var.host.reserved_concurrency
  alarm_actions          = var.alarm_actions
  environment            = { KELK_FIREHOSE_PLUGIN = "apache" }
  log_buckets = merge(
    {
      alb        = { id = module.alb_logs.id, arn = module.alb_logs.arn, notify_prefix = "${local.alb_prefix}AWSLogs/" }
      cloudfront = { id = module.cloudfront_logs.id, arn = module.cloudfront_logs.arn, notify_prefix = local.cloudfront_prefix }
      # Not CloudTrail-Digest/: digests are no logs.
      cloudtrail = { id = module.trail.bucket.id, arn = module.trail.bucket.arn, notify_prefix = "AWSLogs/" }
    },
    { for kind, d in local.optional_deliveries : kind => { id = d.bucket.id, arn = d.bucket.arn, notify_prefix = d.notify_prefix } },
  )
  log_group_subscriptions = var.cloudwatch_log_groups
  backfill_inventories    = var.backfill_inventories
}

module "firehose" {
  source                 = "./modules/firehose_apache"
  name                   = var.name
  opensearch_arn         = module.opensearch.arn
  transform_function_arn = module.host.function_arn
  backup_all_records     = var.firehose_backup_all_records
  retention              = local.retention
  force_destroy          = var.force_destroy
}

module "network" {
  source = "./modules/network"
  name   = var.name
}

module "web" {
  source                       = "./modules/web"
  name                         = var.name
  vpc_id                       = module.network.vpc_id
  subnet_ids                   = module.network.public_subnet_ids
  instance_type                = var.web_instance_type
  firehose_stream_name         = module.firehose.stream_name
  firehose_stream_arn          = module.firehose.stream_arn
  alb_log_bucket               = module.alb_logs.id
  alb_log_prefix               = local.alb_prefix
  cloudfront_log_bucket_domain = module.cloudfront_logs.domain_name
  cloudfront_log_prefix        = local.cloudfront_prefix
}

# The opt-in deliveries (variables.tf), each off by default.

module "vpc_flow_logs" {
  source                   = "./modules/vpc_flow_logs"
  count                    = var.vpc_flow_logs.enabled ? 1 : 0
  name                     = var.name
  vpc_ids                  = local.flow_log_vpcs
  prefix                   = local.vpcflow_prefix
  traffic_type             = var.vpc_flow_logs.traffic_type
  max_aggregation_interval = var.vpc_flow_logs.max_aggregation_interval
  retention                = local.retention
  force_destroy            = var.force_destroy
}

module "resolver_query_logs" {
  source        = "./modules/resolver_query_logs"
  count         = var.resolver_query_logs.enabled ? 1 : 0
  name          = var.name
  vpc_ids       = local.resolver_vpcs
  prefix        = local.resolver_prefix
  retention     = local.retention
  force_destroy = var.force_destroy
}

module "waf" {
  source        = "./modules/waf"
  count         = var.waf.enabled ? 1 : 0
  name          = var.name
  alb_arn       = module.web.alb_arn
  retention     = local.retention
  force_destroy = var.force_destroy
}

# The buckets AWS services deliver logs into. Not the plugin store, which the host reads on its
# own (its config's ETag every 30 s: the access logs of those reads would bring the host back,
# without end), nor the dead letters, which it writes; nor the access-log bucket itself.
locals {
  access_logged_buckets = merge(
    {
      alb            = { id = module.alb_logs.id, arn = module.alb_logs.arn }
      cloudfront     = { id = module.cloudfront_logs.id, arn = module.cloudfront_logs.arn }
      cloudtrail     = { id = module.trail.bucket.id, arn = module.trail.bucket.arn }
      apache_backups = { id = module.firehose.backup_bucket, arn = module.firehose.backup_bucket_arn }
    },
    var.vpc_flow_logs.enabled ? { vpcflow = { id = module.vpc_flow_logs[0].bucket.id, arn = module.vpc_flow_logs[0].bucket.arn } } : {},
    var.resolver_query_logs.enabled ? { route53resolver = { id = module.resolver_query_logs[0].bucket.id, arn = module.resolver_query_logs[0].bucket.arn } } : {},
    var.waf.enabled ? { waf = { id = module.waf[0].bucket.id, arn = module.waf[0].bucket.arn } } : {},
  )
}

module "access_logs" {
  source         = "./modules/access_logs"
  count          = var.s3_access_logs.enabled ? 1 : 0
  name           = var.name
  source_buckets = local.access_logged_buckets
  prefix         = local.s3access_prefix
  retention      = local.retention
  force_destroy  = var.force_destroy
}

# Every bucket policy of the stack, under the same invariants as the rest.
module "bucket_policy_guard" {
  source = "./modules/policy_guard"
  resource_policies = merge({
    "ALB log bucket"        = module.alb_logs.policy
    "CloudFront log bucket" = module.cloudfront_logs.policy
    "CloudTrail bucket"     = module.trail.bucket.policy
    "dead-letter bucket"    = module.dead_letters.policy
    "plugin bucket"         = module.plugins.policy
    "Apache backup bucket"  = module.firehose.backup_policy
    },
    { for kind, d in local.optional_deliveries : "${kind} log bucket" => d.bucket.policy },
  )
}
