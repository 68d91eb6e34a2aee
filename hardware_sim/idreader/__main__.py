"""Run one virtual reader on the ports real services use, for a browser real-name system on this
machine: ``python -m hardware_sim.idreader --place 0`` (Ctrl-C stops it)."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json

from hardware_sim.idreader.reader import VirtualReader


async def _main(args: argparse.Namespace) -> None:
    reader = VirtualReader(
        args.device_id,
        host=args.host,
        http_port=args.http_port,
        ws_port=args.ws_port,
        hx_port=args.hx_port,
        require_removal=not args.no_removal,
        photo_format=args.photo_format,
    )
    await reader.start()
    if args.place is not None:
        reader.place(args.place)
    print(json.dumps(reader.urls, ensure_ascii=False), flush=True)
    try:
        await asyncio.Event().wait()
    finally:
        await reader.stop()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m hardware_sim.idreader", description=__doc__)
    parser.add_argument("--device-id", default="idreader-1")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--http-port", type=int, default=8000)
    parser.add_argument("--ws-port", type=int, default=1919)
    parser.add_argument("--hx-port", type=int, default=19196)
    parser.add_argument("--photo-format", choices=["jpeg", "bmp"], default="jpeg")
    parser.add_argument("--no-removal", action="store_true", help="allow reading the same card again")
    parser.add_argument("--place", type=int, help="place the fixture person with this index")
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_main(parser.parse_args(argv)))


if __name__ == "__main__":
    main()
