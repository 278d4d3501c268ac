"""Structural checks of BER data that pycrate's decoder does not make, run before it.

pycrate is lenient where a billing system must not be, and recursive where hostile input
can exhaust the interpreter's stack (both found by fuzzing, docs/fuzzing.md):

- an element whose definite length runs past its parent's end is read clipped to what the
  parent holds (a number cut short would be billed as a shorter number);
- a SET component written twice is read with its last value (a CDR carrying callDuration
  120 and 5 would be billed 5 seconds), where X.690 allows each component once;
- it reads a tag number written in the long form though it is below 31 (``9f 00`` for
  [0]) as that tag, so a record can carry a field twice in two spellings;
- it decodes nested elements recursively, a few Python frames a level, so data nested
  hundreds of levels deep runs out of stack at a depth that depends on how deep the
  caller's own stack already is: the same bytes would decode, or be refused with another
  message, depending on who mediates them, and the BER fast path, which calls the decoder
  from deeper, would disagree with the library parser.

``ber_problem`` finds the first of these in a whole encoding (repeated components in the
SETs its caller names: which elements are SETs is the schema's to say, and a SEQUENCE OF
repeats its items by design); the TS 32.298 and TAP decoders refuse the data with its
description. TS 32.298 records nest about six levels and
TAP 3.12 files about twelve, far below ``MAX_NESTING``.
"""

from __future__ import annotations

from dataclasses import dataclass

#: Deepest nesting of constructed elements accepted; pycrate needs about two frames a
#: level, so this stays far from the recursion limit from any caller.
MAX_NESTING = 64


#: Where SETs are: the identifier octets of each element on the path from the outermost
#: element down to the SET, outermost first.
SetPaths = frozenset[tuple[bytes, ...]]


def nesting_depth(data: bytes) -> int:
    """The deepest nesting of constructed elements in ``data`` (definite or indefinite
    length), read as far as the bytes are BER."""
    return _walk(data, frozenset())[0]


def ber_problem(data: bytes, sets: SetPaths = frozenset()) -> str | None:
    """The first structural problem of the BER elements in ``data``, or None: an element
    running past its parent, a tag number not in its shortest form, nesting deeper than
    MAX_NESTING, or a component written twice in one of the SETs at ``sets``. Bytes that
    are not BER at all are read as far as they go: the decoder refuses them itself."""
    depth, problem = _walk(data, sets)
    if problem is None and depth > MAX_NESTING:
        return f"BER nested {depth} levels deep, over {MAX_NESTING}"
    return problem


@dataclass
class _Open:
    """A constructed element being read: where it ends (None: indefinite length), its path,
    and, for a SET, the components (class, tag number) met so far."""

    end: int | None
    path: tuple[bytes, ...]
    components: set[tuple[int, int]] | None


def _walk(data: bytes, sets: SetPaths) -> tuple[int, str | None]:
    """(deepest nesting, first overrun, long-form tag or repeated component), iteratively."""
    opened: list[_Open] = []
    deepest = 0
    p, size = 0, len(data)
    while p < size:
        while opened and opened[-1].end is not None and p >= opened[-1].end:
            opened.pop()
        if data[p : p + 2] == b"\x00\x00" and opened and opened[-1].end is None:
            opened.pop()  # end-of-contents of an indefinite-length element
            p += 2
            continue
        start, constructed = p, data[p] & 0x20
        number = data[p] & 0x1F
        if number == 0x1F:  # tag number in the following octets, 7 bits each
            number = 0
            p += 1
            while p < size and data[p] & 0x80:
                number = number << 7 | data[p] & 0x7F
                p += 1
            if p < size:
                number = number << 7 | data[p]
            if number < 0x1F or data[start + 1] == 0x80:
                # X.690 8.1.2: the long form only for numbers from 31, without padding;
                # pycrate reads [0] written so as the [0] it is, a second recordType.
                return deepest, f"tag {data[start : p + 1].hex()} is not in its shortest form"
        p += 1
        if p >= size:
            break
        tag = data[start:p]
        parent = opened[-1] if opened else None
        if parent is not None and parent.components is not None:
            component = (data[start] >> 6, number)  # class and number, whatever the form
            if component in parent.components:
                where = "/".join(step.hex() for step in parent.path)
                return deepest, f"component [{tag.hex()}] appears twice in [{where}]"
            parent.components.add(component)
        indefinite = data[p] == 0x80
        length = data[p]
        p += 1
        if length & 0x80 and not indefinite:
            count = length & 0x7F
            length = int.from_bytes(data[p : p + count], "big")
            p += count
        if not indefinite:
            bound = next((o.end for o in reversed(opened) if o.end is not None), size)
            if p + length > bound:
                return deepest, (
                    f"element [{tag.hex()}] at offset {start} declares {length} content "
                    f"octets, {max(bound - p, 0)} left in its parent"
                )
        if constructed:
            path = (*parent.path, tag) if parent else (tag,)
            end = None if indefinite else p + length
            opened.append(_Open(end, path, set() if path in sets else None))
            deepest = max(deepest, len(opened))
        elif indefinite:
            break  # a primitive element cannot have an indefinite length
        else:
            p += length
    return deepest, None
