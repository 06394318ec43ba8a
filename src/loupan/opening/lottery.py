"""The opening-day lottery 摇号: a verifiable, deterministic, equiprobable order of selection.

This module is pure Python (standard library only) so that it runs anywhere — a notary's
laptop included — and it is the specification: everything needed to reimplement the check
in another language is written below. Version: ``loupan-lottery/1``.

Why anyone can check the draw without trusting the sales office
===============================================================

1. **Commitment** (before entries close). The office generates a secret *seed* (32 random
   bytes, written as 64 lowercase hexadecimal digits) and publishes its *commitment*
   ``SHA-256(seed bytes)`` (64 lowercase hex digits). At the same time it names the *public
   value* that will be mixed in at the draw and that nobody can know in advance: e.g. "drand
   mainnet round 4,812,345", or "the five numbers drawn by hand in the hall in front of the
   notary". Having committed, the office can no longer choose a seed that favours anyone.
2. **Frozen list** (when entries close). The entrant list of each round is frozen and
   published in its canonical form (below) with its SHA-256, so that nobody can be added,
   removed or renamed afterwards.
3. **Draw**. The public value is entered, the seed is revealed, and the order is computed by
   the algorithm below from (seed, public value, list hash, round label) alone.
4. **Package**. Everything is published as one JSON file (below) that a notary keeps;
   ``loupan verify-lottery FILE`` (or the verification page) recomputes the order from the
   file alone and says whether it matches.

Notation
========

* ``SHA-256(x)`` is the 32-byte digest; "hex" means lowercase hexadecimal (on input,
  exactly 64 hex digits of either case are accepted and compared case-insensitively).
* ``u64(n)`` is the integer ``n`` as 8 bytes, unsigned, big-endian.
* ``L(x) = u64(len(x)) ‖ x`` for a byte string ``x`` (length-prefixing, so that no two
  different field tuples encode to the same bytes); ``‖`` is concatenation.
* ``utf8(s)`` is the UTF-8 encoding of the string ``s``.

Canonical entrant list (per round)
==================================

An entry is a pair ``(entry_number, masked_name)`` of strings, e.g. ``("A0012", "张*明")``.

* ``entry_number`` must be non-empty; neither field may contain a TAB (U+0009), LF (U+000A)
  or CR (U+000D). Entry numbers must be unique within the list. Strings are used exactly as
  given (no Unicode normalisation, no trimming).
* The entries are sorted by ``entry_number`` compared as strings by Unicode code point,
  which is the same order as comparing their UTF-8 bytes lexicographically (so "A10" sorts
  before "A9": pad the numbers, e.g. "A0009", if the natural order is wanted — the order only
  matters for reproducibility, not fairness).
* The canonical list is the UTF-8 encoding of the concatenation, in that order, of one line
  per entry: ``entry_number ‖ TAB ‖ masked_name ‖ LF``. An empty list is the empty string.
* ``list_hash = hex(SHA-256(canonical list))``.

Lists of several rounds (e.g. round 1 first-home families, round 2 everyone else) are each
canonicalised on their own; an entry number may appear in only one round, and round labels
must be distinct. The hash of the whole frozen list (all rounds, in order) is::

    rounds_hash = hex(SHA-256( L(utf8(label_1)) ‖ list_hash_1 bytes ‖ L(utf8(label_2)) ‖ … ))

(each ``list_hash_i`` as its 32 raw bytes).

Public value
============

Before use, the public value is normalised: Unicode NFC, then leading and trailing white space
removed (a character is white space when its Unicode general category is Zs or its
bidirectional class is WS, B or S — Python's ``str.strip()``). It must not be empty then.
The package records the normalised value.

Random stream
=============

For one round with label ``label`` (a string, used exactly as given; "" for a single round)::

    key     = SHA-256( L(utf8("loupan-lottery/1")) ‖ L(seed bytes) ‖ L(utf8(public value))
                       ‖ L(list_hash bytes) ‖ L(utf8(label)) )
    block_i = SHA-256( key ‖ u64(i) )        for i = 0, 1, 2, …

(seed bytes: the 32 bytes of the seed; list_hash bytes: the 32 bytes of that round's list
hash). The stream is the sequence of 32-byte blocks ``block_0, block_1, …``.

Uniform integer below n (no modulo bias)
========================================

``uniform_below(n)`` for ``1 ≤ n ≤ 2**256``: take the next block of the stream, read it as an
unsigned 256-bit big-endian integer ``x``; let ``limit = 2**256 - (2**256 mod n)`` (the
largest multiple of n not above 2**256). If ``x < limit`` the result is ``x mod n``;
otherwise the block is rejected and the next block is taken (rejection sampling: every
result in ``0 … n-1`` is equally likely). Each candidate consumes exactly one whole block.

Shuffle (Fisher–Yates, Durstenfeld)
===================================

``a`` = the round's entry numbers in canonical (sorted) order, ``n = len(a)``::

    for i from n-1 down to 1:
        j = uniform_below(i + 1)      # 0 ≤ j ≤ i
        swap a[i] and a[j]

The drawn order is ``a``: ``a[0]`` chooses first. Every one of the ``n!`` orders is equally
likely. With several rounds each round is shuffled with its own label and list hash, and
the overall order is round 1's order, then round 2's, and so on.

The package (one JSON file)
===========================

A JSON object (UTF-8)::

    {
      "format": "loupan-lottery/1",
      "event": {…free object: name, project, times…},
      "commitment": "<hex SHA-256 of the seed>",
      "public_value": {"description": "<what was named in advance>", "value": "<normalised>"},
      "seed": "<hex seed>",
      "algorithm": "<informative one-line summary of the above>",
      "list_hash": "<rounds_hash of all rounds>",
      "rounds": [
        {"label": "<label>",
         "entrants": [["<entry_number>", "<masked_name>"], …],   # canonical order
         "list_hash": "<hex>",
         "order": ["<entry_number>", …]},                       # drawn order
        …
      ],
      "package_digest": "<hex>"
    }

``package_digest = hex(SHA-256(utf8(canonical JSON of the object without
"package_digest")))`` where canonical JSON is: object keys sorted by Unicode code point,
no white space at all (separators ``,`` and ``:``), non-ASCII characters written as
themselves (not ``\\uXXXX`` escapes), standard JSON escapes otherwise (Python's
``json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False)``). The event
information should hold only strings, integers, booleans, null, arrays and objects (times as
ISO 8601 strings); :func:`package` converts dates and times to ISO 8601 strings.

Verification (:func:`verify`) recomputes from the file alone: SHA-256(seed) equals the
commitment; each round's list hash equals the hash of its published list; the whole-list
hash; the order recomputed equals the published order; and the package digest.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import hmac
import json
import re
import secrets
import unicodedata
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any

FORMAT = "loupan-lottery/1"
ALGORITHM = (
    "SHA-256 counter-mode stream keyed by L(format)‖L(seed)‖L(public value NFC-stripped)"
    "‖L(list hash)‖L(round label); rejection sampling over 256-bit integers; "
    "Fisher–Yates (Durstenfeld) over the entry numbers sorted by code point"
)

_HEX64 = re.compile(r"[0-9a-fA-F]{64}")
_FORBIDDEN = ("\t", "\n", "\r")
_TWO_256 = 1 << 256

Entry = Mapping[str, str] | Sequence[str]


# ---------------------------------------------------------------------------------------
# seed and commitment


def new_seed() -> str:
    """A fresh secret seed: 32 random bytes from :mod:`secrets`, as 64 lowercase hex digits."""
    return secrets.token_bytes(32).hex()


def _hex32(value: Any, what: str) -> bytes:
    if not isinstance(value, str) or not _HEX64.fullmatch(value):
        raise ValueError(f"{what}应为64位十六进制数字")
    return bytes.fromhex(value)


def commitment(seed_hex: str) -> str:
    """The commitment published before entries close: hex SHA-256 of the seed's 32 bytes."""
    return hashlib.sha256(_hex32(seed_hex, "种子")).hexdigest()


def _encodable(text: str, what: str) -> None:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError(f"{what}不是有效的 Unicode 文本") from None


def normalize_public_value(public_value: str) -> str:
    """NFC, then leading/trailing white space removed; ValueError if empty or not a string."""
    if not isinstance(public_value, str):
        raise ValueError("公开随机值应为文本")
    value = unicodedata.normalize("NFC", public_value).strip()
    if not value:
        raise ValueError("公开随机值不能为空")
    _encodable(value, "公开随机值")
    return value


# ---------------------------------------------------------------------------------------
# canonical entrant list


def _pair(entry: Any) -> tuple[str, str]:
    if isinstance(entry, Mapping):
        try:
            number, name = entry["entry_number"], entry["masked_name"]
        except KeyError as exc:
            raise ValueError(f"报名记录缺少字段 {exc.args[0]}") from None
    elif isinstance(entry, Sequence) and not isinstance(entry, str | bytes) and len(entry) == 2:
        number, name = entry[0], entry[1]
    else:
        raise ValueError("报名记录应为 (报名号, 脱敏姓名)")
    if not isinstance(number, str) or not isinstance(name, str):
        raise ValueError("报名号和脱敏姓名应为文本")
    if not number:
        raise ValueError("报名号不能为空")
    for field, text in (("报名号", number), ("脱敏姓名", name)):
        if any(ch in text for ch in _FORBIDDEN):
            raise ValueError(f"{field}不能包含制表符或换行符：{text!r}")
        _encodable(text, field)
    return number, name


def canonical_rows(entries: Iterable[Entry]) -> list[list[str]]:
    """The entries as ``[entry_number, masked_name]`` rows in canonical order (sorted by
    entry number by code point); ValueError on a malformed entry or a repeated number."""
    rows = sorted((_pair(e) for e in entries), key=lambda pair: pair[0])
    for previous, current in zip(rows, rows[1:], strict=False):
        if previous[0] == current[0]:
            raise ValueError(f"报名号重复：{current[0]}")
    return [[number, name] for number, name in rows]


def canonical_list(entries: Iterable[Entry]) -> bytes:
    """The canonical form of an entrant list: UTF-8 lines ``number TAB name LF``, sorted."""
    return "".join(f"{number}\t{name}\n" for number, name in canonical_rows(entries)).encode()


def list_hash(entries: Iterable[Entry]) -> str:
    """Hex SHA-256 of :func:`canonical_list`."""
    return hashlib.sha256(canonical_list(entries)).hexdigest()


def _lp(data: bytes) -> bytes:
    return len(data).to_bytes(8, "big") + data


def rounds_hash(rounds: Sequence[tuple[str, Iterable[Entry]]]) -> str:
    """Hex SHA-256 of the whole frozen list: ``L(label) ‖ list hash bytes`` per round."""
    labels, lists = _check_rounds(rounds)
    return _rounds_hash_from(labels, [list_hash(rows) for rows in lists])


def _rounds_hash_from(labels: Sequence[str], hashes: Sequence[str]) -> str:
    data = b"".join(
        _lp(label.encode()) + bytes.fromhex(h) for label, h in zip(labels, hashes, strict=True)
    )
    return hashlib.sha256(data).hexdigest()


# ---------------------------------------------------------------------------------------
# the random stream and the shuffle


def stream_key(seed_hex: str, public_value: str, list_hash_hex: str, round_label: str) -> bytes:
    """The 32-byte key of the stream (see the module docstring)."""
    if not isinstance(round_label, str):
        raise ValueError("轮次名称应为文本")
    _encodable(round_label, "轮次名称")
    material = b"".join(
        (
            _lp(FORMAT.encode()),
            _lp(_hex32(seed_hex, "种子")),
            _lp(normalize_public_value(public_value).encode()),
            _lp(_hex32(list_hash_hex, "名单摘要")),
            _lp(round_label.encode()),
        )
    )
    return hashlib.sha256(material).digest()


def stream(
    seed_hex: str, public_value: str, list_hash_hex: str, round_label: str = ""
) -> Iterator[bytes]:
    """The endless stream of 32-byte blocks ``SHA-256(key ‖ u64(i))``, i = 0, 1, 2, …"""
    key = stream_key(seed_hex, public_value, list_hash_hex, round_label)

    def blocks() -> Iterator[bytes]:
        counter = 0
        while True:
            yield hashlib.sha256(key + counter.to_bytes(8, "big")).digest()
            counter += 1

    return blocks()


def uniform_below(n: int, stream: Iterator[bytes]) -> int:
    """A uniform integer in ``0 … n-1`` from the stream, by rejection sampling over 256-bit
    integers (one block per candidate; a block ≥ the largest multiple of n is rejected)."""
    if isinstance(n, bool) or not isinstance(n, int) or not 1 <= n <= _TWO_256:
        raise ValueError("n 应为 1 到 2**256 之间的整数")
    limit = _TWO_256 - (_TWO_256 % n)
    for block in stream:
        if not isinstance(block, bytes | bytearray) or len(block) != 32:
            raise ValueError("随机流的每块应为32字节")
        x = int.from_bytes(block, "big")
        if x < limit:
            return x % n
    raise ValueError("随机流已耗尽")


def _shuffle(numbers: list[str], blocks: Iterator[bytes]) -> list[str]:
    a = list(numbers)
    for i in range(len(a) - 1, 0, -1):
        j = uniform_below(i + 1, blocks)
        a[i], a[j] = a[j], a[i]
    return a


def draw(
    seed_hex: str, public_value: str, entries: Iterable[Entry], round_label: str = ""
) -> list[str]:
    """The entry numbers in drawn order (the first chooses first) for one round."""
    rows = canonical_rows(entries)
    digest = hashlib.sha256(canonical_list(rows)).hexdigest()
    blocks = stream(seed_hex, public_value, digest, round_label)
    return _shuffle([number for number, _ in rows], blocks)


def _check_rounds(rounds: Any) -> tuple[list[str], list[list[list[str]]]]:
    if isinstance(rounds, str | bytes) or not isinstance(rounds, Sequence):
        raise ValueError("轮次应为 (轮次名称, 名单) 的列表")
    labels: list[str] = []
    lists: list[list[list[str]]] = []
    owner: dict[str, int] = {}
    for index, item in enumerate(rounds, start=1):
        if isinstance(item, str | bytes) or not isinstance(item, Sequence) or len(item) != 2:
            raise ValueError(f"第{index}轮应为 (轮次名称, 名单)")
        label, entries = item
        if not isinstance(label, str):
            raise ValueError(f"第{index}轮的名称应为文本")
        _encodable(label, f"第{index}轮的名称")
        if label in labels:
            raise ValueError(f"轮次名称重复：{label!r}")
        rows = canonical_rows(entries)
        for number, _ in rows:
            if number in owner:
                raise ValueError(f"报名号 {number} 同时出现在第{owner[number]}轮和第{index}轮")
            owner[number] = index
        labels.append(label)
        lists.append(rows)
    return labels, lists


def draw_rounds(
    seed_hex: str, public_value: str, rounds: Sequence[tuple[str, Iterable[Entry]]]
) -> list[tuple[str, list[str]]]:
    """Each round shuffled on its own with its label: ``[(label, order), …]`` in round order.
    An entry number may appear in one round only and labels must differ (ValueError)."""
    labels, lists = _check_rounds(rounds)
    return [
        (label, draw(seed_hex, public_value, rows, label))
        for label, rows in zip(labels, lists, strict=True)
    ]


def overall_order(result: Iterable[tuple[str, Sequence[str]]]) -> list[str]:
    """The overall order of selection: round 1's order, then round 2's, …"""
    return [number for _, order in result for number in order]


# ---------------------------------------------------------------------------------------
# the package


def canonical_json(obj: Any) -> bytes:
    """Sorted keys, no white space, non-ASCII as itself, UTF-8 (see the module docstring)."""
    return json.dumps(
        obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    ).encode("utf-8")


def package_digest(pkg: Mapping[str, Any]) -> str:
    """Hex SHA-256 of the canonical JSON of the package without ``package_digest``."""
    return hashlib.sha256(
        canonical_json({k: v for k, v in pkg.items() if k != "package_digest"})
    ).hexdigest()


def _jsonable(value: Any) -> Any:
    if isinstance(value, _dt.datetime | _dt.date | _dt.time):
        return value.isoformat()
    raise TypeError(f"不能写入摇号公示文件的值：{type(value).__name__}")


def package(
    event: Mapping[str, Any],
    seed_hex: str,
    public_value: str,
    rounds: Sequence[tuple[str, Iterable[Entry]]],
    result: Sequence[tuple[str, Sequence[str]]] | None = None,
    *,
    public_value_description: str = "",
    commitment_hex: str | None = None,
) -> dict[str, Any]:
    """The one JSON document published after the draw, that a notary keeps.

    ``result`` is what :func:`draw_rounds` returned (None: it is computed here); a result
    that does not match the recomputation, or a ``commitment_hex`` (the one published before
    entries closed) that does not match the seed, raises ValueError: a package that would
    not verify is never produced."""
    seed = _hex32(seed_hex, "种子").hex()
    value = normalize_public_value(public_value)
    labels, lists = _check_rounds(rounds)
    expected = draw_rounds(seed, value, list(zip(labels, lists, strict=True)))
    if result is not None:
        given = [(label, list(order)) for label, order in result]
        if given != expected:
            raise ValueError("摇号结果与重新计算的结果不符")
    committed = commitment(seed)
    if commitment_hex is not None and not (
        isinstance(commitment_hex, str)
        and hmac.compare_digest(commitment_hex.lower().encode(), committed.encode())
    ):
        raise ValueError("种子与承诺不符")
    if not isinstance(public_value_description, str):
        raise ValueError("公开随机值说明应为文本")
    if not isinstance(event, Mapping):
        raise ValueError("活动信息应为对象")
    event_json = json.loads(json.dumps(dict(event), default=_jsonable, allow_nan=False))
    hashes = [hashlib.sha256(canonical_list(rows)).hexdigest() for rows in lists]
    pkg: dict[str, Any] = {
        "format": FORMAT,
        "event": event_json,
        "commitment": committed,
        "public_value": {"description": public_value_description, "value": value},
        "seed": seed,
        "algorithm": ALGORITHM,
        "list_hash": _rounds_hash_from(labels, hashes),
        "rounds": [
            {"label": label, "entrants": rows, "list_hash": digest, "order": order}
            for (label, order), rows, digest in zip(expected, lists, hashes, strict=True)
        ],
    }
    pkg["package_digest"] = package_digest(pkg)
    return pkg


def dumps(pkg: Mapping[str, Any]) -> str:
    """The package as the text of the published file: indented, keys sorted, UTF-8 as is.
    (The digest is over the canonical form, so the file's layout does not matter.)"""
    return json.dumps(pkg, sort_keys=True, indent=2, ensure_ascii=False, allow_nan=False) + "\n"


# ---------------------------------------------------------------------------------------
# verification


def _is_hex64(value: Any) -> bool:
    return isinstance(value, str) and bool(_HEX64.fullmatch(value))


def _is_encodable(text: str) -> bool:
    try:
        _encodable(text, "")
    except ValueError:
        return False
    return True


def _same_hex(a: str, b: str) -> bool:
    return hmac.compare_digest(a.lower().encode(), b.lower().encode())


def verify(pkg: Any) -> tuple[bool, list[str]]:
    """Recompute everything from the package alone: ``(ok, problems)``, the problems in
    Chinese, naming what differs. Never raises on malformed input."""
    try:
        problems = _verify(pkg)
    except Exception as exc:  # a last resort: malformed input never raises
        problems = [f"无法校验：{type(exc).__name__}: {exc}"]
    return not problems, problems


def _verify(pkg: Any) -> list[str]:
    if not isinstance(pkg, Mapping):
        return ["文件内容应为 JSON 对象"]
    problems: list[str] = []

    fmt = pkg.get("format")
    if fmt != FORMAT:
        problems.append(f"格式不符：应为 {FORMAT}，文件中为 {fmt!r}")
    if not isinstance(pkg.get("event"), Mapping):
        problems.append("缺少或无效的字段：event（活动信息）")

    seed, committed = pkg.get("seed"), pkg.get("commitment")
    seed_ok = _is_hex64(seed)
    if not seed_ok:
        problems.append("缺少或无效的字段：seed（应为64位十六进制种子）")
    if not _is_hex64(committed):
        problems.append("缺少或无效的字段：commitment（应为64位十六进制承诺）")
    elif seed_ok and not _same_hex(commitment(seed), committed):
        problems.append("种子与承诺不符")

    public = pkg.get("public_value")
    value = None
    if not isinstance(public, Mapping):
        problems.append("缺少或无效的字段：public_value（公开随机值）")
    else:
        if not isinstance(public.get("description", ""), str):
            problems.append("无效的字段：public_value.description（应为文本）")
        try:
            value = normalize_public_value(public.get("value"))
        except ValueError:
            problems.append("缺少或无效的字段：public_value.value（公开随机值）")

    rounds = pkg.get("rounds")
    labels: list[str] = []
    hashes: list[str] = []
    whole_list_ok = True
    if not isinstance(rounds, list):
        problems.append("缺少或无效的字段：rounds（轮次）")
        rounds, whole_list_ok = [], False
    owner: dict[str, int] = {}
    for index, rnd in enumerate(rounds, start=1):
        where = f"第{index}轮"
        if not isinstance(rnd, Mapping):
            problems.append(f"{where}：内容应为对象")
            whole_list_ok = False
            continue
        label = rnd.get("label")
        if not isinstance(label, str) or not _is_encodable(label):
            problems.append(f"{where}：缺少或无效的字段 label（轮次名称）")
            whole_list_ok = False
            continue
        if label in labels:
            problems.append(f"{where}：轮次名称重复（{label}）")
        entrants = rnd.get("entrants")
        try:
            if not isinstance(entrants, list):
                raise ValueError("缺少或无效的字段 entrants（名单）")
            rows = canonical_rows(entrants)
        except ValueError as exc:
            problems.append(f"{where}名单格式错误：{exc}")
            whole_list_ok = False
            continue
        if entrants != rows:
            problems.append(
                f"{where}名单不是规范形式（应为按报名号排序的 [报名号, 脱敏姓名] 列表）"
            )
        for number, _ in rows:
            if number in owner:
                problems.append(f"报名号 {number} 同时出现在第{owner[number]}轮和{where}")
            else:
                owner[number] = index
        digest = hashlib.sha256(canonical_list(rows)).hexdigest()
        published_hash = rnd.get("list_hash")
        if not _is_hex64(published_hash):
            problems.append(f"{where}：缺少或无效的字段 list_hash（名单摘要）")
        elif not _same_hex(digest, published_hash):
            problems.append(f"{where}名单摘要不符")
        labels.append(label)
        hashes.append(digest)

        order = rnd.get("order")
        if not isinstance(order, list) or not all(isinstance(n, str) for n in order):
            problems.append(f"{where}：缺少或无效的字段 order（摇号顺序）")
            continue
        if seed_ok and value is not None:
            blocks = stream(seed, value, digest, label)
            expected = _shuffle([number for number, _ in rows], blocks)
            if order != expected:
                first = next(
                    (k for k, (a, b) in enumerate(zip(order, expected, strict=False)) if a != b),
                    min(len(order), len(expected)),
                )
                detail = f"第{first + 1}位起"
                if len(order) != len(expected):
                    detail += f"；应有{len(expected)}位，文件中{len(order)}位"
                problems.append(f"{where}顺序不符（{detail}）")

    whole = pkg.get("list_hash")
    if not _is_hex64(whole):
        problems.append("缺少或无效的字段：list_hash（全部名单摘要）")
    elif whole_list_ok and not _same_hex(_rounds_hash_from(labels, hashes), whole):
        problems.append("全部名单摘要不符")

    published_digest = pkg.get("package_digest")
    if not _is_hex64(published_digest):
        problems.append("缺少或无效的字段：package_digest（文件摘要）")
    else:
        try:
            digest_ok = _same_hex(package_digest(pkg), published_digest)
        except (TypeError, ValueError):
            digest_ok = False
        if not digest_ok:
            problems.append("文件摘要不符")
    return problems


def _no_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    obj: dict[str, Any] = {}
    for key, val in pairs:
        if key in obj:
            raise ValueError(f"JSON 中有重复的键：{key}")
        obj[key] = val
    return obj


def _no_constant(name: str) -> Any:
    raise ValueError(f"JSON 中有非标准的数值：{name}")


def loads(text: str | bytes) -> Any:
    """Parse a package file (UTF-8, a BOM tolerated); ValueError with a Chinese message on
    invalid JSON, repeated keys or NaN/Infinity, so that what is checked is unambiguous."""
    try:
        if isinstance(text, bytes | bytearray):
            text = bytes(text).decode("utf-8-sig")
        else:
            text = text.removeprefix("\ufeff")
        return json.loads(text, object_pairs_hook=_no_duplicate_keys, parse_constant=_no_constant)
    except UnicodeDecodeError:
        raise ValueError("文件不是 UTF-8 编码") from None
    except json.JSONDecodeError as exc:
        raise ValueError(f"文件不是有效的 JSON（第{exc.lineno}行第{exc.colno}列）") from None
    except RecursionError:
        raise ValueError("文件嵌套过深") from None


def verify_text(text: str | bytes) -> tuple[bool, list[str]]:
    """:func:`loads` then :func:`verify`; a parse error is a problem. Never raises."""
    try:
        pkg = loads(text)
    except ValueError as exc:
        return False, [str(exc)]
    return verify(pkg)


def summary(pkg: Any) -> tuple[str, int, int]:
    """``(event name, number of entrants, number of rounds)`` for display; never raises."""
    try:
        event = pkg.get("event") if isinstance(pkg, Mapping) else None
        name = event.get("name") if isinstance(event, Mapping) else None
        rounds = pkg.get("rounds") if isinstance(pkg, Mapping) else None
        rounds = rounds if isinstance(rounds, list) else []
        count = sum(
            len(r["entrants"])
            for r in rounds
            if isinstance(r, Mapping) and isinstance(r.get("entrants"), list)
        )
        return (name if isinstance(name, str) else "", count, len(rounds))
    except Exception:
        return "", 0, 0
