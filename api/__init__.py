"""The shells: the `stockpool` command line (and, next, the GraphQL service). No business rules here."""
