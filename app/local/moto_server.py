"""moto's server with the one S3 behaviour the AWS provider 6.x needs and moto 5.2 lacks: tags on create.

The provider sends a new bucket's tags inside CreateBucketConfiguration (CreateBucket's tag-on-create);
moto ignores them, so every tagged bucket would show a tag diff after its first apply. Here they are
stored as PutBucketTagging would store them. Run as `python -m app.local.moto_server -H 127.0.0.1 -p PORT`.
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


if __name__ == "__main__":
    from moto.server import main

    store_tags_on_create()
    sys.exit(main(sys.argv[1:]))
