# The security invariants (modules/policy_guard) refuse deliberately bad variants: a policy open
# to everyone, dropped encryption, an IAM policy granting a whole service on every resource.

run "open_resource_policy_is_refused" {
  command = plan
  module {
    source = "./modules/policy_guard"
  }
  variables {
    resource_policies = {
      "domain" = jsonencode({ Statement = [{ Effect = "Allow", Principal = "*", Action = "es:*", Resource = "*" }] })
    }
  }
  expect_failures = [var.resource_policies]
}

run "everyone_as_aws_principal_is_refused" {
  command = plan
  module {
    source = "./modules/policy_guard"
  }
  variables {
    resource_policies = {
      "bucket" = jsonencode({ Statement = [
        { Effect = "Deny", Principal = "*", Action = "s3:*", Resource = "*", Condition = { Bool = { "aws:SecureTransport" = "false" } } },
        { Effect = "Allow", Principal = { AWS = ["arn:aws:iam::123456789012:root", "*"] }, Action = "s3:GetObject", Resource = "arn:aws:s3:::b/*" },
      ] })
    }
  }
  expect_failures = [var.resource_policies]
}

run "everyone_under_a_condition_is_allowed" {
  command = plan
  module {
    source = "./modules/policy_guard"
  }
  variables {
    resource_policies = {
      "domain" = jsonencode({ Statement = [{ Effect = "Allow", Principal = { AWS = "*" }, Action = "es:ESHttpGet", Resource = "arn:aws:es:eu-west-1:123456789012:domain/d/*", Condition = { IpAddress = { "aws:SourceIp" = ["203.0.113.0/24"] } } }] })
    }
  }
}

run "dropped_encryption_is_refused" {
  command = plan
  module {
    source = "./modules/policy_guard"
  }
  variables {
    encryption = { "encryption at rest" = false, "HTTPS only" = true }
  }
  expect_failures = [var.encryption]
}

run "s3_star_on_everything_is_refused" {
  command = plan
  module {
    source = "./modules/policy_guard"
  }
  variables {
    identity_policies = {
      "host role" = jsonencode({ Statement = [{ Effect = "Allow", Action = "s3:*", Resource = "*" }] })
    }
  }
  expect_failures = [var.identity_policies]
}

run "es_star_on_everything_is_refused" {
  command = plan
  module {
    source = "./modules/policy_guard"
  }
  variables {
    identity_policies = {
      "host role" = jsonencode({ Statement = [
        { Effect = "Allow", Action = ["s3:GetObject"], Resource = ["arn:aws:s3:::logs/*"] },
        { Effect = "Allow", Action = ["es:ESHttpPost", "es:*"], Resource = ["*"] },
      ] })
    }
  }
  expect_failures = [var.identity_policies]
}

run "scoped_service_wildcards_are_allowed" {
  command = plan
  module {
    source = "./modules/policy_guard"
  }
  variables {
    identity_policies = {
      "host role" = jsonencode({ Statement = [{ Effect = "Allow", Action = "es:*", Resource = "arn:aws:es:eu-west-1:123456789012:domain/d/*" }] })
    }
  }
}
