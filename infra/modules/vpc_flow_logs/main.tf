# VPC Flow Logs of the VPCs given, delivered to S3 as plain text (a header line naming the
# fields, then one record a line) under a prefix of their own in a bucket of their own, in a
# custom format with every field of versions 2 to 8, without Hive-style partitions.

module "bucket" {
  source        = "../log_bucket"
  name          = "${var.name}-vpcflow-logs"
  delivery      = "logdelivery"
  prefix        = var.prefix
  retention     = var.retention
  force_destroy = var.force_destroy
  tags          = var.tags
}

locals {
  # Every field of versions 2 to 8, in the documented order.
  fields = [
    "version", "account-id", "interface-id", "srcaddr", "dstaddr", "srcport", "dstport", "protocol",
    "packets", "bytes", "start", "end", "action", "log-status",
    "vpc-id", "subnet-id", "instance-id", "tcp-flags", "type", "pkt-srcaddr", "pkt-dstaddr",
    "region", "az-id", "sublocation-type", "sublocation-id",
    "pkt-src-aws-service", "pkt-dst-aws-service", "flow-direction", "traffic-path",
    "ecs-cluster-arn", "ecs-cluster-name", "ecs-container-instance-arn", "ecs-container-instance-id",
    "ecs-container-id", "ecs-second-container-id", "ecs-service-name", "ecs-task-definition-arn",
    "ecs-task-arn", "ecs-task-id",
    "reject-reason",
  ]
  log_format = join(" ", [for f in local.fields : "$${${f}}"])
}

resource "aws_flow_log" "this" {
  for_each                 = var.vpc_ids
  vpc_id                   = each.value
  traffic_type             = var.traffic_type
  log_destination_type     = "s3"
  log_destination          = "${module.bucket.arn}/${var.prefix}"
  log_format               = local.log_format
  max_aggregation_interval = var.max_aggregation_interval
  destination_options {
    file_format                = "plain-text"
    hive_compatible_partitions = false
    per_hour_partition         = false
  }
  tags = merge(var.tags, { Name = "${var.name}-${each.key}" })
  # The bucket policy must let the log-delivery service in first; without it, the service
  # would add a policy of its own that the next apply takes away.
  depends_on = [module.bucket]
}
