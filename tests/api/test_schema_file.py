"""The committed schema.graphql is what the code exports."""

from pathlib import Path

from api.graphql.schema import sdl

SCHEMA = Path(__file__).parents[2] / "schema.graphql"


def test_schema_graphql_is_up_to_date() -> None:
    assert SCHEMA.read_text() == sdl(), "run: python -m api.graphql.export > schema.graphql"
