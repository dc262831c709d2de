output "bucket" {
  description = "The flow-log bucket: id, ARN and policy."
  value       = { id = module.bucket.id, arn = module.bucket.arn, policy = module.bucket.policy }
}

output "prefix" {
  description = "The key prefix the flow logs are written under."
  value       = var.prefix
}

output "flow_logs" {
  description = "The flow logs, by VPC label: VPC, destination, format and file options."
  value = { for k, f in aws_flow_log.this : k => {
    vpc_id                   = f.vpc_id
    traffic_type             = f.traffic_type
    log_destination_type     = f.log_destination_type
    log_destination          = f.log_destination
    log_format               = f.log_format
    max_aggregation_interval = f.max_aggregation_interval
    file_format              = one(f.destination_options).file_format
    hive_partitions          = one(f.destination_options).hive_compatible_partitions
    per_hour_partition       = one(f.destination_options).per_hour_partition
  } }
}
