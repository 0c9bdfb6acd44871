"""The GraphQL layer: types, per-domain queries and mutations, the schema."""
