"""The AWS provider as the bootstrap builds it (only infra.bootstrap.aws_services.SERVICES registered) serves
every AWS resource and data source type that any environment's synthesized stacks declare."""

from __future__ import annotations

import json

import pytest

from infra.bootstrap import aws_services
from infra.bootstrap.gotools import PROVIDERS
from infra.tofu.runner import Tofu

pytestmark = pytest.mark.integration


def _aws_types(synthesized) -> dict[str, set[str]]:
    found: dict[str, set[str]] = {"resource": set(), "data": set()}
    for stack in synthesized.manifest["stacks"]:
        for block, types in found.items():
            types |= {t for t in synthesized.stack(stack).get(block, {}) if t.startswith("aws_")}
    return found


def test_every_aws_type_the_stacks_declare_is_served_by_the_built_provider(
    tofu_toolchain, synthesized, tmp_path
):
    required = {"aws": {"source": "hashicorp/aws", "version": PROVIDERS["aws"].version}}
    (tmp_path / "main.tf.json").write_text(json.dumps({"terraform": {"required_providers": required}}))
    tofu = Tofu(tmp_path, "schema", timeout=300)
    tofu.init()
    (schema,) = json.loads(tofu.run("providers", "schema", "-json").output)["provider_schemas"].values()
    served = {"resource": set(schema["resource_schemas"]), "data": set(schema["data_source_schemas"])}

    declared = _aws_types(synthesized)
    assert declared["resource"] and declared["data"]
    for block, types in declared.items():
        missing = sorted(types - served[block])
        assert not missing, f"add their service packages to aws_services.SERVICES: {missing}"
    # The build is cut down: another service's resource is not there.
    assert "aws_sqs_queue" not in served["resource"]


def test_the_cut_down_files_keep_exactly_the_services_named():
    generated = "\n".join(
        [
            "import (",
            '\t"github.com/hashicorp/terraform-provider-aws/internal/service/s3"',
            '\t"github.com/hashicorp/terraform-provider-aws/internal/service/sqs"',
            ")",
            "\tv := []conns.ServicePackage{",
            "\t\ts3.ServicePackage(ctx),",
            "\t\tsqs.ServicePackage(ctx),",
            "\t}",
        ]
    )
    kept = aws_services.service_list(generated, ("s3",))
    assert "service/s3" in kept and "s3.ServicePackage" in kept
    assert "sqs" not in kept

    clients = (
        "package conns\n\nimport (\n"
        '\t"github.com/aws/aws-sdk-go-v2/service/s3"\n'
        '\t"github.com/aws/aws-sdk-go-v2/service/sqs"\n'
        ")\n"
        "\nfunc (c *AWSClient) S3Client(ctx context.Context) *s3.Client {\n\treturn s3c\n}\n"
        "\nfunc (c *AWSClient) SQSClient(ctx context.Context) *sqs.Client {\n\treturn sqsc\n}\n"
    )
    assert aws_services.accessor_names(clients) == {"S3Client", "SQSClient"}
    cut = aws_services.client_accessors(clients, {"S3Client"})
    assert "S3Client" in cut and "service/s3" in cut
    assert "SQS" not in cut and "service/sqs" not in cut
