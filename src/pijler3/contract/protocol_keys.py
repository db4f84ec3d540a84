"""Key set-up: the public keys of a party or a named researcher written into a protocol file.

The protocol file is the document the parties signed, comments and layout included, so
it is edited with tomlkit, which changes the values asked for and keeps every other
byte of the file: comments, blank lines, key order and quoting. The edited text is
loaded again before it is returned, so a change that would make the file invalid (a
third researcher where art. 4 allows two) is refused and the caller writes nothing.
"""

from __future__ import annotations

import tomlkit
import tomlkit.exceptions
from tomlkit.items import Array, InlineTable, Table
from tomlkit.toml_document import TOMLDocument

from pijler3.contract.errors import ProtocolError
from pijler3.contract.protocol import loads


def _document(text: str) -> TOMLDocument:
    """The protocol text as an editable document, after checking that it is a protocol."""
    loads(text)
    try:
        return tomlkit.parse(text)
    except tomlkit.exceptions.ParseError as exc:  # pragma: no cover - tomllib accepted it
        raise ProtocolError(f"<protocol>: not valid TOML ({exc}).") from None


def with_party_keys(text: str, party: str, *, age_recipient: str, signing_key: str) -> str:
    """The protocol text with a party's public keys filled in (key set-up).

    Only the values of ``age_recipient`` and ``signing_key`` in ``[parties.<party>]``
    change, so that comments and layout of the file stay as the parties signed them.
    """
    doc = _document(text)
    parties = doc.get("parties")
    table = parties.get(party) if isinstance(parties, Table) else None
    if not isinstance(table, Table) or not {"age_recipient", "signing_key"} <= set(table):
        raise ProtocolError(f"the protocol file has no key lines in [parties.{party}].")
    table["age_recipient"] = age_recipient
    table["signing_key"] = signing_key
    new = tomlkit.dumps(doc)
    loads(new)
    return new


def with_recipient(text: str, *, name: str, age_recipient: str, signing_key: str) -> str:
    """The protocol text with a researcher added to (or updated in) ``recipients.people``.

    A researcher already named is removed and added again at the end with the new keys;
    the other entries, and the comments around the list, stay as they are.
    """
    doc = _document(text)
    recipients = doc.get("recipients")
    people = recipients.get("people") if isinstance(recipients, Table) else None
    if not isinstance(people, Array):
        raise ProtocolError("the protocol file has no 'people' line in [recipients].")
    for i in reversed(range(len(people))):
        entry = people[i]
        if isinstance(entry, (InlineTable, dict)) and entry.get("name") == name:
            del people[i]
    person = tomlkit.inline_table()
    person.update({"name": name, "age_recipient": age_recipient, "signing_key": signing_key})
    people.append(person)
    # One researcher per line, as people read and sign the list.
    people.multiline(True)
    new = tomlkit.dumps(doc)
    loads(new)
    return new
