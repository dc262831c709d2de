# The Amazon OpenSearch Service domain: encrypted at rest and between nodes, HTTPS only with
# TLS 1.2 or later, fine-grained access control with an IAM role as master user, and an access
# policy that names its principals (the ingest host, Firehose, the admins) and lets the
# Dashboards users in only from the CIDR ranges given, to log in through FGAC.

data "aws_caller_identity" "current" {}
data "aws_region" "current" {}

locals {
  domain_arn = "arn:aws:es:${data.aws_region.current.name}:${data.aws_caller_identity.current.account_id}:domain/${var.name}"
  statements = concat(
    [{
      Sid       = "NamedPrincipals"
      Effect    = "Allow"
      Principal = { AWS = var.principal_arns }
      Action    = ["es:ESHttpGet", "es:ESHttpHead", "es:ESHttpPost", "es:ESHttpPut", "es:ESHttpDelete", "es:ESHttpPatch"]
      Resource  = "${local.domain_arn}/*"
    }],
    length(var.dashboards_allowed_cidrs) == 0 ? [] : [{
      # FGAC authenticates these users (internal users or SAML); the condition keeps everyone
      # else from even reaching the login page.
      Sid       = "DashboardsFromAllowedNetworks"
      Effect    = "Allow"
      Principal = { AWS = "*" }
      Action    = ["es:ESHttpGet", "es:ESHttpHead", "es:ESHttpPost", "es:ESHttpPut", "es:ESHttpDelete", "es:ESHttpPatch"]
      Resource  = "${local.domain_arn}/*"
      Condition = { IpAddress = { "aws:SourceIp" = var.dashboards_allowed_cidrs } }
    }],
  )
  access_policy = jsonencode({ Version = "2012-10-17", Statement = local.statements })
}

resource "aws_cloudwatch_log_group" "this" {
  for_each          = toset(["INDEX_SLOW_LOGS", "SEARCH_SLOW_LOGS", "ES_APPLICATION_LOGS", "AUDIT_LOGS"])
  name              = "/aws/opensearch/${var.name}/${lower(each.key)}"
  retention_in_days = var.log_retention_days
  kms_key_id        = var.logs_kms_key_arn
  tags              = var.tags
}

resource "aws_cloudwatch_log_resource_policy" "this" {
  policy_name = "${var.name}-opensearch-logs"
  policy_document = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect    = "Allow"
      Principal = { Service = "es.amazonaws.com" }
      Action    = ["logs:PutLogEvents", "logs:CreateLogStream"]
      Resource  = [for g in aws_cloudwatch_log_group.this : "${g.arn}:*"]
      Condition = {
        StringEquals = { "aws:SourceAccount" = data.aws_caller_identity.current.account_id }
        ArnLike      = { "aws:SourceArn" = local.domain_arn }
      }
    }]
  })
}

resource "aws_opensearch_domain" "this" {
  #checkov:skip=CKV_AWS_248:The domain is not in a VPC, so it has no security group (see CKV_AWS_137).
  #checkov:skip=CKV_AWS_317:AUDIT_LOGS is published to CloudWatch Logs through the dynamic log_publishing_options block, which checkov does not expand.
  #checkov:skip=CKV_AWS_137:The domain has a public endpoint so Dashboards can be reached without a VPN; the access policy limits it to named principals and the allowed CIDRs, and FGAC authenticates every user.
  #checkov:skip=CKV_AWS_247:Encrypted at rest with the AWS-owned key; a customer-managed key is an option (var.kms_key_arn) at the cost of a KMS key.
  #checkov:skip=CKV2_AWS_59:Dedicated master nodes are a cost choice sized per deployment (var.dedicated_master_count).
  #checkov:skip=CKV_AWS_318:Dedicated master nodes are a cost choice sized per deployment (var.dedicated_master_count).
  domain_name    = var.name
  engine_version = var.engine_version

  cluster_config {
    instance_type            = var.instance_type
    instance_count           = var.instance_count
    zone_awareness_enabled   = var.instance_count > 1
    dedicated_master_enabled = var.dedicated_master_count > 0
    dedicated_master_count   = var.dedicated_master_count > 0 ? var.dedicated_master_count : null
    dedicated_master_type    = var.dedicated_master_count > 0 ? var.instance_type : null
    dynamic "zone_awareness_config" {
      for_each = var.instance_count > 1 ? [1] : []
      content {
        availability_zone_count = 2
      }
    }
  }

  ebs_options {
    ebs_enabled = true
    volume_type = "gp3"
    volume_size = var.volume_size_gb
  }

  encrypt_at_rest {
    enabled    = true
    kms_key_id = var.kms_key_arn
  }

  node_to_node_encryption {
    enabled = true
  }

  domain_endpoint_options {
    enforce_https       = true
    tls_security_policy = "Policy-Min-TLS-1-2-2019-07"
  }

  advanced_security_options {
    enabled                        = true
    anonymous_auth_enabled         = false
    internal_user_database_enabled = var.internal_user_database
    master_user_options {
      master_user_arn = var.master_user_arn
    }
  }

  dynamic "log_publishing_options" {
    for_each = aws_cloudwatch_log_group.this
    content {
      log_type                 = log_publishing_options.key
      cloudwatch_log_group_arn = log_publishing_options.value.arn
    }
  }

  tags       = var.tags
  depends_on = [aws_cloudwatch_log_resource_policy.this]
}

resource "aws_opensearch_domain_policy" "this" {
  domain_name     = aws_opensearch_domain.this.domain_name
  access_policies = local.access_policy
}

module "guard" {
  source            = "../policy_guard"
  resource_policies = { "opensearch access policy" = local.access_policy }
  encryption = {
    "encryption at rest"      = aws_opensearch_domain.this.encrypt_at_rest[0].enabled
    "node-to-node encryption" = aws_opensearch_domain.this.node_to_node_encryption[0].enabled
    "HTTPS only"              = aws_opensearch_domain.this.domain_endpoint_options[0].enforce_https
    "fine-grained access"     = aws_opensearch_domain.this.advanced_security_options[0].enabled
  }
}
