"""The generic half of the HTTP API: the CRUD service every module service builds on
(scoping, filters, sorting, paging, optimistic concurrency, audit) and the router that
gives a resource its standard five routes."""
