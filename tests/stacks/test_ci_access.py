"""GitHub Actions' roles per environment: trusted only for this repository's plan (pull requests, main) and
deploy (the environment's deployment environment) tokens, least privilege, and admitted to the cluster."""

from __future__ import annotations

import json

import pytest

from infra.config import load_environment
from infra.identities import GITHUB_REPOSITORY
from tests.stacks.synth_helpers import AWS_ENVS, ENVS, resource, resources

GITHUB = "token.actions.githubusercontent.com"


def _trust(role: dict) -> dict:
    (statement,) = json.loads(role["assume_role_policy"])["Statement"]
    return statement


@pytest.mark.parametrize("env", AWS_ENVS)
def test_plan_role_trusts_pull_requests_and_main_and_deploy_role_only_its_environment(synthesized, env):
    stack = synthesized.stack(f"{env}-state")
    assert resource(stack, "aws_iam_openid_connect_provider", url=f"https://{GITHUB}")
    plan = _trust(resource(stack, "aws_iam_role", name=f"waardhaven-{env}-ci-plan"))
    deploy = _trust(resource(stack, "aws_iam_role", name=f"waardhaven-{env}-ci-deploy"))
    repo = f"repo:{GITHUB_REPOSITORY}"
    assert plan["Condition"]["StringLike"][f"{GITHUB}:sub"] == [
        f"{repo}:pull_request",
        f"{repo}:ref:refs/heads/main",
    ]
    assert deploy["Condition"]["StringLike"][f"{GITHUB}:sub"] == [f"{repo}:environment:{env}"]
    for trust in (plan, deploy):
        assert trust["Action"] == "sts:AssumeRoleWithWebIdentity"
        assert trust["Condition"]["StringEquals"] == {f"{GITHUB}:aud": "sts.amazonaws.com"}


@pytest.mark.parametrize("env", AWS_ENVS)
def test_plan_role_reads_and_deploy_role_manages_only_this_environments_identities(synthesized, env):
    stack = synthesized.stack(f"{env}-state")
    managed = {
        a["policy_arn"].rsplit("/", 1)[1] for a in resources(stack, "aws_iam_role_policy_attachment").values()
    }
    assert managed == {"ReadOnlyAccess", "PowerUserAccess"}
    statements = [
        s
        for p in resources(stack, "aws_iam_role_policy").values()
        for s in json.loads(p["policy"])["Statement"]
    ]
    iam = [s for s in statements if any(a.startswith("iam:") for a in s["Action"])]
    (identities,) = iam
    assert "iam:*" not in identities["Action"]
    account = load_environment(env).account_id
    assert all(r.startswith(f"arn:aws:iam::{account}:") for r in identities["Resource"])
    assert f"arn:aws:iam::{account}:role/waardhaven-{env}-*" in identities["Resource"]


@pytest.mark.parametrize("env", AWS_ENVS)
def test_ci_roles_get_cluster_access_plan_viewing_and_deploy_administering(synthesized, env):
    stack = synthesized.stack(f"{env}-eks")
    account = load_environment(env).account_id
    policies = {
        a["principal_arn"]: a["policy_arn"].rsplit("/", 1)[1]
        for a in resources(stack, "aws_eks_access_policy_association").values()
    }
    assert policies == {
        f"arn:aws:iam::{account}:role/waardhaven-{env}-ci-plan": "AmazonEKSAdminViewPolicy",
        f"arn:aws:iam::{account}:role/waardhaven-{env}-ci-deploy": "AmazonEKSClusterAdminPolicy",
    }
    assert {e["principal_arn"] for e in resources(stack, "aws_eks_access_entry").values()} == set(policies)


@pytest.mark.parametrize("env", sorted(set(ENVS) - set(AWS_ENVS)))
def test_emulated_environments_have_no_ci_access(synthesized, env):
    assert not resources(synthesized.stack(f"{env}-state"), "aws_iam_openid_connect_provider")
    assert not resources(synthesized.stack(f"{env}-eks"), "aws_eks_access_entry")
