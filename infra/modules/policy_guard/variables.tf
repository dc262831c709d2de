variable "resource_policies" {
  description = "Resource policies (bucket, domain, queue) by name, as JSON. None may allow everyone without a condition."
  type        = map(string)
  default     = {}
  validation {
    condition = alltrue(flatten([
      for name, policy in var.resource_policies : [
        for s in flatten([jsondecode(policy).Statement]) :
        !(try(s.Effect, "") == "Allow"
          && (try(s.Principal == "*", false) || try(contains(flatten([s.Principal.AWS]), "*"), false))
        && try(length(s.Condition), 0) == 0)
      ]
    ]))
    error_message = "A resource policy allows everyone (Principal \"*\") without a condition."
  }
}

variable "identity_policies" {
  description = "IAM policies of the stack's roles by name, as JSON. None may grant a whole service (or everything) on every resource."
  type        = map(string)
  default     = {}
  validation {
    condition = alltrue(flatten([
      for name, policy in var.identity_policies : [
        for s in flatten([jsondecode(policy).Statement]) :
        !(try(s.Effect, "") == "Allow"
          && length(setintersection(toset(flatten([try(s.Action, [])])), toset(["*", "s3:*", "es:*", "iam:*", "sqs:*", "firehose:*", "lambda:*"]))) > 0
        && contains(flatten([try(s.Resource, [])]), "*"))
      ]
    ]))
    error_message = "An IAM policy grants a whole service (s3:*, es:*, …) or everything on Resource \"*\"."
  }
}

variable "encryption" {
  description = "Encryption settings that must all be on, by name (at rest, node to node, HTTPS only…)."
  type        = map(bool)
  default     = {}
  validation {
    condition     = alltrue(values(var.encryption))
    error_message = "An encryption setting is off."
  }
}
