"""CPNI protection (docs/privacy.md): masking keys and tokens, the analyst store, logged
access to raw call detail, and the 18-month retention purge with legal holds."""
