# The stack's security invariants, in one place. Each module hands its final policies and
# settings to this module; its variable validations fail the plan (or, for values known only
# after apply, the apply) when an invariant is broken. `terraform test` runs them against the
# real stack and against deliberately bad variants (tests/guard.tftest.hcl).
