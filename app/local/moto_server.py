"""moto's server with two behaviours the AWS provider 6.x needs and moto 5.2 lacks.

- S3 tags on create: the provider sends a new bucket's tags inside CreateBucketConfiguration; moto ignores
  them, so every tagged bucket would show a tag diff after its first apply. Here they are stored as
  PutBucketTagging would store them.
- EKS access config: moto drops a cluster's accessConfig, so every plan would see
  bootstrap_cluster_creator_admin_permissions change, which forces replacing the cluster. Here it is kept
  and returned by DescribeCluster.

Run as `python -m app.local.moto_server -H 127.0.0.1 -p PORT`.
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


if __name__ == "__main__":
    from moto.server import main

    store_tags_on_create()
    keep_eks_access_config()
    sys.exit(main(sys.argv[1:]))
