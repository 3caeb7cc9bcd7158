"""`python -m kubesim --config FILE`: serve the configured clusters until interrupted."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .config import ConfigError, load_config
from .server import run


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m kubesim", description=__doc__)
    parser.add_argument(
        "--config", required=True, type=Path, help="YAML file describing the clusters"
    )
    parser.add_argument(
        "--speed", type=float, help="time scale: 1 = demo pace, 10 = tests (overrides config)"
    )
    parser.add_argument("--host", help="address to bind (default 127.0.0.1)")
    parser.add_argument(
        "--write-kubeconfig", type=Path, help="write a kubeconfig (one context per cluster)"
    )
    parser.add_argument(
        "--write-ports", type=Path, help="write the actual ports as JSON once serving"
    )
    parser.add_argument("--tls-dir", type=Path, help="where the front-door CA and certificate go")
    parser.add_argument(
        "--ephemeral-ports", action="store_true", help="ignore configured ports, use free ones"
    )
    parser.add_argument("--tls", action="store_true", help="serve every front door over TLS")
    parser.add_argument("--quiet", action="store_true", help="do not print the listening addresses")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    try:
        config = load_config(args.config)
    except (OSError, ConfigError, ValueError) as error:
        print(f"kubesim: bad config {args.config}: {error}", file=sys.stderr)
        raise SystemExit(2) from None
    if args.host:
        config.host = args.host
    run(
        config,
        args.speed,
        args.ephemeral_ports,
        args.tls,
        kubeconfig_path=args.write_kubeconfig,
        ports_path=args.write_ports,
        tls_dir=args.tls_dir,
        quiet=args.quiet,
    )


if __name__ == "__main__":
    main()
