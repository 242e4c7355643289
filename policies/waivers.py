"""Load and apply `waivers.yaml`: a failed check is waived only where its waiver says it applies."""

from __future__ import annotations

from fnmatch import fnmatchcase
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from app.yamlconfig import load_model
from infra.config import environment_names

WAIVERS_PATH = Path(__file__).with_name("waivers.yaml")


class Waiver(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    check: str = Field(pattern=r"^CKV2?_[A-Z0-9]+_\d+$")
    reason: str = Field(min_length=20)
    environments: Literal["all"] | tuple[str, ...]
    # Resource addresses it is limited to, as glob patterns ("aws_s3_bucket.state_access_logs_*"); none: all.
    resources: tuple[Annotated[str, Field(min_length=1)], ...] = ()

    @field_validator("environments")
    @classmethod
    def _known_environments(cls, value):
        if value != "all":
            unknown = sorted(set(value) - set(environment_names()))
            if unknown:
                raise ValueError(f"unknown environments {unknown}; known: {', '.join(environment_names())}")
        return value

    def covers(self, check_id: str, env: str, resource: str) -> bool:
        return (
            check_id == self.check
            and (self.environments == "all" or env in self.environments)
            and (not self.resources or any(fnmatchcase(resource, pattern) for pattern in self.resources))
        )


class Waivers(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    waivers: tuple[Waiver, ...]

    def reason(self, check_id: str, env: str, resource: str) -> str | None:
        return next((w.reason for w in self.waivers if w.covers(check_id, env, resource)), None)


def load_waivers(path: Path = WAIVERS_PATH) -> Waivers:
    return load_model(path, Waivers)
