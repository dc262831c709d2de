variable "name" {
  description = "Name prefix."
  type        = string
}

variable "plugins" {
  description = "Built parser components to upload, by plugin name: the path of each .wasm (see `kelk-plugin build`)."
  type        = map(string)
}

variable "precompiled" {
  description = "Precompiled artifacts (.cwasm) of the plugins for the host's architecture, by plugin name; the host compiles a plugin itself when it has none."
  type        = map(string)
  default     = {}
  validation {
    condition     = alltrue([for name in keys(var.precompiled) : contains(keys(var.plugins), name)])
    error_message = "A precompiled artifact names a plugin that is not uploaded."
  }
}

variable "precompiled_target" {
  description = "The target the artifacts were compiled for (the Lambda's architecture)."
  type        = string
  default     = "aarch64-unknown-linux-gnu"
}

variable "routes" {
  description = "Which objects (bucket and key glob), Firehose streams (delivery_stream glob) or CloudWatch Logs log groups (log_group_glob) each plugin parses, with the index prefix and plugin options. Only a log-group route may leave the plugin out."
  type = list(object({
    bucket          = optional(string)
    key_glob        = optional(string)
    delivery_stream = optional(string)
    log_group_glob  = optional(string)
    plugin          = optional(string)
    index_prefix    = optional(string)
    options         = optional(map(string), {})
  }))
  validation {
    condition = alltrue([for r in var.routes :
      (r.bucket == null) == (r.key_glob == null)
    && (r.key_glob != null ? 1 : 0) + (r.delivery_stream != null ? 1 : 0) + (r.log_group_glob != null ? 1 : 0) == 1])
    error_message = "A route has either bucket and key_glob, or delivery_stream, or log_group_glob."
  }
  validation {
    condition     = alltrue([for r in var.routes : r.plugin != null || r.log_group_glob != null])
    error_message = "A route to objects or a delivery stream names its plugin."
  }
}

variable "force_destroy" {
  description = "Let terraform destroy the bucket with its objects."
  type        = bool
  default     = false
}

variable "tags" {
  description = "Tags."
  type        = map(string)
  default     = {}
}
