"""moto's server with the behaviours the AWS provider 6.x needs and moto 5.2 lacks.

- S3 tags on create: the provider sends a new bucket's tags inside CreateBucketConfiguration; moto ignores
  them, so every tagged bucket would show a tag diff after its first apply. Here they are stored as
  PutBucketTagging would store them.
- EKS access config: moto drops a cluster's accessConfig, so every plan would see
  bootstrap_cluster_creator_admin_permissions change, which forces replacing the cluster. Here it is kept
  and returned by DescribeCluster.
- EKS node groups: moto gives every node group an SSH remote_access it was never asked for, which forces
  replacing node groups that use a launch template on every plan. Here a node group has none unless given.
- EC2 launch templates: moto copies the template's own tags (TagSpecifications of resource type
  launch-template) into its LaunchTemplateData, where AWS never puts them, so every plan would update it.
- S3 bucket policies: moto evaluates a policy's statements without their conditions, so the TLS-only
  statement (Deny unless aws:SecureTransport) denies every object request. The emulator stands in for
  AWS's HTTPS endpoint, so that statement is left out of evaluation; the stored policy is unchanged.
- EC2 NAT gateways: AWS deletes a NAT gateway's network interface with it and disassociates (does not
  release) its Elastic IP; moto only marks the gateway deleted, so its ENI outlived the destroyed VPC.
- KMS AWS managed keys: the key behind an `alias/aws/<service>` alias (created on first use, e.g. by an
  encrypted DynamoDB table) is AWS managed: AWS never deletes it and nobody can schedule its deletion.
  moto reports it as a customer key, which reads as our leftover after a teardown. Here it is AWS's.
- S3 access logging: before enabling it, moto looks in the target bucket's policy for a statement letting
  the logging service write, reading every statement's Principal as a mapping; a `"Principal": "*"`
  statement (the TLS-only deny) makes PutBucketLogging fail with a 500, which the provider retries for
  ever. Here only statements with a mapping Principal are looked at (the others cannot name the service).

Run as `python -m infra.emulator.moto_server -H 127.0.0.1 -p PORT`.
"""

from __future__ import annotations

import sys
from typing import Any


def _tags_in_create_body(body: bytes | str | None) -> dict[str, str]:
    import xmltodict

    if not body:
        return {}
    config = xmltodict.parse(body).get("CreateBucketConfiguration") or {}
    tags = (config.get("Tags") or {}).get("Tag") or []
    return {tag["Key"]: tag.get("Value") or "" for tag in (tags if isinstance(tags, list) else [tags])}


def store_tags_on_create() -> None:
    from moto.s3.responses import S3Response

    create_or_configure = S3Response._bucket_response_put

    def bucket_put(self: Any, request: Any, bucket_name: str, querystring: dict[str, Any]) -> Any:
        response = create_or_configure(self, request, bucket_name, querystring)
        if not querystring:  # a plain PUT on the bucket is CreateBucket
            tags = _tags_in_create_body(self.body)
            if tags:
                self.backend.put_bucket_tagging(bucket_name, tags)
        return response

    S3Response._bucket_response_put = bucket_put


def keep_eks_access_config() -> None:
    from moto.eks.responses import EKSResponse

    create_cluster = EKSResponse.create_cluster

    def create_keeping_access_config(self: Any) -> Any:
        result = create_cluster(self)
        access = self._get_param("accessConfig")
        if access:
            # moto serializes a cluster from its attributes by the API's (snake-cased) member names.
            self.eks_backend.clusters[self._get_param("name")].access_config = access
        return result

    EKSResponse.create_cluster = create_keeping_access_config


def no_default_node_group_remote_access() -> None:
    import moto.eks.models

    moto.eks.models.DEFAULT_REMOTE_ACCESS = None


def launch_template_tags_stay_on_the_template() -> None:
    from moto.ec2.models.launch_templates import LaunchTemplateBackend

    create = LaunchTemplateBackend.create_launch_template

    def create_without_own_tags_in_data(self: Any, name, description, template_data, tag_spec) -> Any:
        specs = template_data.get("TagSpecifications")
        if specs:
            template_data["TagSpecifications"] = [
                s for s in specs if s.get("ResourceType") != "launch-template"
            ]
        return create(self, name, description, template_data, tag_spec)

    LaunchTemplateBackend.create_launch_template = create_without_own_tags_in_data


def _insecure_transport_deny(statement: dict) -> bool:
    condition = statement.get("Condition") or {}
    return statement.get("Effect") == "Deny" and "aws:SecureTransport" in (condition.get("Bool") or {})


def evaluate_bucket_policies_as_over_tls() -> None:
    import json

    from moto.iam.access_control import IAMPolicy, PermissionResult
    from moto.s3.models import FakeBucket

    def get_permission(self: Any, action: str, resource: str) -> Any:
        if self.policy is None:
            return PermissionResult.NEUTRAL
        policy = json.loads(self.policy)
        statements = policy.get("Statement") or []
        statements = [statements] if isinstance(statements, dict) else statements
        policy["Statement"] = [s for s in statements if not _insecure_transport_deny(s)]
        return IAMPolicy(json.dumps(policy)).is_action_permitted(action, resource)

    FakeBucket.get_permission = get_permission


def nat_gateway_deletion_removes_its_interface() -> None:
    from moto.ec2.models.nat_gateways import NatGatewayBackend

    delete = NatGatewayBackend.delete_nat_gateway

    def delete_with_interface(self: Any, nat_gateway_id: str) -> Any:
        gateway = delete(self, nat_gateway_id)
        eni = gateway._eni
        for address in self.addresses:
            if address.eni is eni and address.association_id:
                self.disassociate_address(association_id=address.association_id)
        self.enis.pop(eni.id, None)
        return gateway

    NatGatewayBackend.delete_nat_gateway = delete_with_interface


def service_alias_keys_are_aws_managed() -> None:
    from moto.kms.models import KmsBackend

    create_alias = KmsBackend.create_alias

    def create_marking_aws_managed(self: Any, target_key_id: str, alias_name: str) -> Any:
        alias = create_alias(self, target_key_id, alias_name)
        if alias_name.startswith("alias/aws/"):
            self.keys[self.get_key_id(target_key_id)].key_manager = "AWS"
        return alias

    KmsBackend.create_alias = create_marking_aws_managed


def access_log_target_check_skips_wildcard_principals() -> None:
    import json
    from types import SimpleNamespace

    from moto.s3.models import FakeBucket

    check = FakeBucket._log_permissions_enabled_policy

    def check_mapping_principals(target_bucket: Any, target_prefix: str | None) -> bool:
        if not target_bucket.policy:
            return False
        statements = json.loads(target_bucket.policy)["Statement"]
        statements = [statements] if isinstance(statements, dict) else statements
        policy = {"Statement": [s for s in statements if isinstance(s.get("Principal"), dict)]}
        view = SimpleNamespace(
            policy=json.dumps(policy).encode(), partition=target_bucket.partition, name=target_bucket.name
        )
        return check(view, target_prefix)

    FakeBucket._log_permissions_enabled_policy = staticmethod(check_mapping_principals)


PATCHES = (
    store_tags_on_create,
    keep_eks_access_config,
    no_default_node_group_remote_access,
    launch_template_tags_stay_on_the_template,
    evaluate_bucket_policies_as_over_tls,
    nat_gateway_deletion_removes_its_interface,
    service_alias_keys_are_aws_managed,
    access_log_target_check_skips_wildcard_principals,
)


if __name__ == "__main__":
    from moto.server import main

    for patch in PATCHES:
        patch()
    sys.exit(main(sys.argv[1:]))
