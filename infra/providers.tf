provider "aws" {
  region = var.region
  default_tags {
    tags = merge({ Project = "kelk", Stack = var.name }, var.tags)
  }
}
