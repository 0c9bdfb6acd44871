"""`stockpool policies [--apply]`: what the FORECAST stock policies become from the current forecasts; `--apply`
sets them (and stores the forecasts), as the nightly job does. Without `--apply` nothing is saved."""

from __future__ import annotations

import argparse

from api.cli import forecast
from models.db import Database

NAME = "policies"
HELP = "show what FORECAST stock policies would become; --apply sets them"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    forecast.add_arguments(parser)


def run(database: Database, args: argparse.Namespace) -> int:
    return forecast.run_round(database, args, store=args.apply)
