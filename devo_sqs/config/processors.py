"""The `file_format` schema: one config model per processor, joined into a union tagged by `type`.

Behaviour lives in `devo_sqs.processing.processors`; this module is only what a config may say.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Literal, Union

from pydantic import BaseModel, ConfigDict, Field

KeyPath = list[str | int]


class _Options(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class LineSplitConfig(_Options):
    json_: bool = Field(False, alias="json", description="parse each line as JSON so record fields can be mapped")


class SeparatedJsonConfig(_Options):
    separator: str = Field("\n", min_length=1, description="what stands between two JSON objects")


class UnseparatedJsonConfig(_Options):
    key: str | KeyPath | None = Field(None, description="where the records are inside each object (dotted path)")
    include: dict[str, str] = Field(default_factory=dict, description="outer key -> name it gets in each record")
    flat: bool = Field(False, description="the whole object is the record")


class SingleJsonObjectConfig(_Options):
    key: str | KeyPath | None = Field(None, description="the list of records inside the document")
    fallback_key: str | KeyPath | None = Field(
        None,
        description="where the records are in a document without `key` (AWS Config's oversized change "
        "notifications hold one `configurationItem`, kept while a big document is walked; at most max_record_bytes)",
    )


class JsonLineArraysConfig(_Options):
    text_lines: bool = Field(
        False,
        description="a line that does not start a JSON value is a record sent as written (without fields) "
        "instead of a malformed one: files mixing JSON and text lines",
    )


class TextFileConfig(_Options):
    line_separator: str = Field("\n", min_length=1)
    field_separator: str | None = Field(None, min_length=1, description="None: lines are not split into fields")
    quotechar: str | None = Field(
        '"', min_length=1, max_length=1, description="CSV quote (None: quotes are plain text, no quoting)"
    )
    skip_initial_space: bool = Field(False, description="ignore spaces right after a field separator")
    header: bool = Field(False, description="the first line (after skip_lines) names the fields")
    field_names: list[str] | None = None
    skip_lines: int = Field(0, ge=0, description="non-empty lines at the start that are not records")
    header_end: str | None = Field(
        None, min_length=1, description="a leading block of lines up to this line is not sent (Imperva `|==|`)"
    )
    use_json: bool = Field(False, description="send a JSON object of the fields instead of the line")


class VpcFlowConfig(_Options):
    field_names: list[str] | None = Field(None, description="for files without a header line")


class AwsAccessLogsConfig(_Options):
    log_type: Literal["s3", "elb", "alb", "alb_connection", "nlb", "cloudfront"] = Field(
        "alb", description="column set; for load balancer types, a line whose first fields show another kind uses it"
    )


class _Empty(_Options):
    """A processor without options."""


class _Format(_Options):
    type: str
    config: _Options


def _format(name: str, config: type[_Options]) -> type[_Format]:
    """The `{type: name, config: {...}}` model of one processor, a module attribute so it pickles."""
    class_name = "".join(part.title() for part in name.split("_")) + "Format"
    annotations = {"type": Literal[name], "config": config}
    namespace = {"__annotations__": annotations, "config": Field(default_factory=config), "__module__": __name__}
    model = type(class_name, (_Format,), namespace)
    globals()[class_name] = model
    return model


PROCESSOR_CONFIGS: dict[str, type[_Options]] = {
    "line_split_processor": LineSplitConfig,
    "separated_json_processor": SeparatedJsonConfig,
    "unseparated_json_processor": UnseparatedJsonConfig,
    "single_json_object_processor": SingleJsonObjectConfig,
    "json_array_processor": _Empty,
    "json_line_arrays_processor": JsonLineArraysConfig,
    "text_file_processor": TextFileConfig,
    "vpc_flow_processor": VpcFlowConfig,
    "aws_access_logs_processor": AwsAccessLogsConfig,
    "cloudwatch_logs_processor": _Empty,
    "windows_security_processor": _Empty,
    "jamf_processor": _Empty,
    "dict_processor": _Empty,
}

if TYPE_CHECKING:
    FileFormat = _Format
else:
    FileFormat = Annotated[
        Union[tuple(_format(name, config) for name, config in PROCESSOR_CONFIGS.items())],  # type: ignore[valid-type]  # noqa: UP007
        Field(discriminator="type"),
    ]
