"""Records read as the dicts of their fields instead of as their models, for the hot paths: the connectors'
producer (app/connectors/producer.py) and the tick loader (app/schemas/tables.py TICKS).

A schema's dict reading has its models' fields, types and checks (built from the models' fields, so
nothing is written twice) and gives the same records the same values and the same reasons; what it saves
is building the model, half the cost of validating a record. An optional field the record leaves out is
left out of the dict (`dict.get` gives None), and a dict written out holds only the fields it has: so
only a schema whose models default every optional field to None (a market event's `type` tag aside) has a
dict reading; the others are read as models.
"""

from __future__ import annotations

import functools
import operator
from collections.abc import Callable
from typing import Annotated, Any, Literal, NotRequired, get_origin

from pydantic import BaseModel, ConfigDict, Discriminator, Tag, TypeAdapter, with_config
from typing_extensions import TypedDict  # pydantic needs this one before Python 3.12

from app.schemas import MARKET_MODELS, SCHEMAS, _market_type, adapter


class NoDictReading(TypeError):
    """A model field defaults to a value a dict without the field cannot give."""


def fields_dict(model: type[BaseModel]) -> type:
    """The model's fields as a TypedDict of the same types and checks."""
    fields: dict[str, Any] = {}
    for name, info in model.model_fields.items():
        annotation = Annotated[(info.annotation, *info.metadata)] if info.metadata else info.annotation
        if not info.is_required():
            if info.default is not None and get_origin(info.annotation) is not Literal:
                default = f"{model.__name__}.{name} defaults to {info.default!r}"
                raise NoDictReading(f"{default}, which the dict of a record without it leaves out")
            annotation = NotRequired[annotation]
        fields[name] = annotation
    config = ConfigDict(extra=model.model_config.get("extra"))
    return with_config(config)(TypedDict(f"{model.__name__}Fields", fields))


class Dicts:
    """A schema read as dicts: `validator` (one record; a JSON document or Python data), `list_validator`
    (a whole list in one call), `to_json` and `key` of a validated dict, as the model's serialize/key()."""

    def __init__(self, schema: str) -> None:
        found = SCHEMAS[schema]
        models = {schema: found} if isinstance(found, type) else MARKET_MODELS
        typed = {tag: fields_dict(model) for tag, model in models.items()}
        if len(typed) == 1:
            (read,) = typed.values()
            self._tag: Callable[[dict], str] = lambda fields: schema
        else:  # the market event's union, tagged as the model union is
            tagged = (Annotated[td, Tag(tag)] for tag, td in typed.items())
            read = Annotated[functools.reduce(operator.or_, tagged), Discriminator(_market_type)]
            self._tag = _market_type
        self.validator = TypeAdapter(read).validator
        self.list_validator = TypeAdapter(list[read]).validator
        self._serializers = {tag: TypeAdapter(td).serializer for tag, td in typed.items()}
        (self.key_field,) = {model.key_field for model in models.values()}

    def to_json(self, fields: dict) -> bytes:
        tag = self._tag(fields)
        # A tick may come without its tag (the union's members are tagged); its model writes it.
        if len(self._serializers) > 1 and "type" not in fields:
            fields = {"type": tag, **fields}
        return self._serializers[tag].to_json(fields)

    def key(self, fields: dict) -> bytes:
        return str(fields[self.key_field]).encode()


@functools.cache
def dicts(schema: str) -> Dicts | None:
    """The schema's dict reading, or None when its models have defaults a dict cannot give."""
    adapter(schema)  # an unknown name fails as it does there
    try:
        return Dicts(schema)
    except NoDictReading:
        return None
