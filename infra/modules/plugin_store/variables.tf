variable "name" {
  description = "Name prefix."
  type        = string
}

variable "plugins" {
  description = "Built parser components to upload, by plugin name: the path of each .wasm (see `kelk-plugin build`)."
  type        = map(string)
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
