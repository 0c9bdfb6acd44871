"""`stockpool token list`: every API token with its role, scope and use; never the secret (only its hash is stored,
and that is not shown either)."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from models.db import Database
from pooling.access import list_tokens


def rows(database: Database) -> list[dict[str, Any]]:
    with database.reading() as session:
        return [
            {
                "id": token.id,
                "name": token.name,
                "role": token.role.value,
                "site": site,
                "region": token.region,
                "created": _when(token.created_at),
                "last_used": _when(token.last_used_at),
                "revoked": _when(token.revoked_at),
            }
            for token, site in list_tokens(session)
        ]


def _when(moment: datetime | None) -> str | None:
    return moment.isoformat(timespec="seconds") if moment else None


def list_command(database: Database, as_json: bool) -> int:
    found = rows(database)
    if as_json:
        print(json.dumps(found, indent=2))
        return 0
    headers = {"id": "ID", "name": "NAME", "role": "ROLE", "scope": "SCOPE", "created": "CREATED"}
    headers |= {"last_used": "LAST USED", "revoked": "REVOKED"}
    for row in found:
        row["scope"] = f"site {row['site']}" if row["site"] else f"region {row['region']}" if row["region"] else "all"
    table = [headers] + [{k: "-" if row[k] is None else str(row[k]) for k in headers} for row in found]
    widths = {k: max(len(str(line[k])) for line in table) for k in headers}
    for line in table:
        print("  ".join(str(line[k]).ljust(widths[k]) for k in headers).rstrip())
    if not found:
        print("no tokens yet: stockpool token create --role ADMIN --name NAME")
    return 0
