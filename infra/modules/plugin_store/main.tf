# The plugin store: a versioned bucket holding the parser components (keyed by their sha256),
# their precompiled artifacts for the host's architecture when given, and the routing config the host reads at cold start and re-reads when its ETag changes.
# Shipping a new parser means uploading it and changing the config: no redeploy of the host.

module "bucket" {
  source        = "../log_bucket"
  name          = "${var.name}-plugins"
  delivery      = "none"
  force_destroy = var.force_destroy
  retention     = { infrequent_access_after_days = 30, glacier_after_days = 365, expire_after_days = 3650 }
  tags          = var.tags
}

locals {
  plugins = { for name, path in var.plugins : name => {
    sha256 = filesha256(path)
    key    = "plugins/${name}/${filesha256(path)}.wasm"
    path   = path
  } }
  # Precompiled artifacts sit beside their component, named by its sha256 and the target.
  precompiled = { for name, path in var.precompiled : name => {
    key  = "plugins/${name}/${local.plugins[name].sha256}.${var.precompiled_target}.cwasm"
    path = path
  } }
  routing_config = jsonencode({
    version = 1
    plugins = { for name, p in local.plugins : name => merge(
      { key = p.key, sha256 = p.sha256 },
      contains(keys(local.precompiled), name) ? {
        precompiled_key    = local.precompiled[name].key
        precompiled_sha256 = filesha256(local.precompiled[name].path)
      } : {},
    ) }
    # The host reads absent and null differently: only the fields a route has are written.
    routes = [for r in var.routes : { for k, v in r : k => v if v != null }]
  })
  unknown_plugins = sort(distinct([for r in var.routes : r.plugin if(r.plugin == null ? false : !contains(keys(var.plugins), r.plugin))]))
}

resource "aws_s3_object" "plugin" {
  for_each     = local.plugins
  bucket       = module.bucket.id
  key          = each.value.key
  source       = each.value.path
  source_hash  = each.value.sha256
  content_type = "application/wasm"
  metadata     = { sha256 = each.value.sha256 }
  tags         = var.tags
}

resource "aws_s3_object" "precompiled" {
  for_each     = local.precompiled
  bucket       = module.bucket.id
  key          = each.value.key
  source       = each.value.path
  source_hash  = filemd5(each.value.path)
  content_type = "application/octet-stream"
  tags         = var.tags
}

resource "aws_s3_object" "routing_config" {
  bucket       = module.bucket.id
  key          = "routing.json"
  content      = local.routing_config
  content_type = "application/json"
  tags         = var.tags
  # The config names plugins by key: upload them first.
  depends_on = [aws_s3_object.plugin, aws_s3_object.precompiled]

  lifecycle {
    precondition {
      condition     = length(local.unknown_plugins) == 0
      error_message = "Routes name plugins that are not uploaded: ${join(", ", local.unknown_plugins)}."
    }
  }
}
