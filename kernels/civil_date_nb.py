"""Calendar arithmetic shared by the kernels that read wall-clock stamps (Asterisk, BER).

Numba's cache does not notice a change here in the kernels that call it: clear
``__pycache__`` after editing this module.
"""

from __future__ import annotations

from numba import njit


@njit(cache=True, error_model="numpy", inline="always")
def days_from_civil_nb(year, month, day):
    """Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm)."""
    y = year - 1 if month <= 2 else year
    era = y // 400
    yoe = y - era * 400
    mp = month + 9 if month <= 2 else month - 3
    doy = (153 * mp + 2) // 5 + day - 1
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    return era * 146097 + doe - 719468
