"""The shells: the GraphQL service and the `stockpool` command line. No business rules here."""
