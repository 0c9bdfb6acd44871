"""`stockpool deliver`: the webhook delivery worker on its own (`stockpool serve` runs one too).

Several may run at once, on several machines: a delivery is claimed by one worker at a time."""

from __future__ import annotations

import argparse
import asyncio
from contextlib import suppress

import httpx

from api.delivery import Settings, deliver_forever, deliver_once
from models.db import Database

NAME = "deliver"
HELP = "send webhook deliveries (STOCKPOOL_WEBHOOK_* settings); --once: one round, then exit"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--once", action="store_true", help="send what is due now, then exit")


def run(database: Database, args: argparse.Namespace) -> int:
    settings = Settings.from_environment()
    if args.once:

        async def once() -> int:
            async with httpx.AsyncClient(follow_redirects=False) as client:
                return await deliver_once(database, client, settings)

        print(f"{asyncio.run(once())} delivery attempt(s)")
        return 0
    with suppress(KeyboardInterrupt):
        asyncio.run(deliver_forever(database, settings))
    return 0
