"""IAM role for one Kubernetes service account (IRSA), trusted only through the cluster's OIDC provider."""

from __future__ import annotations

from cdktf import Fn
from cdktf_cdktf_provider_aws.data_aws_iam_policy_document import (
    DataAwsIamPolicyDocument,
    DataAwsIamPolicyDocumentStatement,
    DataAwsIamPolicyDocumentStatementCondition,
    DataAwsIamPolicyDocumentStatementPrincipals,
)
from cdktf_cdktf_provider_aws.iam_role import IamRole
from cdktf_cdktf_provider_aws.iam_role_policy import IamRolePolicy
from cdktf_cdktf_provider_aws.iam_role_policy_attachment import IamRolePolicyAttachment
from constructs import Construct

from .iam import policy_document


class IrsaRole(Construct):
    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        name: str,
        oidc_provider_arn: str,
        oidc_issuer_url: str,
        namespace: str,
        service_account: str,
        statements: list[dict] | None = None,
        managed_policy_arns: list[str] | None = None,
    ) -> None:
        super().__init__(scope, id)
        # Rendered by Terraform: the issuer host is only known once the cluster exists.
        issuer = Fn.replace(oidc_issuer_url, "https://", "")
        trust = DataAwsIamPolicyDocument(
            self,
            "trust",
            statement=[
                DataAwsIamPolicyDocumentStatement(
                    actions=["sts:AssumeRoleWithWebIdentity"],
                    principals=[
                        DataAwsIamPolicyDocumentStatementPrincipals(
                            type="Federated", identifiers=[oidc_provider_arn]
                        )
                    ],
                    condition=[
                        DataAwsIamPolicyDocumentStatementCondition(
                            test="StringEquals",
                            variable=f"{issuer}:sub",
                            values=[f"system:serviceaccount:{namespace}:{service_account}"],
                        ),
                        DataAwsIamPolicyDocumentStatementCondition(
                            test="StringEquals", variable=f"{issuer}:aud", values=["sts.amazonaws.com"]
                        ),
                    ],
                )
            ],
        )
        self.role = IamRole(self, "role", name=name, assume_role_policy=trust.json)
        self.arn = self.role.arn
        if statements:
            IamRolePolicy(self, "policy", role=self.role.id, policy=policy_document(*statements))
        for index, arn in enumerate(managed_policy_arns or []):
            IamRolePolicyAttachment(self, f"managed_{index}", role=self.role.name, policy_arn=arn)
