"""IAM policy documents as plain dicts, rendered deterministically."""

from __future__ import annotations

import json

AWS_POLICY = "arn:aws:iam::aws:policy/"  # prefix of AWS-managed policy ARNs


def policy_document(*statements: dict) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)}, sort_keys=True)


def service_trust(service: str) -> str:
    """Trust policy letting an AWS service (e.g. "eks.amazonaws.com") assume the role."""
    return policy_document(
        {"Effect": "Allow", "Principal": {"Service": service}, "Action": "sts:AssumeRole"},
    )
