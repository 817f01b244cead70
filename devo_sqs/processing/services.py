"""Choose the service for an object key: the first whose `key_pattern` matches; a dispatching service
(`aws_sqs_control_tower`) hands the object on to the predefined definition its `dispatch` rules name."""

from __future__ import annotations

import re
from collections.abc import Mapping

from pydantic import ValidationError

from devo_sqs.config.limits import DEFAULT_LIMITS, Limits
from devo_sqs.config.loader import predefined_services
from devo_sqs.config.models import Service, SqsInput
from devo_sqs.errors import ConfigError
from devo_sqs.processing.pipeline import ServicePipeline

Target = tuple[re.Pattern[str] | None, ServicePipeline]  # (dispatch key pattern, pipeline)


class ServiceRouter:
    def __init__(
        self, services: Mapping[str, Service], *, sqs_values: Mapping[str, str], limits: Limits = DEFAULT_LIMITS
    ) -> None:
        self._named: dict[str, list[Target]] = {}
        self._routes: list[tuple[re.Pattern[str] | None, list[Target]]] = []
        for name, service in services.items():
            if service.dispatch:
                pattern = re.compile(service.key_pattern) if service.key_pattern else None
                targets: list[Target] = [
                    (re.compile(rule.key_pattern), _predefined_pipeline(name, rule.service, sqs_values, limits))
                    for rule in service.dispatch
                ]
                self._routes.append((pattern, targets))
            else:
                targets = [(None, ServicePipeline(name, service, sqs_values=sqs_values, limits=limits))]
                self._routes.append((None, targets))
            self._named[name] = targets

    @classmethod
    def for_input(cls, spec: SqsInput) -> ServiceRouter:
        sqs_values = {"region": spec.queue_region, "account": spec.queue_account}
        return cls(spec.services, sqs_values=sqs_values, limits=spec.limits)

    def pipeline_for(self, key: str) -> ServicePipeline | None:
        """The pipeline that handles `key`, or None when no service claims it."""
        for pattern, targets in self._routes:
            if pattern is not None and not pattern.search(key):
                continue
            for target_pattern, pipeline in targets:
                if (target_pattern is None or target_pattern.search(key)) and pipeline.matches(key):
                    return pipeline
        return None

    def pipeline_named(self, name: str, key: str) -> ServicePipeline | None:
        """The pipeline of service `name` for `key`, whatever its key_pattern (for `devo-sqs parse`)."""
        targets = self._named[name]
        if len(targets) == 1 and targets[0][0] is None:
            return targets[0][1]
        return next((pipeline for pattern, pipeline in targets if pattern is not None and pattern.search(key)), None)


def _predefined_pipeline(owner: str, name: str, sqs_values: Mapping[str, str], limits: Limits) -> ServicePipeline:
    definition = predefined_services().get(name)
    if definition is None:
        raise ConfigError([f"services.{owner}.dispatch: unknown predefined service {name!r}"])
    try:
        service = Service.model_validate(definition)
    except ValidationError as exc:
        raise ConfigError([f"services.{owner}.dispatch.{name}: {exc}"]) from None
    return ServicePipeline(f"{owner}/{name}", service, sqs_values=sqs_values, limits=limits)
