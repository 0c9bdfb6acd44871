"""`stockpool migrate`: create or upgrade the database schema (what every command does first)."""

from __future__ import annotations

import argparse

from models.db import Database

NAME = "migrate"
HELP = "create or upgrade the database schema"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """No options: the schema is migrated before any command runs."""


def run(database: Database, args: argparse.Namespace) -> int:
    return 0
