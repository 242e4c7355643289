"""GitHub Actions' way into an environment's account: the OIDC provider for GitHub's tokens and two roles.

`plan` is read-only (plan review on pull requests, scheduled drift from main): it reads everything and
takes the state lock. `deploy` applies, and only a job running in the environment's GitHub deployment
environment (with its reviewers) can assume it: power-user rights plus IAM limited to this environment's
own roles and policies. Their EKS access entries are made by the cluster (infra/constructs/eks_cluster.py).
"""

from __future__ import annotations

from cdktf_cdktf_provider_aws.iam_openid_connect_provider import IamOpenidConnectProvider
from cdktf_cdktf_provider_aws.iam_role import IamRole
from cdktf_cdktf_provider_aws.iam_role_policy import IamRolePolicy
from cdktf_cdktf_provider_aws.iam_role_policy_attachment import IamRolePolicyAttachment
from constructs import Construct

from infra.config import EnvironmentConfig
from infra.identities import GITHUB_REPOSITORY, ci_role_name

from .iam import AWS_POLICY, policy_document

GITHUB_TOKENS = "token.actions.githubusercontent.com"
# What the stacks do in IAM (roles, their policies, instance profiles, OIDC providers): no more.
IAM_ACTIONS = (
    *(f"{verb}Role" for verb in ("Create", "Delete", "Get", "Update", "Tag", "Untag")),
    "UpdateAssumeRolePolicy",
    "ListRoleTags",
    "PassRole",
    *(f"{verb}RolePolicy" for verb in ("Attach", "Detach", "Put", "Delete", "Get")),
    "ListRolePolicies",
    "ListAttachedRolePolicies",
    "ListInstanceProfilesForRole",
    *(f"{verb}Policy" for verb in ("Create", "Delete", "Get", "Tag", "Untag")),
    *(f"{verb}PolicyVersion" for verb in ("Create", "Delete", "Get")),
    "ListPolicyVersions",
    *(f"{verb}InstanceProfile" for verb in ("Create", "Delete", "Get", "Tag")),
    "AddRoleToInstanceProfile",
    "RemoveRoleFromInstanceProfile",
    *(f"{verb}OpenIDConnectProvider" for verb in ("Create", "Delete", "Get", "Tag", "Untag")),
    "UpdateOpenIDConnectProviderThumbprint",
    "AddClientIDToOpenIDConnectProvider",
)


def github_trust(provider_arn: str, subjects: list[str]) -> str:
    """Trust GitHub's OIDC tokens for this repository's `subjects` (sub claims) only."""
    return policy_document(
        {
            "Effect": "Allow",
            "Principal": {"Federated": provider_arn},
            "Action": "sts:AssumeRoleWithWebIdentity",
            "Condition": {
                "StringEquals": {f"{GITHUB_TOKENS}:aud": "sts.amazonaws.com"},
                "StringLike": {f"{GITHUB_TOKENS}:sub": subjects},
            },
        }
    )


class CiRoles(Construct):
    def __init__(
        self,
        scope: Construct,
        id: str,
        cfg: EnvironmentConfig,
        *,
        state_bucket_arn: str,
        lock_table_arn: str,
        state_key_arn: str,
    ) -> None:
        super().__init__(scope, id)
        provider = IamOpenidConnectProvider(
            self, "github", url=f"https://{GITHUB_TOKENS}", client_id_list=["sts.amazonaws.com"]
        )
        repo = f"repo:{GITHUB_REPOSITORY}"
        lock = {
            "Effect": "Allow",
            "Action": [f"dynamodb:{verb}" for verb in ("GetItem", "PutItem", "DeleteItem", "DescribeTable")],
            "Resource": lock_table_arn,
        }
        state_key = {
            "Effect": "Allow",
            "Action": ["kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey"],
            "Resource": state_key_arn,
        }
        self.plan = self._role(
            "plan",
            cfg,
            provider.arn,
            [f"{repo}:pull_request", f"{repo}:ref:refs/heads/main"],
            managed="ReadOnlyAccess",
            statements=[lock, state_key],
        )
        account = f"arn:aws:iam::{cfg.account_id}"
        own = f"waardhaven-{cfg.name}-*"
        self.deploy = self._role(
            "deploy",
            cfg,
            provider.arn,
            [f"{repo}:environment:{cfg.name}"],
            managed="PowerUserAccess",
            statements=[
                lock,
                state_key,
                {
                    "Effect": "Allow",
                    "Action": ["s3:GetObject", "s3:PutObject", "s3:DeleteObject", "s3:ListBucket"],
                    "Resource": [state_bucket_arn, f"{state_bucket_arn}/*"],
                },
                {
                    "Sid": "ThisEnvironmentsIdentities",
                    "Effect": "Allow",
                    "Action": [f"iam:{action}" for action in IAM_ACTIONS],
                    "Resource": [
                        f"{account}:role/{own}",
                        f"{account}:policy/{own}",
                        f"{account}:instance-profile/{own}",
                        f"{account}:oidc-provider/*",
                    ],
                },
            ],
        )

    def _role(
        self,
        purpose: str,
        cfg: EnvironmentConfig,
        provider_arn: str,
        subjects: list[str],
        *,
        managed: str,
        statements: list[dict],
    ) -> IamRole:
        role = IamRole(
            self,
            purpose,
            name=ci_role_name(cfg.name, purpose),
            assume_role_policy=github_trust(provider_arn, subjects),
            max_session_duration=3600 * 2,  # a deploy of every stack runs well inside two hours
        )
        IamRolePolicyAttachment(self, f"{purpose}_managed", role=role.name, policy_arn=AWS_POLICY + managed)
        IamRolePolicy(self, f"{purpose}_state", role=role.id, policy=policy_document(*statements))
        return role
