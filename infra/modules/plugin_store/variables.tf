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
  description = "Which objects each plugin parses: bucket, key glob, plugin, index prefix and plugin options."
  type = list(object({
    bucket       = string
    key_glob     = string
    plugin       = string
    index_prefix = string
    options      = optional(map(string), {})
  }))
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
