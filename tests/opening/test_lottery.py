"""The lottery 摇号 (loupan.opening.lottery): deterministic, equiprobable, verifiable from the
published package alone; and ``loupan verify-lottery FILE``. No database needed."""

import copy
import hashlib
import itertools
import json
from collections import Counter

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from loupan.opening import lottery

SEED = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"
OTHER_SEED = "f" * 64
PUBLIC = "drand quicknet round 12345: 8c1f0a"

ENTRIES = [(f"A{i:04d}", f"张*{i}") for i in range(1, 21)]


def _seed(i: int) -> str:
    return hashlib.sha256(f"seed-{i}".encode()).hexdigest()


def _rounds():
    first_home = [(f"A{i:04d}", f"李*{i}") for i in range(1, 9)]
    others = [{"entry_number": f"B{i:04d}", "masked_name": f"王*{i}"} for i in range(1, 13)]
    return [("首套家庭", first_home), ("其他", others)]


def _package(**kwargs):
    rounds = _rounds()
    result = lottery.draw_rounds(SEED, PUBLIC, rounds)
    return lottery.package(
        {"name": "春华苑一期开盘", "project": "CHW", "draw_at": "2025-03-01T10:00:00+08:00"},
        SEED,
        PUBLIC,
        rounds,
        result,
        public_value_description="drand quicknet 第 12345 轮随机值",
        **kwargs,
    )


def _redigest(pkg):
    pkg["package_digest"] = lottery.package_digest(pkg)
    return pkg


# -- seed, commitment, canonical list ---------------------------------------------------


def test_new_seed_and_commitment():
    seed = lottery.new_seed()
    assert len(seed) == 64 and int(seed, 16) >= 0
    assert seed != lottery.new_seed()
    assert lottery.commitment(SEED) == hashlib.sha256(bytes.fromhex(SEED)).hexdigest()
    for bad in ("abc", "zz" * 32, SEED + "00", "aa bb" + SEED[5:], 42):
        with pytest.raises(ValueError):
            lottery.commitment(bad)


def test_canonical_list_form_and_hash():
    entries = [("A10", "王*"), {"entry_number": "A09", "masked_name": "张*明"}, ["A9", ""]]
    data = lottery.canonical_list(entries)
    assert data == "A09\t张*明\nA10\t王*\nA9\t\n".encode()
    assert lottery.list_hash(entries) == hashlib.sha256(data).hexdigest()
    assert lottery.canonical_list([]) == b""
    # the order given does not matter, the content does
    assert lottery.list_hash(reversed(entries)) == lottery.list_hash(entries)
    assert lottery.list_hash([("A10", "王*"), ("A09", "张*明")]) != lottery.list_hash(entries)


@pytest.mark.parametrize(
    "entries",
    [
        [("A1", "x"), ("A1", "y")],  # repeated number
        [("A\t1", "x")],
        [("A1\n", "x")],
        [("A1", "x\ny")],
        [("A1", "x\ty")],
        [("A1", "x\r")],
        [("", "x")],
        [("A1",)],
        ["A1"],
        [(1, "x")],
        [("A1", None)],
        [{"entry_number": "A1"}],
        [("A\ud800", "x")],  # a lone surrogate is not UTF-8
    ],
)
def test_canonical_list_errors(entries):
    with pytest.raises(ValueError):
        lottery.canonical_list(entries)


# -- the stream and uniform_below -------------------------------------------------------


def test_stream_is_sha256_counter_mode_over_length_prefixed_key():
    h = lottery.list_hash(ENTRIES)

    def lp(b):
        return len(b).to_bytes(8, "big") + b

    key = hashlib.sha256(
        lp(b"loupan-lottery/1")
        + lp(bytes.fromhex(SEED))
        + lp(PUBLIC.encode())
        + lp(bytes.fromhex(h))
        + lp("首套".encode())
    ).digest()
    blocks = list(itertools.islice(lottery.stream(SEED, PUBLIC, h, "首套"), 3))
    assert blocks == [hashlib.sha256(key + i.to_bytes(8, "big")).digest() for i in range(3)]


def test_public_value_is_normalised():
    h = lottery.list_hash(ENTRIES)
    first = next(lottery.stream(SEED, "e\u0301 12", h))
    assert next(lottery.stream(SEED, " \u00e9 12\u3000\n", h)) == first
    assert next(lottery.stream(SEED, "é 13", h)) != first
    for bad in ("", "  \u3000", None):
        with pytest.raises(ValueError):
            lottery.stream(SEED, bad, h)


def test_uniform_below_rejects_the_biased_tail():
    top = (1 << 256) - 1  # 2**256 mod 3 == 1: the last value is in the biased tail
    crafted = iter([top.to_bytes(32, "big"), top.to_bytes(32, "big"), (7).to_bytes(32, "big")])
    assert lottery.uniform_below(3, crafted) == 7 % 3
    assert next(crafted, None) is None  # both rejected blocks and the accepted one consumed
    # just below the limit is accepted
    limit = (1 << 256) - (1 << 256) % 3
    assert lottery.uniform_below(3, iter([(limit - 1).to_bytes(32, "big")])) == (limit - 1) % 3
    with pytest.raises(ValueError):
        lottery.uniform_below(3, iter([top.to_bytes(32, "big")]))  # exhausted
    with pytest.raises(ValueError):
        lottery.uniform_below(3, iter([b"short"]))
    for bad in (0, -1, (1 << 256) + 1, 2.0, True):
        with pytest.raises(ValueError):
            lottery.uniform_below(bad, iter([bytes(32)]))
    assert lottery.uniform_below(1 << 256, iter([b"\xff" * 32])) == (1 << 256) - 1


@pytest.mark.parametrize("n", [1, 2, 3, 5, 7, 10, 1000, 2**64 + 1])
def test_uniform_below_never_reaches_n(n):
    blocks = lottery.stream(SEED, PUBLIC, lottery.list_hash([]))
    values = [lottery.uniform_below(n, blocks) for _ in range(300)]
    assert all(0 <= v < n for v in values)
    if n <= 10:
        assert set(values) == set(range(n))


# -- the draw ---------------------------------------------------------------------------


def test_draw_is_deterministic_and_a_permutation():
    order = lottery.draw(SEED, PUBLIC, ENTRIES)
    assert order == lottery.draw(SEED, PUBLIC, list(reversed(ENTRIES)))
    assert sorted(order) == [e[0] for e in ENTRIES]
    assert order != sorted(order)
    assert lottery.draw(SEED, PUBLIC, []) == []
    assert lottery.draw(SEED, PUBLIC, [("A1", "x")]) == ["A1"]


def test_draw_is_fisher_yates_over_the_sorted_list():
    h = lottery.list_hash(ENTRIES)
    blocks = lottery.stream(SEED, PUBLIC, h, "")
    a = sorted(e[0] for e in ENTRIES)
    for i in range(len(a) - 1, 0, -1):
        j = lottery.uniform_below(i + 1, blocks)
        a[i], a[j] = a[j], a[i]
    assert lottery.draw(SEED, PUBLIC, ENTRIES) == a


def test_every_input_changes_the_order():
    order = lottery.draw(SEED, PUBLIC, ENTRIES)
    assert lottery.draw(OTHER_SEED, PUBLIC, ENTRIES) != order
    assert lottery.draw(SEED, PUBLIC + "0", ENTRIES) != order
    assert lottery.draw(SEED, PUBLIC, ENTRIES, round_label="第二轮") != order
    renamed = [(n, name + "x" if n == "A0005" else name) for n, name in ENTRIES]
    assert lottery.draw(SEED, PUBLIC, renamed) != order
    assert lottery.draw(SEED, PUBLIC, ENTRIES[:-1]) != [n for n in order if n != "A0020"]


def test_rounds_are_independent_and_disjoint():
    rounds = _rounds()
    result = lottery.draw_rounds(SEED, PUBLIC, rounds)
    assert [label for label, _ in result] == ["首套家庭", "其他"]
    assert result[0][1] == lottery.draw(SEED, PUBLIC, rounds[0][1], "首套家庭")
    assert result[1][1] == lottery.draw(SEED, PUBLIC, rounds[1][1], "其他")
    overall = lottery.overall_order(result)
    assert overall[:8] == result[0][1] and overall[8:] == result[1][1]
    assert len(set(overall)) == 20
    with pytest.raises(ValueError, match="A0001"):
        lottery.draw_rounds(SEED, PUBLIC, [("1", [("A0001", "x")]), ("2", [("A0001", "y")])])
    with pytest.raises(ValueError):
        lottery.draw_rounds(SEED, PUBLIC, [("1", [("A1", "x")]), ("1", [("A2", "y")])])
    with pytest.raises(ValueError):
        lottery.draw_rounds(SEED, PUBLIC, [(1, [("A1", "x")])])


def _chi_square(counts: Counter, outcomes: list, draws: int) -> float:
    expected = draws / len(outcomes)
    return sum((counts[o] - expected) ** 2 / expected for o in outcomes)


@pytest.mark.parametrize(
    ("size", "draws", "critical"),
    [(3, 6_000, 20.52), (4, 24_000, 49.73)],  # chi-square, df = n!-1, p = 0.001
)
def test_every_order_is_equally_likely(size, draws, critical):
    entries = [(f"E{i}", "") for i in range(size)]
    counts = Counter(tuple(lottery.draw(_seed(k), PUBLIC, entries)) for k in range(draws))
    outcomes = list(itertools.permutations(e[0] for e in entries))
    assert set(counts) == set(outcomes)
    assert _chi_square(counts, outcomes, draws) < critical


def test_each_entrant_is_equally_likely_first_with_public_values():
    entries = [(f"E{i}", "") for i in range(5)]
    draws = 5_000
    counts = Counter(lottery.draw(SEED, str(k), entries)[0] for k in range(draws))
    assert _chi_square(counts, [e[0] for e in entries], draws) < 18.47  # df = 4, p = 0.001


# -- the package and verify -------------------------------------------------------------


def test_package_contents_and_verify():
    pkg = _package(commitment_hex=lottery.commitment(SEED).upper())
    assert pkg["format"] == "loupan-lottery/1"
    assert pkg["commitment"] == lottery.commitment(SEED)
    assert pkg["seed"] == SEED
    assert pkg["public_value"] == {
        "description": "drand quicknet 第 12345 轮随机值",
        "value": PUBLIC,
    }
    assert pkg["event"]["name"] == "春华苑一期开盘"
    first = pkg["rounds"][0]
    assert first["label"] == "首套家庭"
    assert first["entrants"][0] == ["A0001", "李*1"]
    assert first["list_hash"] == lottery.list_hash(_rounds()[0][1])
    assert pkg["list_hash"] == lottery.rounds_hash(_rounds())
    assert pkg["package_digest"] == lottery.package_digest(pkg)
    assert lottery.verify(pkg) == (True, [])
    # the published file round-trips, whatever its layout
    text = lottery.dumps(pkg)
    assert "春华苑" in text
    assert lottery.verify(json.loads(text)) == (True, [])
    assert lottery.verify_text(text.encode("utf-8-sig")) == (True, [])


def test_package_refuses_what_would_not_verify():
    rounds = _rounds()
    result = lottery.draw_rounds(SEED, PUBLIC, rounds)
    swapped = [(result[0][0], list(reversed(result[0][1]))), result[1]]
    with pytest.raises(ValueError):
        lottery.package({"name": "x"}, SEED, PUBLIC, rounds, swapped)
    with pytest.raises(ValueError, match="种子与承诺不符"):
        lottery.package({}, SEED, PUBLIC, rounds, result, commitment_hex="0" * 64)
    with pytest.raises(TypeError):
        lottery.package({"when": object()}, SEED, PUBLIC, rounds, result)


def test_package_computes_the_result_and_writes_dates():
    import datetime as dt

    when = dt.datetime(2025, 3, 1, 10, 0, tzinfo=dt.timezone(dt.timedelta(hours=8)))
    pkg = lottery.package({"name": "x", "draw_at": when}, SEED, f"  {PUBLIC} ", _rounds(), None)
    assert pkg["event"]["draw_at"] == "2025-03-01T10:00:00+08:00"
    assert pkg["public_value"]["value"] == PUBLIC
    assert pkg["rounds"][1]["order"] == lottery.draw_rounds(SEED, PUBLIC, _rounds())[1][1]
    assert lottery.verify(pkg)[0]


def test_tampered_list_is_detected():
    pkg = _package()
    pkg["rounds"][0]["entrants"][2][1] = "赵*"
    ok, problems = lottery.verify(pkg)
    assert not ok
    assert "第1轮名单摘要不符" in problems
    assert "文件摘要不符" in problems
    # even when the forger recomputes the file digest, the list hashes give it away
    ok, problems = lottery.verify(_redigest(pkg))
    assert "第1轮名单摘要不符" in problems and "全部名单摘要不符" in problems
    assert "文件摘要不符" not in problems


def test_changed_seed_is_detected():
    pkg = _package()
    pkg["seed"] = OTHER_SEED
    ok, problems = lottery.verify(_redigest(pkg))
    assert not ok
    assert "种子与承诺不符" in problems
    assert any(p.startswith("第1轮顺序不符") for p in problems)


def test_changed_public_value_is_detected():
    pkg = _package()
    pkg["public_value"]["value"] = PUBLIC + "1"
    ok, problems = lottery.verify(_redigest(pkg))
    assert not ok
    assert any(p.startswith("第1轮顺序不符") for p in problems)
    assert any(p.startswith("第2轮顺序不符") for p in problems)
    assert "种子与承诺不符" not in problems


def test_changed_order_is_detected_with_the_position():
    pkg = _package()
    order = pkg["rounds"][0]["order"]
    order[2], order[5] = order[5], order[2]
    ok, problems = lottery.verify(_redigest(pkg))
    assert (ok, problems) == (False, ["第1轮顺序不符（第3位起）"])
    pkg = _package()
    pkg["rounds"][1]["order"].pop()
    ok, problems = lottery.verify(_redigest(pkg))
    assert problems == ["第2轮顺序不符（第12位起；应有12位，文件中11位）"]


def test_changed_digest_or_event_is_detected():
    pkg = _package()
    pkg["package_digest"] = "0" * 64
    assert lottery.verify(pkg) == (False, ["文件摘要不符"])
    pkg = _package()
    pkg["event"]["name"] = "另一个活动"
    assert lottery.verify(pkg) == (False, ["文件摘要不符"])
    pkg = _package()
    pkg["public_value"]["description"] = "另一个来源"
    assert lottery.verify(pkg) == (False, ["文件摘要不符"])


def test_changed_round_label_or_moved_entrant_is_detected():
    pkg = _package()
    pkg["rounds"][0]["label"] = "第一轮"
    ok, problems = lottery.verify(_redigest(pkg))
    assert any(p.startswith("第1轮顺序不符") for p in problems)
    assert "全部名单摘要不符" in problems
    assert not any(p.startswith("第2轮") for p in problems)
    pkg = _package()
    moved = pkg["rounds"][1]["entrants"][0]
    pkg["rounds"][0]["entrants"].append(moved)
    pkg["rounds"][0]["entrants"].sort()
    ok, problems = lottery.verify(_redigest(pkg))
    assert f"报名号 {moved[0]} 同时出现在第1轮和第2轮" in problems
    assert "第1轮名单摘要不符" in problems


@pytest.mark.parametrize(
    "mutate",
    [
        lambda p: p.pop("seed"),
        lambda p: p.update(seed=12),
        lambda p: p.update(seed="xyz"),
        lambda p: p.pop("commitment"),
        lambda p: p.update(format="loupan-lottery/2"),
        lambda p: p.update(event=[]),
        lambda p: p.update(public_value="drand"),
        lambda p: p["public_value"].update(value=None),
        lambda p: p["public_value"].update(value="   "),
        lambda p: p["public_value"].update(description=3),
        lambda p: p.update(rounds={}),
        lambda p: p.update(rounds=[None, 3]),
        lambda p: p["rounds"][0].pop("label"),
        lambda p: p["rounds"][0].update(entrants="A1"),
        lambda p: p["rounds"][0].update(entrants=[["A1"]]),
        lambda p: p["rounds"][0].update(entrants=[["A1", "x"], ["A1", "y"]]),
        lambda p: p["rounds"][0].update(entrants=[[1, {}]]),
        lambda p: p["rounds"][0].update(list_hash=None),
        lambda p: p["rounds"][0].update(order=[1, 2]),
        lambda p: p["rounds"][0].update(order="A0001"),
        lambda p: p["rounds"][1].update(label="首套家庭"),
        lambda p: p["rounds"][0]["entrants"].reverse(),
        lambda p: p["rounds"][0].update(entrants=[{"entry_number": "A1", "masked_name": "x"}]),
        lambda p: p["rounds"][0].update(label="\ud800"),
        lambda p: p["rounds"][0]["entrants"][0].__setitem__(1, "\udfff"),
        lambda p: p["public_value"].update(value="\ud800"),
        lambda p: p.pop("list_hash"),
        lambda p: p.pop("package_digest"),
        lambda p: p.update(package_digest=["x"]),
        lambda p: p["event"].update(bad=float("nan")),
    ],
)
def test_malformed_packages_give_problems_not_exceptions(mutate):
    pkg = _package()
    mutate(pkg)
    ok, problems = lottery.verify(pkg)
    assert not ok
    assert problems and all(isinstance(p, str) and p for p in problems)
    assert not any(p.startswith("无法校验") for p in problems)  # named, not a crash


@pytest.mark.parametrize("pkg", [None, [], "x", 3, {}, {"rounds": [[]]}, {"seed": SEED}])
def test_not_a_package_at_all(pkg):
    ok, problems = lottery.verify(pkg)
    assert not ok and problems


@pytest.mark.parametrize(
    "text",
    [b"", b"{", "not json", b"\xff\xfe", '{"a": 1, "a": 2}', '{"a": NaN}', "[" * 100_000],
)
def test_verify_text_on_bad_files(text):
    ok, problems = lottery.verify_text(text)
    assert not ok and len(problems) == 1


def test_verify_does_not_modify_the_package_and_summary():
    one = _package()
    two = copy.deepcopy(one)
    assert lottery.verify(two) == (True, [])
    assert two == one
    assert lottery.summary(one) == ("春华苑一期开盘", 20, 2)
    assert lottery.summary(None) == ("", 0, 0)


# -- the command ------------------------------------------------------------------------


def test_command_matching(tmp_path, capsys):
    path = tmp_path / "lottery.json"
    path.write_text(lottery.dumps(_package()), encoding="utf-8")
    call_command("verify-lottery", str(path))
    out = capsys.readouterr().out
    assert "一致" in out and "春华苑一期开盘" in out and "20 名报名者" in out


def test_command_tampered(tmp_path):
    pkg = _package()
    pkg["rounds"][0]["order"].reverse()
    path = tmp_path / "lottery.json"
    path.write_text(lottery.dumps(pkg), encoding="utf-8")
    with pytest.raises(CommandError, match="第1轮顺序不符") as exc:
        call_command("verify-lottery", str(path))
    assert exc.value.returncode == 1
    assert "文件摘要不符" in str(exc.value)


def test_command_bad_or_missing_file(tmp_path):
    path = tmp_path / "lottery.json"
    path.write_text("{nope", encoding="utf-8")
    with pytest.raises(CommandError, match="JSON"):
        call_command("verify-lottery", str(path))
    with pytest.raises(CommandError):
        call_command("verify-lottery", str(tmp_path / "missing.json"))


def test_command_exit_code_from_the_command_line(tmp_path):
    import subprocess
    import sys

    good, bad = tmp_path / "good.json", tmp_path / "bad.json"
    good.write_text(lottery.dumps(_package()), encoding="utf-8")
    pkg = _package()
    pkg["seed"] = OTHER_SEED
    bad.write_text(lottery.dumps(pkg), encoding="utf-8")
    run = [sys.executable, "-m", "loupan", "verify-lottery"]
    env = {**__import__("os").environ, "DATABASE_URL": "postgres://nobody@127.0.0.1:1/none"}
    ok = subprocess.run([*run, str(good)], capture_output=True, text=True, env=env)
    assert ok.returncode == 0, ok.stderr
    assert "一致" in ok.stdout
    ko = subprocess.run([*run, str(bad)], capture_output=True, text=True, env=env)
    assert ko.returncode == 1
    assert "种子与承诺不符" in ko.stderr
