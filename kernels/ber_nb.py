"""Numba kernels of the TS 32.298 BER fast path: CDR framing and a table-driven TLV walker.

The walker reads only a strict subset of BER (definite lengths in at most two octets, tag
numbers below 128, SET fields once each in ascending tag order, primitive strings) and only
field contents whose library decoding it reproduces exactly. Anything else gets a non-zero
status, and ``kernels.ber_api`` hands that record to the pycrate decoder: being strict costs
speed on odd records, never correctness.

Field kinds, status codes and output slots are the ``kernels.ber_api`` constants; the field
tables arrive as arrays, so a cached compilation never freezes a mapping.

The entry points release the GIL (``nogil``) and run on one core: mediation decodes two
files at a time on threads (pipelines.mediation.stage), which also overlaps the Arrow work
around the kernel; a ``parallel=True`` kernel called from two threads would oversubscribe
the cores, and under Numba's workqueue threading layer abort the process.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from kernels.civil_date_nb import days_from_civil_nb

# Constants in a cached kernel must not depend on module globals (a changed global would be
# ignored by the cache), so the codes below are literals mirrored in kernels.ber_api.
# Kinds: 1 INTEGER, 2 TBCD digits, 3 AddressString/BCDDirectoryNumber, 4 TimeStamp,
# 5 ignored OCTET STRING, 6 LocationAreaAndCell, 7 TrunkGroup, 8 CallReferenceNumber,
# 9 CAMELSMSInformation, 10 TS 23.040 address, 11 GSNAddress, 12 SEQUENCE OF GSNAddress,
# 13 IA5String, 14 listOfTrafficVolumes, 15 TS 29.274 ULI, 16 SEQUENCE OF ENUMERATED,
# 17 BasicServiceCode.
# Status: 0 ok, 1 not BER, 2 tag, 3 length, 4 unknown field, 5 order/duplicate,
# 6 value outside the fast subset, 7 mandatory field missing, 8 volume sum overflow.


@njit(cache=True, nogil=True)
def count_cdrs_nb(data, start):
    """(complete CDRs from ``start``, offset of a truncated CDR header or -1).

    Mirrors pipelines.formats.ts32297.iter_cdrs: 4-octet CDR header (length, release octet,
    format octet), one more octet when the release identifier is 7.
    """
    n = 0
    offset = start
    size = data.size
    while offset < size:
        if size - offset < 4:
            return n, offset
        length = (np.int64(data[offset]) << 8) | np.int64(data[offset + 1])
        header = 4
        if data[offset + 2] >> 5 == 7:
            if size - offset <= 4:
                return n, offset
            header = 5
        if header + length > size - offset:
            return n, offset
        n += 1
        offset += header + length
    return n, -1


@njit(cache=True, nogil=True)
def frame_cdrs_nb(data, start, n, payload_start, payload_length, data_format):
    """Fill int64 (n,) payload_start, payload_length and int8 (n,) data_format of the first
    ``n`` CDRs from ``start`` (n from count_cdrs_nb)."""
    offset = start
    for i in range(n):
        length = (np.int64(data[offset]) << 8) | np.int64(data[offset + 1])
        header = 5 if data[offset + 2] >> 5 == 7 else 4
        payload_start[i] = offset + header
        payload_length[i] = length
        data_format[i] = data[offset + 3] >> 5
        offset += header + length


@njit(cache=True)
def read_tlv_nb(data, pos, end):
    """(identifier bits, tag number, content start, content end) of the TLV at ``pos``.

    Tag number -1 when the TLV is outside the subset: a tag number of 128 or more or written
    in the long form below 31, an indefinite or non-minimal length, or content past ``end``.
    """
    if pos >= end:
        return 0, -1, 0, 0
    first = data[pos]
    pos += 1
    ident = first & 0xE0
    number = np.int64(first & 0x1F)
    if number == 0x1F:
        if pos >= end:
            return 0, -1, 0, 0
        number = np.int64(data[pos])
        pos += 1
        if number < 31 or number > 127:
            return 0, -1, 0, 0
    if pos >= end:
        return 0, -1, 0, 0
    octet = data[pos]
    pos += 1
    if octet < 0x80:
        length = np.int64(octet)
    elif octet == 0x81:
        if pos >= end:
            return 0, -1, 0, 0
        length = np.int64(data[pos])
        pos += 1
        if length < 0x80:
            return 0, -1, 0, 0
    elif octet == 0x82:
        if end - pos < 2:
            return 0, -1, 0, 0
        length = (np.int64(data[pos]) << 8) | np.int64(data[pos + 1])
        pos += 2
        if length < 0x100:
            return 0, -1, 0, 0
    else:
        return 0, -1, 0, 0
    if length > end - pos:
        return 0, -1, 0, 0
    return ident, number, pos, pos + length


@njit(cache=True)
def read_integer_nb(data, s, e):
    """(ok, value) of INTEGER content of 1 to 8 octets (two's complement, as pycrate reads
    it, non-minimal forms included)."""
    n = e - s
    if n < 1 or n > 8:
        return False, np.int64(0)
    value = np.int64(-1) if data[s] >= 0x80 else np.int64(0)
    for k in range(s, e):
        value = (value << 8) | np.int64(data[k])
    return True, value


@njit(cache=True)
def write_tbcd_nb(data, s, e, text, out):
    """Write the digits of TBCD octets to text[out:], return their count (-1: not plain).

    Plain means every nibble a decimal digit except an 'F' filler as the very last nibble,
    and at least one digit: what decode_tbcd / pycrate's BCD buffers turn into exactly
    these digits (other nibbles become letters, or stop the decoding early).
    """
    count = 0
    for k in range(s, e):
        low = data[k] & 0x0F
        high = data[k] >> 4
        if low > 9:
            return -1
        text[out + count] = 48 + low
        count += 1
        if high == 0x0F and k == e - 1:
            break
        if high > 9:
            return -1
        text[out + count] = 48 + high
        count += 1
    if count == 0:
        return -1
    return count


@njit(cache=True)
def write_number_nb(data, s, e, text, out):
    """Digits of an AddressString / BCDDirectoryNumber (TON/NPI octet, then TBCD) whose
    extension bit is 1 and numbering plan E.164 (1), the only forms read here; -1 else."""
    if e - s < 2 or data[s] & 0x8F != 0x81:
        return -1
    return write_tbcd_nb(data, s + 1, e, text, out)


@njit(cache=True)
def write_sms_address_nb(data, s, e, text, out):
    """Digits of a TS 23.040 address field (digit count, TON/NPI, BCD digits); -1 unless the
    count matches the octets exactly (odd counts end on an 'F' filler), the extension bit
    is 1, the plan E.164 and the type not alphanumeric."""
    if e - s < 3:
        return -1
    digits = np.int64(data[s])
    ton_npi = data[s + 1]
    if digits == 0 or ton_npi & 0x8F != 0x81 or (ton_npi >> 4) & 7 == 5:
        return -1
    if e - s != 2 + (digits + 1) // 2:
        return -1
    if digits % 2 == 1 and data[e - 1] >> 4 != 0x0F:
        return -1
    count = write_tbcd_nb(data, s + 2, e, text, out)
    if count != digits:
        return -1
    return count


@njit(cache=True)
def bcd_pair_nb(octet):
    """The two-digit value of a BCD octet (high nibble first), -1 if a nibble is not 0-9."""
    high = octet >> 4
    low = octet & 0x0F
    if high > 9 or low > 9:
        return -1
    return np.int64(high) * 10 + np.int64(low)


@njit(cache=True)
def read_timestamp_nb(data, s, e):
    """(ok, UTC epoch seconds) of a TimeStamp: BCD YYMMDDhhmmss, '+'/'-', BCD hhmm.

    ok only where decode_timestamp succeeds: a real date of 20YY, hour <= 23, minute and
    second <= 59; the offset digits may be any BCD (timedelta takes 99h99m).
    """
    if e - s != 9:
        return False, np.int64(0)
    sign = data[s + 6]
    if sign != 0x2B and sign != 0x2D:
        return False, np.int64(0)
    # Octet 6 is the sign; octets 0-5 and 7-8 hold two BCD digits each.
    year = bcd_pair_nb(data[s])
    month = bcd_pair_nb(data[s + 1])
    day = bcd_pair_nb(data[s + 2])
    hour = bcd_pair_nb(data[s + 3])
    minute = bcd_pair_nb(data[s + 4])
    second = bcd_pair_nb(data[s + 5])
    offset_hours = bcd_pair_nb(data[s + 7])
    offset_minutes = bcd_pair_nb(data[s + 8])
    if min(year, month, day, hour, minute, second, offset_hours, offset_minutes) < 0:
        return False, np.int64(0)
    year += 2000
    if month < 1 or month > 12 or day < 1:
        return False, np.int64(0)
    leap = year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)
    month_days = 31
    if month == 2:
        month_days = 29 if leap else 28
    elif month == 4 or month == 6 or month == 9 or month == 11:
        month_days = 30
    if day > month_days or hour > 23 or minute > 59 or second > 59:
        return False, np.int64(0)
    local = days_from_civil_nb(year, month, day) * 86400 + hour * 3600 + minute * 60 + second
    offset = offset_hours * 3600 + offset_minutes * 60
    if sign == 0x2D:
        offset = -offset
    return True, local - offset


@njit(cache=True)
def write_decimal_nb(value, text, out):
    """Write a non-negative integer in decimal to text[out:], return the characters written."""
    digits = 1
    rest = value // 10
    while rest > 0:
        digits += 1
        rest //= 10
    for k in range(digits - 1, -1, -1):
        text[out + k] = 48 + value % 10
        value //= 10
    return digits


@njit(cache=True)
def write_cell_nb(data, plmn, lac, ci, text, out):
    """Write "MCC-MNC-LAC-CI" (or "LAC-CI" when plmn < 0) to text[out:], return the length,
    -1 when the PLMN-Id octets at ``plmn`` are not plain digits (MNC digit 3 may be 'F')."""
    n = 0
    if plmn >= 0:
        mcc1 = data[plmn] & 0x0F
        mcc2 = data[plmn] >> 4
        mcc3 = data[plmn + 1] & 0x0F
        mnc3 = data[plmn + 1] >> 4
        mnc1 = data[plmn + 2] & 0x0F
        mnc2 = data[plmn + 2] >> 4
        if mcc1 > 9 or mcc2 > 9 or mcc3 > 9 or mnc1 > 9 or mnc2 > 9:
            return -1
        if mnc3 > 9 and mnc3 != 0x0F:
            return -1
        text[out] = 48 + mcc1
        text[out + 1] = 48 + mcc2
        text[out + 2] = 48 + mcc3
        text[out + 3] = 45
        text[out + 4] = 48 + mnc1
        text[out + 5] = 48 + mnc2
        n = 6
        if mnc3 != 0x0F:
            text[out + 6] = 48 + mnc3
            n = 7
        text[out + n] = 45
        n += 1
    lac_value = (np.int64(data[lac]) << 8) | np.int64(data[lac + 1])
    n += write_decimal_nb(lac_value, text, out + n)
    text[out + n] = 45
    n += 1
    ci_value = (np.int64(data[ci]) << 8) | np.int64(data[ci + 1])
    n += write_decimal_nb(ci_value, text, out + n)
    return n


@njit(cache=True)
def read_location_nb(data, s, e, text, out):
    """Cell text of LocationAreaAndCell content ([0] LAC, [1] CI, optional [2] PLMN-Id, in
    that order, nothing else); -1 outside that form."""
    lac = -1
    ci = -1
    plmn = -1
    expect = 0
    pos = s
    while pos < e:
        ident, tag, cs, ce = read_tlv_nb(data, pos, e)
        if tag < 0 or ident != 0x80 or tag < expect or tag > 2:
            return -1
        size = ce - cs
        if tag == 0:
            if size != 2:
                return -1
            lac = cs
        elif tag == 1:
            if size != 2:
                return -1
            ci = cs
        else:
            if size != 3:
                return -1
            plmn = cs
        expect = tag + 1
        pos = ce
    if lac < 0 or ci < 0:
        return -1
    return write_cell_nb(data, plmn, lac, ci, text, out)


@njit(cache=True)
def read_uli_nb(data, s, e, text, out):
    """Cell text of a TS 29.274 ULI holding only a CGI (flags 0x01, 7 octets); -1 else."""
    if e - s != 8 or data[s] != 0x01:
        return -1
    return write_cell_nb(data, s + 1, s + 4, s + 6, text, out)


@njit(cache=True)
def write_graphic_nb(data, s, e, text, out):
    """Copy printable ASCII (0x20-0x7E) content to text[out:], return its length, -1 if an
    octet is outside it (pycrate's ISO 2022 codec would shift or refuse)."""
    for k in range(s, e):
        octet = data[k]
        if octet < 0x20 or octet > 0x7E:
            return -1
        text[out + k - s] = octet
    return e - s


@njit(cache=True)
def read_gsn_address_nb(data, s, e):
    """(content start, length) of a binary IPv4 ([0], 4 octets) or IPv6 ([1], 16 octets)
    GSNAddress TLV filling data[s:e]; length -1 otherwise."""
    ident, tag, cs, ce = read_tlv_nb(data, s, e)
    if tag < 0 or ident != 0x80 or ce != e:
        return 0, -1
    if (tag == 0 and ce - cs == 4) or (tag == 1 and ce - cs == 16):
        return cs, ce - cs
    return 0, -1


@njit(cache=True)
def check_gsn_list_nb(data, s, e):
    """True when SEQUENCE OF GSNAddress content holds one or more binary addresses."""
    if s >= e:
        return False
    pos = s
    while pos < e:
        _, tag, _, ce = read_tlv_nb(data, pos, e)
        if tag < 0:
            return False
        _, length = read_gsn_address_nb(data, pos, ce)
        if length < 0:
            return False
        pos = ce
    return True


@njit(cache=True)
def check_enum_list_nb(data, s, e, allowed):
    """True when SEQUENCE OF ENUMERATED content holds one or more one-octet values that the
    bool (256,) table ``allowed`` lists."""
    if s >= e:
        return False
    pos = s
    while pos < e:
        ident, tag, cs, ce = read_tlv_nb(data, pos, e)
        if tag != 10 or ident != 0 or ce - cs != 1 or not allowed[data[cs]]:
            return False
        pos = ce
    return True


@njit(cache=True)
def read_volumes_nb(data, s, e, allowed_condition):
    """(ok, uplink sum, downlink sum) of listOfTrafficVolumes content.

    Each container is a SEQUENCE of optional [3] uplink and [4] downlink INTEGERs, a
    mandatory [5] changeCondition listed in ``allowed_condition`` and a mandatory [6]
    9-octet changeTime (the library never reads it, pycrate checks only its size). Negative
    volumes are refused (the library rejects them), and so are sums that would leave int64
    rather than wrapped.
    """
    uplink = np.int64(0)
    downlink = np.int64(0)
    limit = np.int64(2**62)
    pos = s
    while pos < e:
        ident, tag, cs, ce = read_tlv_nb(data, pos, e)
        if tag != 16 or ident != 0x20:
            return False, uplink, downlink
        expect = 3
        seen_condition = False
        seen_time = False
        inner = cs
        while inner < ce:
            fid, ftag, fs, fe = read_tlv_nb(data, inner, ce)
            if ftag < expect or ftag > 6 or fid != 0x80:
                return False, uplink, downlink
            if ftag == 3 or ftag == 4:
                ok, value = read_integer_nb(data, fs, fe)
                # A value and a running sum of at most 2**62 each add up within int64.
                if not ok or value > limit or value < 0:
                    return False, uplink, downlink
                if ftag == 3:
                    uplink += value
                    if uplink > limit:
                        return False, uplink, downlink
                else:
                    downlink += value
                    if downlink > limit:
                        return False, uplink, downlink
            elif ftag == 5:
                if fe - fs != 1 or not allowed_condition[data[fs]]:
                    return False, uplink, downlink
                seen_condition = True
            else:
                if fe - fs != 9:
                    return False, uplink, downlink
                seen_time = True
            expect = ftag + 1
            inner = fe
        if not (seen_condition and seen_time):
            return False, uplink, downlink
        pos = ce
    return True, uplink, downlink


@njit(cache=True)
def read_camel_sms_nb(data, s, e, text, out):
    """(ok, smsReferenceNumber present, reference, callingPartyNumber start, length) of
    CAMELSMSInformation content holding only [5] callingPartyNumber and [8]
    smsReferenceNumber, in that order; the number's digits go to text[out:]."""
    pos = s
    expect = 5
    has_reference = False
    reference = np.uint64(0)
    number_length = -1
    while pos < e:
        ident, tag, cs, ce = read_tlv_nb(data, pos, e)
        if tag < expect or ident != 0x80 or (tag != 5 and tag != 8):
            return False, False, reference, out, -1
        if tag == 5:
            number_length = write_number_nb(data, cs, ce, text, out)
            if number_length < 0:
                return False, False, reference, out, -1
        else:
            if ce - cs < 1 or ce - cs > 8:
                return False, False, reference, out, -1
            for k in range(cs, ce):
                reference = (reference << np.uint64(8)) | np.uint64(data[k])
            has_reference = True
        expect = tag + 1
        pos = ce
    return True, has_reference, reference, out, number_length


@njit(cache=True)
def decode_record_nb(
    data,
    start,
    length,
    outer_alternative,
    field_kind,
    field_slot,
    field_low,
    field_high,
    mandatory,
    any_of,
    enum_allowed,
    text,
    text_out,
    ints,
    refs,
    times,
    text_start,
    text_length,
    ip_start,
    ip_length,
    row,
):
    """Decode one CDR payload data[start:start + length] into row ``row`` of the outputs.

    Returns (status, alternative index, bitmask of the tags present). See decode_cdrs_nb
    for the tables and outputs.
    """
    end = start + length
    ident, tag, cs, ce = read_tlv_nb(data, start, end)
    if tag < 0:
        return 3, -1, np.uint64(0)
    if ident != 0xA0 or tag >= outer_alternative.size or outer_alternative[tag] < 0:
        return 2, -1, np.uint64(0)
    if ce != end:
        return 3, -1, np.uint64(0)
    alt = outer_alternative[tag]
    present = np.uint64(0)
    previous = -1
    out = text_out
    pos = cs
    while pos < ce:
        fid, ftag, fs, fe = read_tlv_nb(data, pos, ce)
        if ftag < 0:
            return 3, alt, present
        if ftag >= 63 or (fid & 0xC0) != 0x80:
            return 4, alt, present
        kind = field_kind[alt, ftag]
        if kind == 0:
            return 4, alt, present
        if ftag <= previous:
            return 5, alt, present
        previous = ftag
        constructed = (fid & 0x20) != 0
        # Kinds 6, 7, 9, 11, 12, 14, 16 and 17 are constructed, the rest primitive.
        wants_constructed = (
            kind == 6
            or kind == 7
            or kind == 9
            or kind == 11
            or kind == 12
            or kind == 14
            or kind == 16
            or kind == 17
        )
        if constructed != wants_constructed:
            return 6, alt, present
        size = fe - fs
        slot = field_slot[alt, ftag]
        low = field_low[alt, ftag]
        high = field_high[alt, ftag]
        if kind != 1 and (size < low or size > high):
            return 6, alt, present
        written = -1
        if kind == 1:
            ok, value = read_integer_nb(data, fs, fe)
            if not ok or value < low or value > high:
                return 6, alt, present
            if slot >= 0:
                ints[row, slot] = value
        elif kind == 2:
            written = write_tbcd_nb(data, fs, fe, text, out)
        elif kind == 3:
            written = write_number_nb(data, fs, fe, text, out)
        elif kind == 4:
            ok, value = read_timestamp_nb(data, fs, fe)
            if not ok:
                return 6, alt, present
            times[row, slot] = value
        elif kind == 6:
            written = read_location_nb(data, fs, fe, text, out)
        elif kind == 7:
            tid, ttag, ts, te = read_tlv_nb(data, fs, fe)
            if ttag != 1 or tid != 0x80 or te != fe:
                return 6, alt, present
            written = write_graphic_nb(data, ts, te, text, out)
        elif kind == 8:
            reference = np.uint64(0)
            for k in range(fs, fe):
                reference = (reference << np.uint64(8)) | np.uint64(data[k])
            refs[row] = reference
        elif kind == 9:
            ok, has_reference, reference, number_at, number_length = read_camel_sms_nb(
                data, fs, fe, text, out
            )
            if not ok:
                return 6, alt, present
            if has_reference:
                refs[row] = reference
                # Bit 63 stands for the nested smsReferenceNumber (no SET tag is 63).
                present |= np.uint64(1) << np.uint64(63)
            if number_length >= 0 and slot >= 0:
                text_start[row, slot] = number_at
                text_length[row, slot] = number_length
                out += number_length
        elif kind == 10:
            written = write_sms_address_nb(data, fs, fe, text, out)
        elif kind == 11:
            address_at, address_length = read_gsn_address_nb(data, fs, fe)
            if address_length < 0:
                return 6, alt, present
            ip_start[row] = address_at
            ip_length[row] = address_length
        elif kind == 12:
            if not check_gsn_list_nb(data, fs, fe):
                return 6, alt, present
        elif kind == 13:
            for k in range(fs, fe):
                if data[k] < 0x20 or data[k] > 0x7E:
                    return 6, alt, present
        elif kind == 14:
            ok, uplink, downlink = read_volumes_nb(data, fs, fe, enum_allowed[0])
            if not ok:
                return 8, alt, present
            ints[row, slot] = uplink
            ints[row, slot + 1] = downlink
        elif kind == 15:
            written = read_uli_nb(data, fs, fe, text, out)
        elif kind == 16:
            if not check_enum_list_nb(data, fs, fe, enum_allowed[slot]):
                return 6, alt, present
        elif kind == 17:
            bid, btag, bs, be = read_tlv_nb(data, fs, fe)
            if (btag != 2 and btag != 3) or bid != 0x80 or be != fe or be - bs != 1:
                return 6, alt, present
        # Kind 5: an OCTET STRING the library never reads; its size check above suffices.
        if kind == 2 or kind == 3 or kind == 6 or kind == 7 or kind == 10 or kind == 15:
            if written < 0:
                return 6, alt, present
            if slot >= 0:
                text_start[row, slot] = out
                text_length[row, slot] = written
                out += written
        present |= np.uint64(1) << np.uint64(ftag)
        pos = fe
    if present & mandatory[alt] != mandatory[alt]:
        return 7, alt, present
    for g in range(any_of.shape[1]):
        if any_of[alt, g] != 0 and present & any_of[alt, g] == 0:
            return 7, alt, present
    return 0, alt, present


@njit(cache=True, nogil=True)
def decode_cdrs_nb(
    data,
    payload_start,
    payload_length,
    data_format,
    text_base,
    outer_alternative,
    field_kind,
    field_slot,
    field_low,
    field_high,
    mandatory,
    any_of,
    enum_allowed,
    n_ints,
    n_texts,
    n_times,
):
    """Decode n CDR payloads of the file bytes ``data`` (uint8).

    Inputs, int64 (n,) unless stated: payload_start, payload_length; data_format int8 (n,)
    (1 = BER); text_base (n + 1,) where record i may write text[text_base[i]:text_base[i+1]]
    (at least 2 x payload length + 64 characters). Tables: outer_alternative int64 (128,)
    alternative index of an outer context tag (-1: not read here); field_kind, field_slot,
    field_low, field_high int64 (a, 64) per alternative and SET tag (kind 0: not read here;
    low/high: the value range of an INTEGER, the octet count of anything else); mandatory
    uint64 (a,) tag bitmask; any_of uint64 (a, g) masks of which one tag must be present
    (0: no condition); enum_allowed bool (t, 256) ENUMERATED values per table.

    Returns status int8 (n,) (0: decoded, else the library must decode it), alternative
    int8 (n,), present uint64 (n,) tag bitmask (bit 63: CAMEL smsReferenceNumber), ints
    int64 (n, n_ints), refs uint64 (n,) call or SMS reference, times int64 (n, n_times)
    UTC epoch seconds, text uint8 (text_base[n],) ASCII, text_start and text_length int64
    (n, n_texts) (length -1: absent), ip_start and ip_length int64 (n,) GSNAddress octets
    in ``data`` (length -1: absent).
    """
    n = payload_start.size
    status = np.zeros(n, np.int8)
    alternative = np.full(n, -1, np.int8)
    present = np.zeros(n, np.uint64)
    ints = np.zeros((n, n_ints), np.int64)
    refs = np.zeros(n, np.uint64)
    times = np.zeros((n, n_times), np.int64)
    text = np.zeros(text_base[n], np.uint8)
    text_start = np.zeros((n, n_texts), np.int64)
    text_length = np.full((n, n_texts), -1, np.int64)
    ip_start = np.zeros(n, np.int64)
    ip_length = np.full(n, -1, np.int64)
    for i in range(n):
        if data_format[i] != 1:
            status[i] = 1
            continue
        code, alt, tags = decode_record_nb(
            data,
            payload_start[i],
            payload_length[i],
            outer_alternative,
            field_kind,
            field_slot,
            field_low,
            field_high,
            mandatory,
            any_of,
            enum_allowed,
            text,
            text_base[i],
            ints,
            refs,
            times,
            text_start,
            text_length,
            ip_start,
            ip_length,
            i,
        )
        status[i] = code
        alternative[i] = alt
        present[i] = tags
    return (
        status,
        alternative,
        present,
        ints,
        refs,
        times,
        text,
        text_start,
        text_length,
        ip_start,
        ip_length,
    )


@njit(cache=True, nogil=True)
def gather_texts_nb(text, text_start, text_length, rows):
    """Concatenate each text slot of the records ``rows`` (int64 (m,)), from the outputs of
    decode_cdrs_nb, column after column: (offsets int64 (m + 1, s), data uint8, base int64
    (s + 1,)). Slot k's texts fill data[base[k]:base[k + 1]], row j's being offsets[j, k]
    to offsets[j + 1, k] from base[k]; an absent text (length -1) is empty."""
    m = rows.size
    s = text_start.shape[1]
    offsets = np.zeros((m + 1, s), np.int64)
    for j in range(m):
        for k in range(s):
            offsets[j + 1, k] = offsets[j, k] + max(text_length[rows[j], k], 0)
    base = np.zeros(s + 1, np.int64)
    for k in range(s):
        base[k + 1] = base[k] + offsets[m, k]
    data = np.empty(base[s], np.uint8)
    for j in range(m):
        for k in range(s):
            at = base[k] + offsets[j, k]
            start = text_start[rows[j], k]
            for c in range(offsets[j + 1, k] - offsets[j, k]):
                data[at + c] = text[start + c]
    return offsets, data, base
