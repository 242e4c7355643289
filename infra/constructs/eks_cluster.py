"""EKS cluster: pinned version, managed node groups, control-plane logs, KMS secrets, IRSA OIDC, EBS CSI."""

from __future__ import annotations

from cdktf import TerraformResourceLifecycle, Token
from cdktf_cdktf_provider_aws.cloudwatch_log_group import CloudwatchLogGroup
from cdktf_cdktf_provider_aws.eks_access_entry import EksAccessEntry
from cdktf_cdktf_provider_aws.eks_access_policy_association import EksAccessPolicyAssociation
from cdktf_cdktf_provider_aws.eks_addon import EksAddon
from cdktf_cdktf_provider_aws.eks_cluster import EksCluster
from cdktf_cdktf_provider_aws.eks_node_group import EksNodeGroup, EksNodeGroupTaint
from cdktf_cdktf_provider_aws.iam_openid_connect_provider import IamOpenidConnectProvider
from cdktf_cdktf_provider_aws.iam_role import IamRole
from cdktf_cdktf_provider_aws.iam_role_policy import IamRolePolicy
from cdktf_cdktf_provider_aws.iam_role_policy_attachment import IamRolePolicyAttachment
from cdktf_cdktf_provider_aws.launch_template import (
    LaunchTemplate,
    LaunchTemplateBlockDeviceMappings,
    LaunchTemplateTagSpecifications,
)
from constructs import Construct

from infra.config import EnvironmentConfig
from infra.identities import ci_role_arn

from .iam import AWS_POLICY, policy_document, service_trust
from .irsa_role import IrsaRole

CONTROL_PLANE_LOGS = ["api", "audit", "authenticator", "controllerManager", "scheduler"]

# Node label and taint key the Spark and Flink pods select on (docs/requirements.md#infrastructure).
WORKLOAD_LABEL = "workload-type"
# A dedicated group's taint effect, as EKS names it and as a pod's toleration names it.
DEDICATED_TAINT_EFFECT = ("NO_SCHEDULE", "NoSchedule")


def dedicated_placement(group_name: str) -> dict:
    """A pod spec's nodeSelector and tolerations that put it on the dedicated node group `group_name`."""
    return {
        "nodeSelector": {WORKLOAD_LABEL: group_name},
        "tolerations": [
            {
                "key": WORKLOAD_LABEL,
                "operator": "Equal",
                "value": group_name,
                "effect": DEDICATED_TAINT_EFFECT[1],
            }
        ],
    }


NODE_POLICIES = ["AmazonEKSWorkerNodePolicy", "AmazonEKS_CNI_Policy", "AmazonEC2ContainerRegistryReadOnly"]


class Cluster(Construct):
    def __init__(
        self,
        scope: Construct,
        id: str,
        cfg: EnvironmentConfig,
        *,
        subnet_ids: list[str],
        secrets_key_arn: str,
        logs_key_arn: str,
    ) -> None:
        super().__init__(scope, id)
        name = cfg.cluster_name
        cluster_role = IamRole(
            self,
            "cluster_role",
            name=f"{name}-cluster",
            assume_role_policy=service_trust("eks.amazonaws.com"),
        )
        cluster_policy = IamRolePolicyAttachment(
            self, "cluster_policy", role=cluster_role.name, policy_arn=f"{AWS_POLICY}AmazonEKSClusterPolicy"
        )
        secrets_policy = IamRolePolicy(
            self,
            "cluster_secrets_key",
            role=cluster_role.id,
            policy=policy_document(
                {
                    "Effect": "Allow",
                    "Action": ["kms:Decrypt", "kms:DescribeKey", "kms:Encrypt", "kms:ListGrants"],
                    "Resource": secrets_key_arn,
                }
            ),
        )
        # Created here, not by EKS, so it has a retention and is removed with the cluster.
        log_group = CloudwatchLogGroup(
            self,
            "control_plane_logs",
            name=cfg.control_plane_log_group,
            retention_in_days=cfg.eks.log_retention_days,
            kms_key_id=logs_key_arn,
        )
        self.cluster = EksCluster(
            self,
            "cluster",
            name=name,
            version=cfg.eks.kubernetes_version,
            role_arn=cluster_role.arn,
            vpc_config={
                "subnet_ids": subnet_ids,
                "endpoint_private_access": True,
                "endpoint_public_access": cfg.eks.endpoint_public_access,
                "public_access_cidrs": cfg.eks.public_access_cidrs or None,
            },
            access_config={
                "authentication_mode": "API_AND_CONFIG_MAP",
                "bootstrap_cluster_creator_admin_permissions": True,
            },
            enabled_cluster_log_types=CONTROL_PLANE_LOGS,
            encryption_config={"resources": ["secrets"], "provider": {"key_arn": secrets_key_arn}},
            deletion_protection=True if cfg.features.deletion_protection else None,
            lifecycle=TerraformResourceLifecycle(prevent_destroy=True)
            if cfg.features.deletion_protection
            else None,
            depends_on=[cluster_policy, secrets_policy, log_group],
        )
        self.oidc_issuer_url = self.cluster.identity.get(0).oidc.get(0).issuer
        self.oidc_provider = IamOpenidConnectProvider(
            self, "oidc", url=self.oidc_issuer_url, client_id_list=["sts.amazonaws.com"]
        )
        self.node_groups = self._node_groups(cfg, subnet_ids)
        if cfg.features.eks_addons:
            self._ebs_csi_driver(cfg)
        if cfg.features.ci_access:
            self._ci_access(cfg)

    def _node_groups(self, cfg: EnvironmentConfig, subnet_ids: list[str]) -> list[EksNodeGroup]:
        node_role = IamRole(
            self,
            "node_role",
            name=f"{cfg.cluster_name}-node",
            assume_role_policy=service_trust("ec2.amazonaws.com"),
        )
        attachments = [
            IamRolePolicyAttachment(
                self, f"node_{policy}", role=node_role.name, policy_arn=f"{AWS_POLICY}{policy}"
            )
            for policy in NODE_POLICIES
        ]
        groups = []
        for group_name, group in cfg.eks.node_groups.items():
            template = self._launch_template(cfg, group_name, group.disk_size_gib)
            taints = (
                [EksNodeGroupTaint(key=WORKLOAD_LABEL, value=group_name, effect=DEDICATED_TAINT_EFFECT[0])]
                if group.dedicated
                else None
            )
            groups.append(
                EksNodeGroup(
                    self,
                    f"nodes_{group_name}",
                    cluster_name=self.cluster.name,
                    node_group_name=group_name,
                    node_role_arn=node_role.arn,
                    subnet_ids=subnet_ids,
                    instance_types=group.instance_types,
                    capacity_type=group.capacity_type,
                    launch_template={"id": template.id, "version": Token.as_string(template.latest_version)},
                    scaling_config={
                        "min_size": group.min_size,
                        "desired_size": group.desired_size,
                        "max_size": group.max_size,
                    },
                    labels={WORKLOAD_LABEL: group_name},
                    taint=taints,
                    # The cluster autoscaler owns the running size once the group exists.
                    lifecycle=TerraformResourceLifecycle(ignore_changes=["scaling_config[0].desired_size"]),
                    depends_on=attachments,
                )
            )
        return groups

    def _launch_template(self, cfg: EnvironmentConfig, group_name: str, disk_size_gib: int) -> LaunchTemplate:
        """Encrypted gp3 root volume; IMDSv2 only, out of reach of pods (they use IRSA); environment tags
        on what the group launches (instances, volumes, ENIs), which provider default_tags do not reach."""
        return LaunchTemplate(
            self,
            f"nodes_{group_name}_template",
            name=f"{cfg.cluster_name}-{group_name}",
            block_device_mappings=[
                LaunchTemplateBlockDeviceMappings(
                    device_name="/dev/xvda",
                    ebs={
                        "volume_size": disk_size_gib,
                        "volume_type": "gp3",
                        "encrypted": "true",
                        "delete_on_termination": "true",
                    },
                )
            ],
            metadata_options={
                "http_tokens": "required",
                "http_put_response_hop_limit": 1,
                "http_endpoint": "enabled",
            },
            tag_specifications=[
                LaunchTemplateTagSpecifications(
                    resource_type=kind, tags={**cfg.default_tags, "node-group": group_name}
                )
                for kind in ("instance", "volume", "network-interface")
            ],
        )

    def _ci_access(self, cfg: EnvironmentConfig) -> None:
        """The CI roles (infra/constructs/ci_access.py) on the Kubernetes API: the plan role reads (secrets
        included, where Helm keeps its releases), so operators/platform plans work; the deploy role
        administers."""
        policies = {"plan": "AmazonEKSAdminViewPolicy", "deploy": "AmazonEKSClusterAdminPolicy"}
        for purpose, policy in policies.items():
            principal = ci_role_arn(cfg.account_id, cfg.name, purpose)
            cluster = self.cluster.name
            entry = EksAccessEntry(self, f"ci_{purpose}", cluster_name=cluster, principal_arn=principal)
            EksAccessPolicyAssociation(
                self,
                f"ci_{purpose}_policy",
                cluster_name=cluster,
                principal_arn=principal,
                policy_arn=f"arn:aws:eks::aws:cluster-access-policy/{policy}",
                access_scope={"type": "cluster"},
                depends_on=[entry],
            )

    def _ebs_csi_driver(self, cfg: EnvironmentConfig) -> None:
        role = IrsaRole(
            self,
            "ebs_csi_role",
            name=f"{cfg.cluster_name}-ebs-csi",
            oidc_provider_arn=self.oidc_provider.arn,
            oidc_issuer_url=self.oidc_issuer_url,
            namespace="kube-system",
            service_account="ebs-csi-controller-sa",
            managed_policy_arns=[f"{AWS_POLICY}service-role/AmazonEBSCSIDriverPolicy"],
        )
        EksAddon(
            self,
            "ebs_csi",
            cluster_name=self.cluster.name,
            addon_name="aws-ebs-csi-driver",
            addon_version=cfg.eks.ebs_csi_driver_version,
            service_account_role_arn=role.arn,
            resolve_conflicts_on_create="OVERWRITE",
            resolve_conflicts_on_update="OVERWRITE",
            depends_on=self.node_groups,
        )
