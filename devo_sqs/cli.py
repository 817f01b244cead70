"""`devo-sqs run | validate | parse | demo`: argument parsing, exit codes and signals."""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
from collections.abc import Sequence

from devo_sqs import __version__, logs
from devo_sqs.config.loader import load_config
from devo_sqs.errors import ConfigError

log = logging.getLogger("devo_sqs")

EXIT_OK, EXIT_FAILURE, EXIT_CONFIG = 0, 1, 2


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
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


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="devo-sqs", description="Collect S3 log files announced on SQS into Devo.")
    parser.add_argument("--version", action="version", version=f"devo-sqs {__version__}")
    commands = parser.add_subparsers(dest="command")

    run = commands.add_parser("run", help="run the collector")
    run.add_argument("config", help="YAML or JSON configuration file")
    run.set_defaults(handler=_run)

    validate = commands.add_parser("validate", help="check a configuration and print the resolved services")
    validate.add_argument("config")
    validate.set_defaults(handler=_validate)

    parse = commands.add_parser("parse", help="run a service's pipeline on local files, no AWS needed")
    parse.add_argument("--config", help="configuration file (default: the predefined services)")
    parse.add_argument("--service", required=True, help="service name (predefined, or from --config)")
    parse.add_argument("--key", help="the S3 key to assume for file variables (default: the file's path)")
    parse.add_argument("--summary", action="store_true", help="print per-tag counts as JSON instead of records")
    parse.add_argument("files", nargs="+")
    parse.set_defaults(handler=_parse)

    demo = commands.add_parser("demo", help="run the whole collector against a local S3+SQS with sample files")
    demo.set_defaults(handler=_demo)
    return parser


def _run(args: argparse.Namespace) -> int:
    config = load_config(args.config)
    from devo_sqs.collector import Collector
    from devo_sqs.processing.services import ServiceRouter

    ServiceRouter.for_input(config.inputs.sqs_collector)  # compile everything before touching AWS
    logs.configure_stderr(debug=config.globals.debug)
    if not config.inputs.sqs_collector.enabled:
        log.warning("Input sqs_collector is disabled; nothing to do")
        return EXIT_OK
    collector = Collector(config)
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: collector.request_stop())
    collector.start()
    return collector.wait()


def _validate(args: argparse.Namespace) -> int:
    from devo_sqs.commands.validate import validate

    return validate(args.config)


def _parse(args: argparse.Namespace) -> int:
    from devo_sqs.commands.parse import parse_files

    logs.configure_stderr(debug=False)
    return parse_files(
        config_path=args.config, service=args.service, key=args.key, files=args.files, summary=args.summary
    )


def _demo(args: argparse.Namespace) -> int:
    from devo_sqs.demo.run import run_demo

    logs.configure_stderr(debug=False)
    return run_demo()


if __name__ == "__main__":
    sys.exit(main())
