"""Numba kernels that write TS 32.298 CallEventRecords (BER) behind TS 32.297 CDR headers.

The encoder of ``pipelines.formats.ts32298`` (pycrate) is the reference: these kernels write
the same fields, in the same order, with the same encodings (DER-like: definite lengths in
the fewest octets, INTEGERs in the fewest two's-complement octets, SET fields in ascending
tag order), so their bytes are pycrate's byte for byte (tests/kernels/test_ber_encode.py).
``kernels.ber_encode_api`` validates the columns and documents them.

Constants are literals (a cached kernel would not see a changed module global); their
meaning is spelled out where they are written.
"""

from __future__ import annotations

from numba import njit


@njit(cache=True, inline="always")
def civil_from_days_nb(days):
    """(year, month, day) of a day number since 1970-01-01 (H. Hinnant's algorithm)."""
    z = days + 719468
    era = z // 146097  # Python's floor division: no correction for days before 0000-03-01
    doe = z - era * 146097
    yoe = (doe - doe // 1460 + doe // 36524 - doe // 146096) // 365
    doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
    mp = (5 * doy + 2) // 153
    day = doy - (153 * mp + 2) // 5 + 1
    month = mp + 3 if mp < 10 else mp - 9
    year = yoe + era * 400 + (1 if month <= 2 else 0)
    return year, month, day


@njit(cache=True, inline="always")
def put_tag_nb(out, p, ident, number):
    """Identifier octets at ``p`` (class and constructed bits ``ident``, tag number < 128);
    returns the next position."""
    if number < 31:
        out[p] = ident | number
        return p + 1
    out[p] = ident | 0x1F
    out[p + 1] = number
    return p + 2


@njit(cache=True, inline="always")
def length_octets_nb(length):
    """Octets of a definite length in its shortest form."""
    if length < 0x80:
        return 1
    if length < 0x100:
        return 2
    if length < 0x10000:
        return 3
    return 4


@njit(cache=True, inline="always")
def put_length_nb(out, p, length):
    """A definite length in its shortest form at ``p``; returns the next position."""
    if length < 0x80:
        out[p] = length
        return p + 1
    if length < 0x100:
        out[p] = 0x81
        out[p + 1] = length
        return p + 2
    if length < 0x10000:
        out[p] = 0x82
        out[p + 1] = length >> 8
        out[p + 2] = length & 0xFF
        return p + 3
    out[p] = 0x83
    out[p + 1] = length >> 16
    out[p + 2] = (length >> 8) & 0xFF
    out[p + 3] = length & 0xFF
    return p + 4


@njit(cache=True, inline="always")
def begin_constructed_nb(p, number):
    """Where the content of a constructed element whose identifier starts at ``p`` is
    written first: after its identifier and room for the longest length this encoder
    writes. ``end_constructed_nb`` then moves it in place."""
    return p + (1 if number < 31 else 2) + 4


@njit(cache=True, inline="always")
def end_constructed_nb(out, p, content_start, content_end, ident, number):
    """Write the identifier and length of the constructed element at ``p`` whose content was
    written at [content_start, content_end) and move the content behind them; returns the
    element's end."""
    length = content_end - content_start
    q = put_tag_nb(out, p, ident, number)
    q = put_length_nb(out, q, length)
    for k in range(length):
        out[q + k] = out[content_start + k]
    return q + length


@njit(cache=True, inline="always")
def integer_octets_nb(value):
    """Octets of an INTEGER's content in its shortest two's-complement form."""
    n = 1
    while n < 8:
        high = value >> (8 * n - 1)
        if high == 0 or high == -1:
            break
        n += 1
    return n


@njit(cache=True, inline="always")
def put_integer_nb(out, p, ident, number, value):
    """An INTEGER (or ENUMERATED) element; returns the next position."""
    n = integer_octets_nb(value)
    p = put_tag_nb(out, p, ident, number)
    out[p] = n
    p += 1
    for k in range(n):
        out[p + k] = (value >> (8 * (n - 1 - k))) & 0xFF
    return p + n


@njit(cache=True, inline="always")
def put_call_reference_nb(out, p, number, value):
    """A CallReferenceNumber (TS 29.002: 1..8 octets) element: ``value`` (>= 0) big-endian
    in the fewest octets, at least one; returns the next position."""
    n = 1
    while n < 8 and value >> (8 * n) != 0:
        n += 1
    p = put_tag_nb(out, p, 0x80, number)
    out[p] = n
    p += 1
    for k in range(n):
        out[p + k] = (value >> (8 * (n - 1 - k))) & 0xFF
    return p + n


@njit(cache=True, inline="always")
def put_digits_nb(out, p, value, digits):
    """The ``digits`` decimal digits of ``value`` (leading zeros kept) as TBCD: two digits an
    octet, the first in the low nibble, an odd count padded with 'F'; returns the next
    position."""
    octets = (digits + 1) // 2
    v = value
    q = p + octets - 1
    if digits % 2 == 1:
        out[q] = 0xF0 | (v % 10)
        v //= 10
        q -= 1
    while q >= p:
        pair = v % 100  # the digit written first is the pair's tens: the low nibble
        v //= 100
        out[q] = ((pair % 10) << 4) | (pair // 10)
        q -= 1
    return p + octets


@njit(cache=True, inline="always")
def put_tbcd_nb(out, p, number, value, digits):
    """A TBCD-STRING element (IMSI, IMEI); returns the next position."""
    p = put_tag_nb(out, p, 0x80, number)
    out[p] = (digits + 1) // 2
    return put_digits_nb(out, p + 1, value, digits)


@njit(cache=True, inline="always")
def numbering_octet_nb(digits):
    """Extension bit, type of number and numbering plan (E.164) of an AddressString or
    BCDDirectoryNumber: "international" from 7 digits on, "unknown" (a short code) below."""
    return 0x91 if digits >= 7 else 0x81


@njit(cache=True, inline="always")
def put_address_nb(out, p, number, value, digits):
    """An AddressString / BCDDirectoryNumber element (TON/NPI octet, TBCD digits); returns
    the next position."""
    p = put_tag_nb(out, p, 0x80, number)
    out[p] = 1 + (digits + 1) // 2
    out[p + 1] = numbering_octet_nb(digits)
    return put_digits_nb(out, p + 2, value, digits)


@njit(cache=True, inline="always")
def put_sms_address_nb(out, p, number, value, digits):
    """A TS 23.040 address field element (digit count, TON/NPI octet, BCD digits); returns
    the next position."""
    p = put_tag_nb(out, p, 0x80, number)
    out[p] = 2 + (digits + 1) // 2
    out[p + 1] = digits
    out[p + 2] = numbering_octet_nb(digits)
    return put_digits_nb(out, p + 3, value, digits)


@njit(cache=True, inline="always")
def bcd_nb(value):
    """Two decimal digits as one BCD octet, the first in the high nibble."""
    return ((value // 10) << 4) | (value % 10)


@njit(cache=True, inline="always")
def put_timestamp_nb(out, p, number, epoch, offset_minutes):
    """A TimeStamp element: the local time at ``offset_minutes`` from UTC of ``epoch``
    (seconds) as BCD YYMMDDhhmmss, ASCII '+' or '-', BCD hhmm of the offset; returns the
    next position."""
    p = put_tag_nb(out, p, 0x80, number)
    out[p] = 9
    local = epoch + offset_minutes * 60
    days = local // 86400
    second_of_day = local - days * 86400
    year, month, day = civil_from_days_nb(days)
    out[p + 1] = bcd_nb(year % 100)
    out[p + 2] = bcd_nb(month)
    out[p + 3] = bcd_nb(day)
    out[p + 4] = bcd_nb(second_of_day // 3600)
    out[p + 5] = bcd_nb((second_of_day // 60) % 60)
    out[p + 6] = bcd_nb(second_of_day % 60)
    offset = offset_minutes if offset_minutes >= 0 else -offset_minutes
    out[p + 7] = 0x2B if offset_minutes >= 0 else 0x2D
    out[p + 8] = bcd_nb(offset // 60)
    out[p + 9] = bcd_nb(offset % 60)
    return p + 10


@njit(cache=True, inline="always")
def put_octets_nb(out, p, ident, number, source, start, end):
    """An element whose content is ``source[start:end]``; returns the next position."""
    p = put_tag_nb(out, p, ident, number)
    p = put_length_nb(out, p, end - start)
    for k in range(end - start):
        out[p + k] = source[start + k]
    return p + end - start


@njit(cache=True, inline="always")
def put_text_nb(out, p, number, text_bytes, text_offsets, index):
    """Element ``number`` holding text ``index`` of the (bytes, offsets) table (IA5String);
    returns the next position."""
    return put_octets_nb(
        out, p, 0x80, number, text_bytes, text_offsets[index], text_offsets[index + 1]
    )


@njit(cache=True, inline="always")
def put_trunk_group_nb(out, p, number, text_bytes, text_offsets, index):
    """A TrunkGroup element carrying the ``tkgpName`` [1] alternative; returns the next
    position."""
    start = begin_constructed_nb(p, number)
    end = put_text_nb(out, start, 1, text_bytes, text_offsets, index)
    return end_constructed_nb(out, p, start, end, 0xA0, number)


@njit(cache=True, inline="always")
def put_location_nb(out, p, number, cells, cell):
    """A LocationAreaAndCell element: locationAreaCode [0], cellId [1], mCC-MNC [2] from row
    ``cell`` of ``cells`` (uint8 (m, 7): LAC 2 octets, CI 2 octets, PLMN-Id 3 octets)."""
    p = put_tag_nb(out, p, 0xA0, number)
    out[p] = 13
    p += 1
    for tag, start, end in ((0, 0, 2), (1, 2, 4), (2, 4, 7)):
        out[p] = 0x80 | tag
        out[p + 1] = end - start
        for k in range(start, end):
            out[p + 2 + k - start] = cells[cell, k]
        p += 2 + end - start
    return p


@njit(cache=True, inline="always")
def put_basic_service_nb(out, p, number):
    """basicService: the teleservice [3] alternative, telephony (TS 29.002 '00010001'B)."""
    p = put_tag_nb(out, p, 0xA0, number)
    out[p] = 3
    out[p + 1] = 0x83
    out[p + 2] = 1
    out[p + 3] = 0x11
    return p + 4


@njit(cache=True, inline="always")
def put_gsn_address_nb(out, p, node_octets):
    """A GSNAddress (untagged CHOICE): iPBinV4Address [0] of 4 octets or iPBinV6Address
    [1] of 16."""
    return put_octets_nb(
        out, p, 0x80, 0 if node_octets.size == 4 else 1, node_octets, 0, node_octets.size
    )


@njit(cache=True, inline="always")
def put_ms_classmark_nb(out, p, number):
    """msClassmark: MS classmark 2 of a typical handset (TS 24.008 §10.5.1.6: 57 59 A6)."""
    p = put_tag_nb(out, p, 0x80, number)
    out[p] = 3
    out[p + 1] = 0x57
    out[p + 2] = 0x59
    out[p + 3] = 0xA6
    return p + 4


@njit(cache=True)
def put_call_record_nb(
    out,
    p,
    mt,
    imsi,
    imsi_digits,
    imei,
    imei_digits,
    msisdn,
    msisdn_digits,
    other,
    other_digits,
    started,
    answered,
    ended,
    cause,
    cells,
    cell,
    call_reference,
    sequence,
    incoming_trunk,
    outgoing_trunk,
    text_bytes,
    text_offsets,
    entity,
    entity_digits,
    offset_minutes,
):
    """MOCallRecord [0] (``mt`` False) or MTCallRecord [1] at ``p``; returns its end. The
    two write the same fields in the same order under different tag numbers."""
    outer = 1 if mt else 0
    start = begin_constructed_nb(p, outer)
    q = put_integer_nb(out, start, 0x80, 0, 1 if mt else 0)  # recordType
    q = put_tbcd_nb(out, q, 1, imsi, imsi_digits)
    q = put_tbcd_nb(out, q, 2, imei, imei_digits)
    q = put_address_nb(out, q, 3, msisdn, msisdn_digits)
    if mt:
        q = put_address_nb(out, q, 4, other, other_digits)  # callingNumber
        q = put_address_nb(out, q, 6, entity, entity_digits)  # recordingEntity
    else:
        q = put_address_nb(out, q, 4, msisdn, msisdn_digits)  # callingNumber
        q = put_address_nb(out, q, 5, other, other_digits)  # calledNumber
        q = put_address_nb(out, q, 9, entity, entity_digits)  # recordingEntity
    if incoming_trunk >= 0:
        q = put_trunk_group_nb(out, q, 7 if mt else 10, text_bytes, text_offsets, incoming_trunk)
    if outgoing_trunk >= 0:
        q = put_trunk_group_nb(out, q, 8 if mt else 11, text_bytes, text_offsets, outgoing_trunk)
    q = put_location_nb(out, q, 9 if mt else 12, cells, cell)
    q = put_basic_service_nb(out, q, 11 if mt else 14)
    base = 19 if mt else 22  # seizureTime; answerTime, releaseTime, callDuration follow
    q = put_timestamp_nb(out, q, base, started, offset_minutes)
    if answered >= 0:
        q = put_timestamp_nb(out, q, base + 1, answered, offset_minutes)
    q = put_timestamp_nb(out, q, base + 2, ended, offset_minutes)
    if answered >= 0:
        duration = ended - answered
    elif sequence > 1:
        # A later partial of a call in progress: all of its time is chargeable.
        duration = ended - started
    else:
        duration = 0
    q = put_integer_nb(out, q, 0x80, base + 3, duration)
    q = put_integer_nb(out, q, 0x80, 27 if mt else 30, cause)  # causeForTerm
    q = put_call_reference_nb(out, q, 29 if mt else 32, call_reference)
    if sequence >= 0:
        q = put_integer_nb(out, q, 0x80, 30 if mt else 33, sequence)
    q = put_address_nb(out, q, 34 if mt else 39, entity, entity_digits)  # mSCAddress
    return end_constructed_nb(out, p, start, q, 0xA0, outer)


@njit(cache=True)
def put_sms_record_nb(
    out,
    p,
    mt,
    imsi,
    imsi_digits,
    imei,
    imei_digits,
    msisdn,
    msisdn_digits,
    other,
    other_digits,
    event_time,
    cells,
    cell,
    reference,
    entity,
    entity_digits,
    centre,
    centre_digits,
    offset_minutes,
):
    """MOSMSRecord [6] (``mt`` False) or MTSMSRecord [7] at ``p``, with the
    cAMELSMSInformation of a CAMEL-charged SMS; returns the record's end."""
    outer = 7 if mt else 6
    start = begin_constructed_nb(p, outer)
    q = put_integer_nb(out, start, 0x80, 0, outer)  # recordType equals the tag
    if mt:
        q = put_address_nb(out, q, 1, centre, centre_digits)  # serviceCentre
        q = put_tbcd_nb(out, q, 2, imsi, imsi_digits)
        q = put_tbcd_nb(out, q, 3, imei, imei_digits)
        q = put_address_nb(out, q, 4, msisdn, msisdn_digits)
        q = put_ms_classmark_nb(out, q, 5)
    else:
        q = put_tbcd_nb(out, q, 1, imsi, imsi_digits)
        q = put_tbcd_nb(out, q, 2, imei, imei_digits)
        q = put_address_nb(out, q, 3, msisdn, msisdn_digits)
        q = put_ms_classmark_nb(out, q, 4)
        q = put_address_nb(out, q, 5, centre, centre_digits)  # serviceCentre
    q = put_address_nb(out, q, 6, entity, entity_digits)  # recordingEntity
    q = put_location_nb(out, q, 7, cells, cell)
    if mt:
        q = put_timestamp_nb(out, q, 8, event_time, offset_minutes)  # deliveryTime
    else:
        # messageReference: TP-Message-Reference is one octet, so it wraps.
        q = put_tag_nb(out, q, 0x80, 8)
        out[q] = 1
        out[q + 1] = reference & 0xFF
        q = put_timestamp_nb(out, q + 2, 9, event_time, offset_minutes)  # originationTime
        q = put_sms_address_nb(out, q, 12, other, other_digits)  # destinationNumber
    camel_tag = 12 if mt else 13
    camel = begin_constructed_nb(q, camel_tag)
    c = camel
    if mt:
        c = put_address_nb(out, c, 5, other, other_digits)  # callingPartyNumber
    c = put_call_reference_nb(out, c, 8, reference)  # smsReferenceNumber
    q = end_constructed_nb(out, q, camel, c, 0xA0, camel_tag)
    return end_constructed_nb(out, p, start, q, 0xA0, outer)


@njit(cache=True)
def put_pgw_record_nb(
    out,
    p,
    imsi,
    imsi_digits,
    imei,
    imei_digits,
    msisdn,
    msisdn_digits,
    started,
    ended,
    cause,
    cells,
    cell,
    sequence,
    uplink,
    downlink,
    charging_id,
    text_bytes,
    text_offsets,
    apn,
    node_octets,
    offset_minutes,
):
    """PGWRecord [79] at ``p`` (a combined S/P-GW: the serving node is the gateway
    itself); returns the record's end."""
    start = begin_constructed_nb(p, 79)
    q = put_integer_nb(out, start, 0x80, 0, 85)  # recordType pGWRecord
    q = put_tbcd_nb(out, q, 3, imsi, imsi_digits)
    gateway = begin_constructed_nb(q, 4)  # p-GWAddress
    q = end_constructed_nb(out, q, gateway, put_gsn_address_nb(out, gateway, node_octets), 0xA0, 4)
    q = put_integer_nb(out, q, 0x80, 5, charging_id)
    serving = begin_constructed_nb(q, 6)  # servingNodeAddress: SEQUENCE OF GSNAddress
    q = end_constructed_nb(out, q, serving, put_gsn_address_nb(out, serving, node_octets), 0xA0, 6)
    q = put_text_nb(out, q, 7, text_bytes, text_offsets, apn)  # accessPointNameNI
    volumes = begin_constructed_nb(q, 12)  # listOfTrafficVolumes: one ChangeOfCharCondition
    condition = begin_constructed_nb(volumes, 16)
    c = put_integer_nb(out, condition, 0x80, 3, uplink)
    c = put_integer_nb(out, c, 0x80, 4, downlink)
    c = put_integer_nb(out, c, 0x80, 5, 2)  # changeCondition recordClosure
    c = put_timestamp_nb(out, c, 6, ended, offset_minutes)  # changeTime
    v = end_constructed_nb(out, volumes, condition, c, 0x20, 16)  # universal SEQUENCE
    q = end_constructed_nb(out, q, volumes, v, 0xA0, 12)
    q = put_timestamp_nb(out, q, 13, started, offset_minutes)  # recordOpeningTime
    q = put_integer_nb(out, q, 0x80, 14, ended - started)  # duration
    q = put_integer_nb(out, q, 0x80, 15, cause)  # causeForRecClosing
    if sequence >= 0:
        q = put_integer_nb(out, q, 0x80, 17, sequence)  # recordSequenceNumber
    q = put_address_nb(out, q, 22, msisdn, msisdn_digits)
    q = put_tag_nb(out, q, 0x80, 23)  # chargingCharacteristics "normal" (TS 32.251 Annex A)
    out[q] = 2
    out[q + 1] = 0x08
    out[q + 2] = 0x00
    q = put_tbcd_nb(out, q + 3, 29, imei, imei_digits)
    q = put_integer_nb(out, q, 0x80, 30, 6)  # rATType EUTRAN (TS 29.274 §8.17)
    q = put_tag_nb(out, q, 0x80, 32)  # userLocationInformation: a TS 29.274 ULI with a CGI
    out[q] = 8
    out[q + 1] = 0x01  # flags: CGI present
    for k in range(3):
        out[q + 2 + k] = cells[cell, 4 + k]  # PLMN-Id
    for k in range(4):
        out[q + 5 + k] = cells[cell, k]  # LAC, CI
    q += 9
    node_type = begin_constructed_nb(q, 35)  # servingNodeType: SEQUENCE OF ENUMERATED
    n = put_integer_nb(out, node_type, 0x00, 10, 2)  # universal ENUMERATED gTPSGW
    q = end_constructed_nb(out, q, node_type, n, 0xA0, 35)
    return end_constructed_nb(out, p, start, q, 0xA0, 79)


@njit(cache=True)
def encode_cdrs_nb(
    out,
    p,
    record_type,
    imsi,
    imsi_digits,
    imei,
    imei_digits,
    msisdn,
    msisdn_digits,
    other,
    other_digits,
    started,
    answered,
    ended,
    cause,
    cell,
    cells,
    call_reference,
    sequence,
    uplink,
    downlink,
    charging_id,
    apn,
    incoming_trunk,
    outgoing_trunk,
    text_bytes,
    text_offsets,
    entity,
    entity_digits,
    centre,
    centre_digits,
    node_octets,
    offset_minutes,
):
    """Write every record, each behind its TS 32.297 CDR header, into ``out`` from ``p``;
    returns the end, or -1 when a record would not fit ``out`` or its CDR header's 16-bit
    length.

    record_type: int8 (n,) 0 MO call, 1 MT call, 2 MO SMS, 3 MT SMS, 4 PGW. The CDR header
    is 5 octets: CDR length, release identifier 7 (Release 10 or later) with version 0,
    data record format 1 (BER) with the TS number (6 TS 32.250 for the MSC's records, 7 TS
    32.251 for the PGW's), and the release extension 5 (Release 15). Each record needs at
    most 256 octets plus its texts; ``out`` must hold that much beyond the end of the last
    record written before it is attempted.
    """
    for i in range(record_type.size):
        kind = record_type[i]
        room = 261
        if kind == 4:
            room += text_offsets[apn[i] + 1] - text_offsets[apn[i]]
        else:
            if incoming_trunk[i] >= 0:
                room += text_offsets[incoming_trunk[i] + 1] - text_offsets[incoming_trunk[i]]
            if outgoing_trunk[i] >= 0:
                room += text_offsets[outgoing_trunk[i] + 1] - text_offsets[outgoing_trunk[i]]
        if p + room > out.size:
            return -1
        body = p + 5
        if kind <= 1:
            end = put_call_record_nb(
                out,
                body,
                kind == 1,
                imsi[i],
                imsi_digits[i],
                imei[i],
                imei_digits[i],
                msisdn[i],
                msisdn_digits[i],
                other[i],
                other_digits[i],
                started[i],
                answered[i],
                ended[i],
                cause[i],
                cells,
                cell[i],
                call_reference[i],
                sequence[i],
                incoming_trunk[i],
                outgoing_trunk[i],
                text_bytes,
                text_offsets,
                entity,
                entity_digits,
                offset_minutes,
            )
        elif kind <= 3:
            end = put_sms_record_nb(
                out,
                body,
                kind == 3,
                imsi[i],
                imsi_digits[i],
                imei[i],
                imei_digits[i],
                msisdn[i],
                msisdn_digits[i],
                other[i],
                other_digits[i],
                started[i],
                cells,
                cell[i],
                call_reference[i],
                entity,
                entity_digits,
                centre,
                centre_digits,
                offset_minutes,
            )
        else:
            end = put_pgw_record_nb(
                out,
                body,
                imsi[i],
                imsi_digits[i],
                imei[i],
                imei_digits[i],
                msisdn[i],
                msisdn_digits[i],
                started[i],
                ended[i],
                cause[i],
                cells,
                cell[i],
                sequence[i],
                uplink[i],
                downlink[i],
                charging_id[i],
                text_bytes,
                text_offsets,
                apn[i],
                node_octets,
                offset_minutes,
            )
        length = end - body
        if length > 0xFFFF:
            return -1
        out[p] = length >> 8
        out[p + 1] = length & 0xFF
        out[p + 2] = 0xE0
        out[p + 3] = 0x27 if kind == 4 else 0x26
        out[p + 4] = 5
        p = end
    return p
