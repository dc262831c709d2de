# The whole KELK stack: log buckets for the four sources, the OpenSearch domain, the plugin
# store with its routing config, the KELK host Lambda fed by S3 notifications through SQS, the
# Firehose stream for Apache, and the demo web tier and trail that produce the logs.

locals {
  retention = var.raw_log_retention
  # Where each service writes in its bucket; the host is notified for these prefixes only.
  alb_prefix        = "alb/"
  cloudfront_prefix = "cloudfront/"
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
  routes = [
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
  ]
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
  log_buckets = {
    alb        = { id = module.alb_logs.id, arn = module.alb_logs.arn, notify_prefix = "${local.alb_prefix}AWSLogs/" }
    cloudfront = { id = module.cloudfront_logs.id, arn = module.cloudfront_logs.arn, notify_prefix = local.cloudfront_prefix }
    # Not CloudTrail-Digest/: digests are no logs.
    cloudtrail = { id = module.trail.bucket.id, arn = module.trail.bucket.arn, notify_prefix = "AWSLogs/" }
  }
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

# Every bucket policy of the stack, under the same invariants as the rest.
module "bucket_policy_guard" {
  source = "./modules/policy_guard"
  resource_policies = {
    "ALB log bucket"        = module.alb_logs.policy
    "CloudFront log bucket" = module.cloudfront_logs.policy
    "CloudTrail bucket"     = module.trail.bucket.policy
    "dead-letter bucket"    = module.dead_letters.policy
    "plugin bucket"         = module.plugins.policy
    "Apache backup bucket"  = module.firehose.backup_policy
  }
}
