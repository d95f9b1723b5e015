"""Value hygiene for every vendor's mapping: clean each value, or drop it and say why.

Real answers are messier than vendor documentation. Mappers pass every value they emit through
one of the cleaners below, which return it in its canonical form, or an empty result:

- a null spelled as text (``""``, ``"None"``, ``"null"``, ``"N/A"``, ``"-"``, ``"nil"``) is null
  and nothing is dropped;
- a value that is present but unusable (an invalid address, a "hash" that is a word, an object
  where text is expected) is dropped: the cleaner calls :func:`drop` with the output field and the
  rule it broke, and returns null.

The runner maps each record inside :func:`recording`, so the drops of one record are counted in
the envelope's ``meta.dropped_values`` and named at ``-v``. Outside :func:`recording` a drop is
not noted anywhere (the value is still left out).

The cleaners live by kind of value (:mod:`.values`, :mod:`.network`, :mod:`.times`) and the drops
in :mod:`.drops`; mappers use them all from here.
"""

from connector.hygiene.drops import Dropped, drop, recording
from connector.hygiene.network import (
    HASH_BY_LENGTH,
    REMEMBERED_LONGEST,
    SPECIAL_ADDRESS_PATTERN,
    domain,
    email,
    file_hash,
    ip,
    ips,
    observable_ips,
    url,
)
from connector.hygiene.times import EPOCH_MILLIS_ABOVE, timestamp
from connector.hygiene.values import (
    IDENT_LONGEST,
    NULL_LIKES,
    flag,
    ident,
    integer,
    is_null,
    keys_of,
    label,
    mapping,
    number,
    objects,
    text,
    texts,
)

__all__ = [
    "EPOCH_MILLIS_ABOVE",
    "HASH_BY_LENGTH",
    "IDENT_LONGEST",
    "NULL_LIKES",
    "REMEMBERED_LONGEST",
    "SPECIAL_ADDRESS_PATTERN",
    "Dropped",
    "domain",
    "drop",
    "email",
    "file_hash",
    "flag",
    "ident",
    "integer",
    "ip",
    "ips",
    "is_null",
    "keys_of",
    "label",
    "mapping",
    "number",
    "objects",
    "observable_ips",
    "recording",
    "text",
    "texts",
    "timestamp",
    "url",
]
