"""Roaming: TAP out for visitors on our network, RAP returns, and settlement with partners.

``stage.roaming_period`` runs one billing period after rating; docs/roaming.md explains the
reference files, the files exchanged and the lake tables.
"""
