output "vpc_id" {
  description = "The VPC."
  value       = aws_vpc.this.id
}

output "public_subnet_ids" {
  description = "The two public subnets."
  value       = aws_subnet.public[*].id
}
