"""`devo-sqs run | validate | health | parse | demo | backfill`: argument parsing, exit codes and signals."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from devo_sqs import __version__, exit_codes, logs
from devo_sqs.arguments import positive_number
from devo_sqs.backfill.request import add_arguments as backfill_arguments
from devo_sqs.backfill.request import from_arguments as backfill_request
from devo_sqs.config.models import CollectorConfig
from devo_sqs.config.server_mode import (
    COLLECTOR_CONFIG_ENV,
    DEFAULT_COLLECTOR_CONFIG,
    DEFAULT_JOB_CONFIG,
    JOB_CONFIG_ENV,
    load_config_source,
)
from devo_sqs.errors import ConfigError

log = logging.getLogger("devo_sqs")

EXIT_OK, EXIT_FAILURE, EXIT_CONFIG = exit_codes.OK, exit_codes.FAILURE, exit_codes.CONFIG

CONFIG_HELP = (
    "YAML or JSON configuration file; without it, Collector Server mode reads the job config "
    f"(${JOB_CONFIG_ENV}, default {DEFAULT_JOB_CONFIG}) and the collector config "
    f"(${COLLECTOR_CONFIG_ENV}, default {DEFAULT_COLLECTOR_CONFIG})"
)


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return EXIT_CONFIG
    try:
        code: int = args.handler(args)
    except ConfigError as exc:
        print(f"Invalid configuration ({len(exc.problems)} problem(s)):", file=sys.stderr)
        for problem in exc.problems:
            print(f"  {problem}", file=sys.stderr)
        return EXIT_CONFIG
    except KeyboardInterrupt:
        return EXIT_FAILURE
    except BrokenPipeError:  # `devo-sqs parse ... | head`: the reader left; not an error
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_OK
    return code


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="devo-sqs", description="Collect S3 log files announced on SQS into Devo.")
    parser.add_argument("--version", action="version", version=f"devo-sqs {__version__}")
    commands = parser.add_subparsers(dest="command")

    run = commands.add_parser("run", help="run the collector")
    run.add_argument("config", nargs="?", help=CONFIG_HELP)
    run.set_defaults(handler=_run)

    validate = commands.add_parser("validate", help="check a configuration and print the resolved services")
    validate.add_argument("config", nargs="?", help=CONFIG_HELP)
    validate.set_defaults(handler=_validate)

    health = commands.add_parser("health", help="exit 0 while the running collector's heartbeat is fresh")
    health.add_argument("config", nargs="?", help=CONFIG_HELP)
    health.add_argument(
        "--max-age-seconds",
        type=positive_number("seconds"),
        default=60.0,
        help="how old the heartbeat may be (default 60; the collector beats every 10 s)",
    )
    health.set_defaults(handler=_health)

    parse = commands.add_parser("parse", help="run a service's pipeline on local files, no AWS needed")
    parse.add_argument("--config", help="configuration file (default: the predefined services)")
    parse.add_argument(
        "--service",
        help="service name (predefined, or from --config); without it, the service --config chooses for each key",
    )
    parse.add_argument("--key", help="the S3 key to assume for file variables (default: the file's path)")
    parse.add_argument(
        "--queue-url", help="SQS queue URL for [sqs-region]/[sqs-account] (default: --config's base_url, else null)"
    )
    parse.add_argument("--summary", action="store_true", help="print per-tag counts as JSON instead of records")
    parse.add_argument("files", nargs="+")
    parse.set_defaults(handler=_parse)

    demo = commands.add_parser("demo", help="run the whole collector against a local S3+SQS with sample files")
    demo.set_defaults(handler=_demo)

    backfill = commands.add_parser("backfill", help="announce objects already in a bucket to the input's queue")
    backfill_arguments(backfill, config_help=CONFIG_HELP)
    backfill.set_defaults(handler=_backfill)
    return parser


def _run(args: argparse.Namespace) -> int:
    config, _ = load_config_source(args.config, check_files=True)
    from devo_sqs.processing.services import ServiceRouter

    ServiceRouter.for_input(config.inputs.sqs_collector)  # compile everything before touching AWS
    writer = logs.StderrWriter().start(debug=config.globals.debug)
    try:
        return _run_collector(config)
    finally:
        writer.stop()


def _run_collector(config: CollectorConfig) -> int:
    """Everything that must hold before the children start, then the collector until it stops."""
    from devo_sqs.collector import Collector
    from devo_sqs.config.advice import warnings
    from devo_sqs.metrics import MetricsServer, MetricsUnavailable
    from devo_sqs.persistence.permissions import StateDirectoryUnusable, secure_state_directory

    if not config.inputs.sqs_collector.enabled:
        log.warning("Input sqs_collector is disabled; nothing to do")
        return EXIT_OK
    for warning in warnings(config):
        log.warning("%s", warning)
    try:  # before the children: a taken port or an unusable state directory stops everything here
        metrics = MetricsServer.bind(config.globals)
        secure_state_directory(Path(config.globals.persistence.config.directory_name))
    except (MetricsUnavailable, StateDirectoryUnusable) as exc:
        log.error("%s", exc)
        return EXIT_FAILURE
    collector = Collector(config)
    collector.install_signal_handlers()
    if metrics is not None:
        metrics.serve(lambda: collector.results)
        log.info("Serving Prometheus metrics on %s (/metrics)", metrics.address)
    return collector.run()


def _validate(args: argparse.Namespace) -> int:
    from devo_sqs.commands.validate import validate

    return validate(args.config)


def _health(args: argparse.Namespace) -> int:
    from devo_sqs.commands.health import check_health

    return check_health(args.config, max_age_seconds=args.max_age_seconds)


def _parse(args: argparse.Namespace) -> int:
    from devo_sqs.commands.parse import parse_files

    logs.configure_stderr(debug=False)
    return parse_files(
        config_path=args.config,
        service=args.service,
        key=args.key,
        files=args.files,
        summary=args.summary,
        queue_url=args.queue_url,
    )


def _demo(args: argparse.Namespace) -> int:
    try:
        from devo_sqs.demo.run import run_demo
    except ModuleNotFoundError as exc:
        print(f"devo-sqs demo needs its extra ({exc.name} is missing): pip install 'devo-sqs[demo]'", file=sys.stderr)
        return EXIT_FAILURE

    logs.configure_stderr(debug=False)
    return run_demo()


def _backfill(args: argparse.Namespace) -> int:
    from devo_sqs.backfill.command import run_backfill

    return run_backfill(backfill_request(args))


if __name__ == "__main__":
    sys.exit(main())
