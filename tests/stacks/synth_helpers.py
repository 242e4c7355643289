"""Tiny helpers over a synthesized stack's JSON (a dict parsed from cdk.tf.json)."""

from __future__ import annotations

from infra.config import environment_names, load_environment

ENVS = environment_names()
AWS_ENVS = [env for env in ENVS if load_environment(env).emulator is None]


def resources(stack: dict, type_: str) -> dict[str, dict]:
    """Resources of one type by logical id."""
    return stack.get("resource", {}).get(type_, {})


def resource(stack: dict, type_: str, **match) -> dict:
    """The one resource of `type_` whose top-level attributes equal `match`."""
    found = [r for r in resources(stack, type_).values() if all(r.get(k) == v for k, v in match.items())]
    assert len(found) == 1, f"expected one {type_} with {match}, found {len(found)}"
    return found[0]


def ref(type_: str, attribute: str, stack: dict) -> str:
    """`${type.logical_id.attribute}` of the only resource of that type in the stack."""
    (logical_id,) = resources(stack, type_)
    return f"${{{type_}.{logical_id}.{attribute}}}"


def bucket_ref(stack: dict, name: str, attribute: str = "id") -> str:
    """`${aws_s3_bucket.<logical id>.<attribute>}` of the bucket named `name`."""
    (logical_id,) = [key for key, b in resources(stack, "aws_s3_bucket").items() if b["bucket"] == name]
    return f"${{aws_s3_bucket.{logical_id}.{attribute}}}"
