"""Model services: deployed versions, aliases and bundles as supervised local processes."""
