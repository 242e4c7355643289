"""Reusable cdktf constructs: stack base, providers, KMS key, secure bucket, VPC, EKS, IRSA, Helm releases."""
