# The demo's log sources: an EC2 instance running Apache, whose access lines Kinesis Agent sends
# to Firehose; an ALB in front of it, logging to the ALB bucket; and a CloudFront distribution
# in front of the ALB, logging to the CloudFront bucket. Only CloudFront reaches the ALB.

data "aws_ssm_parameter" "al2023" {
  name = "/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-arm64"
}

data "aws_ec2_managed_prefix_list" "cloudfront" {
  name = "com.amazonaws.global.cloudfront.origin-facing"
}

data "aws_region" "current" {}

resource "aws_security_group" "alb" {
  name        = "${var.name}-alb"
  description = "The ALB: HTTP from CloudFront only, to the web instance."
  vpc_id      = var.vpc_id
  tags        = var.tags
}

resource "aws_vpc_security_group_ingress_rule" "alb_from_cloudfront" {
  #checkov:skip=CKV_AWS_260:The source is CloudFront's origin-facing prefix list, not 0.0.0.0/0.
  security_group_id = aws_security_group.alb.id
  description       = "HTTP from CloudFront's origin-facing addresses"
  prefix_list_id    = data.aws_ec2_managed_prefix_list.cloudfront.id
  ip_protocol       = "tcp"
  from_port         = 80
  to_port           = 80
}

resource "aws_vpc_security_group_egress_rule" "alb_to_web" {
  security_group_id            = aws_security_group.alb.id
  description                  = "HTTP to the web instance"
  referenced_security_group_id = aws_security_group.web.id
  ip_protocol                  = "tcp"
  from_port                    = 80
  to_port                      = 80
}

resource "aws_security_group" "web" {
  name        = "${var.name}-web"
  description = "The web instance: HTTP from the ALB, HTTPS out to AWS APIs (Firehose, SSM)."
  vpc_id      = var.vpc_id
  tags        = var.tags
}

resource "aws_vpc_security_group_ingress_rule" "web_from_alb" {
  #checkov:skip=CKV_AWS_260:The source is the ALB's security group, not 0.0.0.0/0.
  security_group_id            = aws_security_group.web.id
  description                  = "HTTP from the ALB"
  referenced_security_group_id = aws_security_group.alb.id
  ip_protocol                  = "tcp"
  from_port                    = 80
  to_port                      = 80
}

resource "aws_vpc_security_group_egress_rule" "web_to_aws" {
  security_group_id = aws_security_group.web.id
  description       = "HTTPS to AWS APIs and package repositories"
  cidr_ipv4         = "0.0.0.0/0"
  ip_protocol       = "tcp"
  from_port         = 443
  to_port           = 443
}

resource "aws_iam_role" "web" {
  name = "${var.name}-web"
  assume_role_policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect    = "Allow"
      Principal = { Service = "ec2.amazonaws.com" }
      Action    = "sts:AssumeRole"
    }]
  })
  tags = var.tags
}

locals {
  web_policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      {
        Sid      = "SendToFirehose"
        Effect   = "Allow"
        Action   = ["firehose:PutRecord", "firehose:PutRecordBatch"]
        Resource = var.firehose_stream_arn
      },
      {
        # Kinesis Agent's own metrics; PutMetricData has no resource-level permissions.
        Sid       = "AgentMetrics"
        Effect    = "Allow"
        Action    = "cloudwatch:PutMetricData"
        Resource  = "*"
        Condition = { StringEquals = { "cloudwatch:namespace" = "AWSKinesisAgent" } }
      },
    ]
  })
}

resource "aws_iam_role_policy" "web" {
  name   = "web"
  role   = aws_iam_role.web.id
  policy = local.web_policy
}

# Session Manager instead of SSH.
resource "aws_iam_role_policy_attachment" "ssm" {
  role       = aws_iam_role.web.name
  policy_arn = "arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore"
}

resource "aws_iam_instance_profile" "web" {
  name = "${var.name}-web"
  role = aws_iam_role.web.name
}

resource "aws_instance" "web" {
  #checkov:skip=CKV_AWS_88:The instance needs outbound HTTPS (Firehose, SSM, packages) and the demo has no NAT gateway; inbound is only from the ALB, and access is through Session Manager.
  ami                         = data.aws_ssm_parameter.al2023.value
  instance_type               = var.instance_type
  subnet_id                   = var.subnet_ids[0]
  vpc_security_group_ids      = [aws_security_group.web.id]
  iam_instance_profile        = aws_iam_instance_profile.web.name
  associate_public_ip_address = true
  monitoring                  = true
  ebs_optimized               = true
  user_data_replace_on_change = true
  user_data = templatefile("${path.module}/user_data.sh.tftpl", {
    region = data.aws_region.current.name
    agent_json = jsonencode({
      "cloudwatch.emitMetrics" = true
      "firehose.endpoint"      = "firehose.${data.aws_region.current.name}.amazonaws.com"
      flows = [{
        filePattern     = "/var/log/httpd/access_log*"
        deliveryStream  = var.firehose_stream_name
        initialPosition = "START_OF_FILE"
      }]
    })
  })

  metadata_options {
    http_tokens   = "required"
    http_endpoint = "enabled"
  }

  root_block_device {
    encrypted   = true
    volume_type = "gp3"
  }

  tags = merge(var.tags, { Name = "${var.name}-web" })
}

resource "aws_lb" "web" {
  #checkov:skip=CKV2_AWS_20:There is no HTTPS listener to redirect to: viewers get HTTPS from CloudFront, the only client of the ALB.
  #checkov:skip=CKV_AWS_150:The demo stack is meant to be destroyed with terraform destroy.
  #checkov:skip=CKV2_AWS_28:The WAF web ACL is opt-in (var.waf, modules/waf: a web ACL costs more than the demo's web tier); CloudFront is the only way in.
  #checkov:skip=CKV_AWS_91:Access logging is on (access_logs below); checkov misreads the bucket reference.
  name                       = "${var.name}-web"
  load_balancer_type         = "application"
  internal                   = false
  security_groups            = [aws_security_group.alb.id]
  subnets                    = var.subnet_ids
  drop_invalid_header_fields = true
  enable_deletion_protection = false
  access_logs {
    bucket  = var.alb_log_bucket
    prefix  = trimsuffix(var.alb_log_prefix, "/")
    enabled = true
  }
  tags = var.tags
}

resource "aws_lb_target_group" "web" {
  #checkov:skip=CKV_AWS_378:HTTP from the ALB to the instance stays inside the VPC, behind security groups.
  name     = "${var.name}-web"
  port     = 80
  protocol = "HTTP"
  vpc_id   = var.vpc_id
  health_check {
    path    = "/"
    matcher = "200-399"
  }
  tags = var.tags
}

resource "aws_lb_target_group_attachment" "web" {
  target_group_arn = aws_lb_target_group.web.arn
  target_id        = aws_instance.web.id
  port             = 80
}

resource "aws_lb_listener" "http" {
  #checkov:skip=CKV_AWS_2:Only CloudFront reaches the ALB (security group), and viewers get HTTPS from CloudFront; an ALB certificate needs a domain of the deployer's.
  #checkov:skip=CKV_AWS_103:As above: HTTP between CloudFront and the ALB; HTTPS to viewers.
  #checkov:skip=CKV2_AWS_20:As above: there is no HTTPS listener to redirect to.
  load_balancer_arn = aws_lb.web.arn
  port              = 80
  protocol          = "HTTP"
  default_action {
    type             = "forward"
    target_group_arn = aws_lb_target_group.web.arn
  }
}

locals {
  # AWS-managed CloudFront policies.
  caching_disabled          = "4135ea2d-6df8-44a3-9df3-4b5a84be39ad"
  all_viewer_origin_request = "216adef6-5c7f-47e4-b989-5492eafa07d3"
  security_headers          = "67f7725c-6f97-4210-82d7-5512b31e9d03"
}

resource "aws_cloudfront_distribution" "web" {
  #checkov:skip=CKV_AWS_68:A CloudFront web ACL lives in us-east-1, through a provider the stack does not configure; var.waf puts one on the ALB behind it.
  #checkov:skip=CKV2_AWS_47:As above: the opt-in web ACL (with the Log4j rule set) is on the ALB, not on CloudFront.
  #checkov:skip=CKV_AWS_174:The default *.cloudfront.net certificate is used; it negotiates TLS 1.2+ with modern clients, and a custom TLS policy needs a custom certificate.
  #checkov:skip=CKV2_AWS_42:A custom certificate needs a domain of the deployer's.
  #checkov:skip=CKV_AWS_310:One origin; origin failover needs a second one.
  #checkov:skip=CKV_AWS_374:No geo restriction: the demo serves everyone.
  #checkov:skip=CKV_AWS_305:The origin serves / itself; no default root object is needed.
  #checkov:skip=CKV2_AWS_32:A response headers policy is attached (the managed SecurityHeadersPolicy); checkov does not resolve managed policy ids.
  enabled         = true
  comment         = "${var.name} demo web tier"
  is_ipv6_enabled = true
  price_class     = "PriceClass_100"

  origin {
    domain_name = aws_lb.web.dns_name
    origin_id   = "alb"
    custom_origin_config {
      http_port              = 80
      https_port             = 443
      origin_protocol_policy = "http-only"
      origin_ssl_protocols   = ["TLSv1.2"]
    }
  }

  default_cache_behavior {
    target_origin_id           = "alb"
    viewer_protocol_policy     = "redirect-to-https"
    allowed_methods            = ["GET", "HEAD", "OPTIONS", "PUT", "POST", "PATCH", "DELETE"]
    cached_methods             = ["GET", "HEAD"]
    cache_policy_id            = local.caching_disabled
    origin_request_policy_id   = local.all_viewer_origin_request
    response_headers_policy_id = local.security_headers
  }

  logging_config {
    bucket          = var.cloudfront_log_bucket_domain
    prefix          = var.cloudfront_log_prefix
    include_cookies = false
  }

  restrictions {
    geo_restriction {
      restriction_type = "none"
    }
  }

  viewer_certificate {
    cloudfront_default_certificate = true
  }

  tags = var.tags
}

module "guard" {
  source            = "../policy_guard"
  identity_policies = { "web instance role" = local.web_policy }
  encryption        = { "web instance root volume" = aws_instance.web.root_block_device[0].encrypted }
}
