"""The ``image-priors`` command line."""

from __future__ import annotations

import argparse
import sys

from dgp.errors import InputError


def build_parser() -> argparse.ArgumentParser:
    from image_priors import __version__

    ap = argparse.ArgumentParser(prog="image-priors", description="Untrained networks as image priors.")
    ap.add_argument("--version", action="version", version=f"image-priors {__version__}")
    sub = ap.add_subparsers(dest="command", metavar="COMMAND")
    for register in _REGISTER:
        register(sub)
    return ap


def _register_tasks(sub):
    from image_priors.commands import register

    register(sub)


_REGISTER: list = [_register_tasks]


def main(argv=None) -> int:
    ap = build_parser()
    args = ap.parse_args(argv)
    if not getattr(args, "func", None):
        ap.print_help()
        return 0
    try:
        return int(args.func(args) or 0)
    except (InputError, ValueError) as exc:
        print(f"image-priors {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"image-priors {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
