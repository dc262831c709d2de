# Route 53 Resolver query logging of the VPCs given: one query logging configuration delivering
# to S3, under a prefix of its own in a bucket of its own, and its association with each VPC.

module "bucket" {
  source        = "../log_bucket"
  name          = "${var.name}-resolver-logs"
  delivery      = "logdelivery"
  prefix        = var.prefix
  retention     = var.retention
  force_destroy = var.force_destroy
  tags          = var.tags
}

resource "aws_route53_resolver_query_log_config" "this" {
  name            = var.name
  destination_arn = "${module.bucket.arn}/${var.prefix}"
  tags            = var.tags
  # The bucket policy must let the log-delivery service in first (see modules/vpc_flow_logs).
  depends_on = [module.bucket]
}

resource "aws_route53_resolver_query_log_config_association" "this" {
  for_each                     = var.vpc_ids
  resolver_query_log_config_id = aws_route53_resolver_query_log_config.this.id
  resource_id                  = each.value
}
