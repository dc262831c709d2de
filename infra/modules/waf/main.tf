# An AWS WAF web ACL for the demo's ALB, kept as small as it can be: AWS managed rule groups
# (the core rule set, and known bad inputs with Log4j) in count mode, so it records what it
# would block and blocks nothing; its traffic logs go to S3, in a bucket whose name starts with
# aws-waf-logs- as WAF requires, with the authorization and cookie headers redacted.
# CloudFront's web ACLs live in us-east-1, through a provider the stack does not configure, so
# only the ALB has one.

locals {
  rule_groups = {
    AWSManagedRulesCommonRuleSet         = 10
    AWSManagedRulesKnownBadInputsRuleSet = 20
  }
}

resource "aws_wafv2_web_acl" "alb" {
  #checkov:skip=CKV_AWS_192:The Log4j rules (AWSManagedRulesKnownBadInputsRuleSet) are in the web ACL, in count mode by design: this opt-in ACL records what it would block, and blocks nothing.
  name        = "${var.name}-alb"
  description = "The ${var.name} ALB: AWS managed rule groups, counting only."
  scope       = "REGIONAL"

  default_action {
    allow {}
  }

  dynamic "rule" {
    for_each = local.rule_groups
    content {
      name     = rule.key
      priority = rule.value
      override_action {
        count {}
      }
      statement {
        managed_rule_group_statement {
          vendor_name = "AWS"
          name        = rule.key
        }
      }
      visibility_config {
        cloudwatch_metrics_enabled = true
        metric_name                = "${var.name}-${rule.key}"
        sampled_requests_enabled   = true
      }
    }
  }

  visibility_config {
    cloudwatch_metrics_enabled = true
    metric_name                = "${var.name}-alb"
    sampled_requests_enabled   = true
  }

  tags = var.tags
}

resource "aws_wafv2_web_acl_association" "alb" {
  resource_arn = var.alb_arn
  web_acl_arn  = aws_wafv2_web_acl.alb.arn
}

module "bucket" {
  source        = "../log_bucket"
  name          = "aws-waf-logs-${var.name}"
  delivery      = "logdelivery"
  retention     = var.retention
  force_destroy = var.force_destroy
  tags          = var.tags
}

resource "aws_wafv2_web_acl_logging_configuration" "alb" {
  resource_arn = aws_wafv2_web_acl.alb.arn
  # WAF takes the bucket's ARN alone, and writes under AWSLogs/<account>/WAFLogs/<region>/<acl>/.
  log_destination_configs = [module.bucket.arn]
  redacted_fields {
    single_header {
      name = "authorization"
    }
  }
  redacted_fields {
    single_header {
      name = "cookie"
    }
  }
  # The bucket policy must let the log-delivery service in first (see modules/vpc_flow_logs).
  depends_on = [module.bucket]
}
