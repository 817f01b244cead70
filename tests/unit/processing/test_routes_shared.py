"""Objects with the same file values share their routing decisions (a tag is decided once per record key, not
once per small object), and each object still gets its own file values' tags and filter."""

from __future__ import annotations

import io

from devo_sqs.config.loader import parse_config
from devo_sqs.processing.records import ObjectContext
from devo_sqs.processing.services import ServiceRouter

SERVICE = {
    "key_pattern": "^app/",
    "file_format": {"type": "line_split_processor", "config": {"json": True}},
    "file_field_definitions": {"folder": [{"operator": "split", "on": "/", "element": 1}]},
    "record_field_mapping": {"kind": {"keys": ["kind"]}},
    "routing_template": "my.app.[file-folder].[record-kind]",
    "line_filter_rules": [
        [{"source": "record", "key": "kind", "type": "match", "value": "noise"}],
        [{"source": "file", "key": "folder", "type": "match", "value": "muted"}],
    ],
}
BODY = b'{"kind": "login"}\n{"kind": "noise"}\n{"kind": "logout"}\n{"kind": "login"}\n'


def router() -> ServiceRouter:
    config = {"id": "1", "base_url": "https://sqs.eu-west-1.amazonaws.com/1/q", "services": {"app": SERVICE}}
    return ServiceRouter.for_input(parse_config({"inputs": {"sqs_collector": config}}).inputs.sqs_collector)


def routed(shared: ServiceRouter, key: str) -> list[tuple[str, list[str]]]:
    pipeline = shared.pipeline_for(key)
    assert pipeline is not None
    runs = pipeline.run(io.BytesIO(BODY), key, ObjectContext(source=key))
    return [(tag, [message.decode() for message in messages]) for tag, messages in runs]


def test_objects_sharing_file_values_and_objects_with_others_each_get_their_own_tags_and_filter() -> None:
    shared = router()
    for _ in range(3):  # the second and third objects of each folder reuse the first one's decisions
        assert routed(shared, "app/a/1.json") == [
            ("my.app.a.login", ['{"kind": "login"}', '{"kind": "login"}']),
            ("my.app.a.logout", ['{"kind": "logout"}']),
        ]
        assert routed(shared, "app/b/2.json") == [
            ("my.app.b.login", ['{"kind": "login"}', '{"kind": "login"}']),
            ("my.app.b.logout", ['{"kind": "logout"}']),
        ]
        assert routed(shared, "app/muted/3.json") == []
