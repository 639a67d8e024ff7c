"""A reader of SIE 4 files, written from the specification of SIE-Gruppen
(sie.se, "SIE filformat, utgåva 4B"), not from the shop's writer: the tests
read the shop's export back with it.

What it holds the file to:

- the bytes are the IBM PC 8-bit set (CP437, ``#FORMAT PC8``); a line is a
  record, ended by CR LF (a bare LF is read too);
- a record is a label (``#`` and capitals) and fields parted by spaces or
  tabs; a field with spaces is quoted, a quote inside it written ``\\"``;
  an object list is one field in ``{ }``;
- ``#FLAGGA`` is the first record;
- a voucher is ``#VER series number date [text]`` followed by a line ``{``,
  its ``#TRANS account {objects} amount ...`` records and a line ``}``;
  ``#TRANS`` stands nowhere else and blocks do not nest;
- an amount is digits with a decimal point (``-`` before it when
  negative), at most two decimals; a date is ``YYYYMMDD``.

Anything else raises ``SieError`` with the line number.
"""

import re
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

AMOUNT = re.compile(r"-?\d+(\.\d{1,2})?")
LABEL = re.compile(r"#[A-Z0-9]+")


class SieError(ValueError):
    pass


@dataclass
class Transaction:
    account: str
    objects: str
    amount: Decimal


@dataclass
class Voucher:
    series: str
    number: str
    date: date
    text: str
    transactions: list[Transaction] = field(default_factory=list)

    @property
    def balance(self) -> Decimal:
        return sum((t.amount for t in self.transactions), Decimal(0))


@dataclass
class SieFile:
    records: list[tuple[str, list[str]]] = field(default_factory=list)
    accounts: dict[str, str] = field(default_factory=dict)
    vouchers: list[Voucher] = field(default_factory=list)

    def first(self, label: str) -> list[str]:
        for found, fields in self.records:
            if found == label:
                return fields
        raise KeyError(label)

    def account_sums(self) -> dict[str, Decimal]:
        sums: dict[str, Decimal] = {}
        for voucher in self.vouchers:
            for t in voucher.transactions:
                sums[t.account] = sums.get(t.account, Decimal(0)) + t.amount
        return sums


def fields_of(line: str, number: int) -> list[str]:
    """The fields of one record: quoted strings unquoted, ``{...}`` kept
    whole (without its braces)."""
    found, i = [], 0
    while i < len(line):
        ch = line[i]
        if ch in " \t":
            i += 1
        elif ch == '"':
            i += 1
            text = []
            while True:
                if i >= len(line):
                    raise SieError(f"line {number}: a quote is not closed")
                if line[i] == "\\" and i + 1 < len(line) and line[i + 1] == '"':
                    text.append('"')
                    i += 2
                elif line[i] == '"':
                    i += 1
                    break
                else:
                    text.append(line[i])
                    i += 1
            found.append("".join(text))
        elif ch == "{":
            end = line.find("}", i)
            if end < 0:
                raise SieError(f"line {number}: an object list is not closed")
            found.append(line[i + 1 : end].strip())
            i = end + 1
        else:
            end = i
            while end < len(line) and line[end] not in " \t":
                end += 1
            found.append(line[i:end])
            i = end
    return found


def _date(value: str, number: int) -> date:
    if not re.fullmatch(r"\d{8}", value):
        raise SieError(f"line {number}: not a date YYYYMMDD: {value!r}")
    return date(int(value[:4]), int(value[4:6]), int(value[6:]))


def _amount(value: str, number: int) -> Decimal:
    if not AMOUNT.fullmatch(value):
        raise SieError(f"line {number}: not an amount: {value!r}")
    return Decimal(value)


def parse(data: bytes) -> SieFile:
    text = data.decode("cp437")
    if "\n" in text.replace("\r\n", "") and "\r\n" in text:
        raise SieError("line ends mixed")
    lines = text.split("\r\n") if "\r\n" in text else text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    sie = SieFile()
    voucher: Voucher | None = None
    in_block = False
    for number, raw in enumerate(lines, start=1):
        line = raw.strip()
        if not line:
            continue
        if line == "{":
            if voucher is None or in_block:
                raise SieError(f"line {number}: a block without its #VER")
            in_block = True
            continue
        if line == "}":
            if not in_block:
                raise SieError(f"line {number}: a block closed that was not open")
            in_block, voucher = False, None
            continue
        parts = fields_of(line, number)
        label, fields = parts[0], parts[1:]
        if not LABEL.fullmatch(label):
            raise SieError(f"line {number}: not a label: {label!r}")
        if not sie.records and label != "#FLAGGA":
            raise SieError("#FLAGGA is not the first record")
        if label == "#TRANS":
            if not in_block:
                raise SieError(f"line {number}: #TRANS outside a voucher")
            if len(fields) < 3:
                raise SieError(f"line {number}: #TRANS without an amount")
            voucher.transactions.append(
                Transaction(fields[0], fields[1], _amount(fields[2], number))
            )
        elif in_block:
            raise SieError(f"line {number}: {label} inside a voucher")
        elif label == "#VER":
            if voucher is not None:
                raise SieError(f"line {number}: #VER without its block")
            if len(fields) < 3:
                raise SieError(f"line {number}: #VER without a date")
            voucher = Voucher(
                series=fields[0],
                number=fields[1],
                date=_date(fields[2], number),
                text=fields[3] if len(fields) > 3 else "",
            )
            sie.vouchers.append(voucher)
        elif label == "#KONTO":
            sie.accounts[fields[0]] = fields[1]
        elif label == "#GEN":
            _date(fields[0], number)
        sie.records.append((label, fields))
    if in_block or voucher is not None:
        raise SieError("the file ends inside a voucher")
    return sie
