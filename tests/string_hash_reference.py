"""Byte-at-a-time references of the stable hashes (pipelines/string_hashes.py), written
out from their definitions."""

from __future__ import annotations


def fnv1a64(data: bytes) -> int:
    """64-bit FNV-1a, one byte at a time, as its definition reads."""
    value = 0xCBF29CE484222325
    for byte in data:
        value = ((value ^ byte) * 0x100000001B3) % 2**64
    return value


def splitmix64_finaliser(value: int) -> int:
    """SplitMix64's output function (Steele, Lea, Flood 2014), in Python integers."""
    z = (value + 0x9E3779B97F4A7C15) % 2**64
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) % 2**64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) % 2**64
    return z ^ (z >> 31)
