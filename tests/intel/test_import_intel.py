"""`manage.py import_intel`: real feeds, the JSON summary line, exit codes and bad input."""

import gzip
import io
import json
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from intel.models import TLP, Indicator, IndicatorSource, Source
from intel.parsers import ParseError, ParserOptions, parse

pytestmark = pytest.mark.django_db

DEMO_FEEDS = Path(__file__).resolve().parents[2] / "demo" / "feeds"


def run(path: Path | str, *args: str) -> dict:
    """Run import_intel and return its last stdout line, parsed."""
    out = io.StringIO()
    call_command("import_intel", str(path), *args, stdout=out)
    return json.loads(out.getvalue().strip().splitlines()[-1])


def write(tmp_path: Path, name: str, content: bytes | str) -> Path:
    path = tmp_path / name
    path.write_bytes(content.encode() if isinstance(content, str) else content)
    return path


# Counts verified independently of TDP's parsers (csv module, json, idna; see the comments):
# received counts data rows, created the distinct normalised values, rejected the bad ones.
DEMO_COUNTS = [
    # 3000 rows; www.172.86.68.175 twice (numeric TLD); https://web3-walletnotify.cc and .../
    pytest.param("urlhaus_recent.csv", 3000, 2997, 2, 0, id="urlhaus"),
    # 750 rows, 728 distinct dst_ip (same C2 on several ports)
    pytest.param("feodotracker_ipblocklist.csv", 750, 728, 0, 0, id="feodotracker"),
    pytest.param("ipsum.txt", 3000, 3000, 0, 0, id="ipsum"),
    pytest.param("blocklistproject_scam.txt", 8527, 8527, 0, 0, id="blocklistproject"),
    # deny 54863 (54027 distinct after lower-casing, dropping trailing dots and punycoding)
    # + denySub 2 host/path prefixes (rejected); the 29 allow entries are skipped
    pytest.param("polkadot_phishing_all.json", 54865, 54027, 2, 29, id="polkadot"),
    # 96 attributes: 62 to_ids, 4 of them `filename` (skipped) -> 58 distinct values
    pytest.param("misp_qakbot_emotet.json", 58, 58, 0, 38, id="misp"),
    # 25 indicators, 65 supported comparisons, 43 distinct; 'domain autuo.xicp.net' is bad
    pytest.param("stix_poisonivy.json", 65, 42, 1, 132, id="stix"),
]


# Transactional: each import_intel run commits on its own, as it does from a shell.
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
@pytest.mark.parametrize(("name", "received", "created", "rejected", "skipped"), DEMO_COUNTS)
def test_each_demo_feed_imports_with_verified_counts_and_re_imports_as_a_no_op(
    name: str, received: int, created: int, rejected: int, skipped: int
) -> None:
    first = run(DEMO_FEEDS / name)
    assert (first["received"], first["created"], first["rejected"]) == (received, created, rejected)
    assert first["skipped"] == skipped
    assert first["created"] + first["unchanged"] + first["rejected"] == received
    assert Indicator.objects.count() == created
    again = run(DEMO_FEEDS / name)
    assert (again["created"], again["updated"], again["rejected"]) == (0, 0, rejected)
    assert Indicator.objects.count() == created
    assert Source.objects.get(name=name).provenance.count() == created


def test_the_last_stdout_line_is_the_json_summary(tmp_path: Path) -> None:
    path = write(tmp_path, "list.txt", "# my list\nevil.example\n192.0.2.1\nnot-an-indicator\n")
    summary = run(path)
    assert {"received", "created", "updated", "unchanged", "rejected", "skipped", "errors"} <= set(
        summary
    )
    assert (summary["received"], summary["created"], summary["rejected"]) == (3, 2, 1)
    assert summary["errors"] == [{"line": 4, "reason": summary["errors"][0]["reason"]}]


def test_rejected_rows_keep_the_exit_code_zero_and_at_most_twenty_samples(tmp_path: Path) -> None:
    path = write(tmp_path, "bad.txt", "".join(f"999.1.1.{n}\n" for n in range(30)))
    summary = run(path)  # call_command raises CommandError on a non-zero exit
    assert (summary["received"], summary["rejected"], summary["created"]) == (30, 30, 0)
    assert len(summary["errors"]) == 20
    assert summary["errors"][0]["line"] == 1
    assert "above 255" in summary["errors"][0]["reason"]


def test_the_source_type_tlp_and_confidence_options_apply(tmp_path: Path) -> None:
    path = write(tmp_path, "hashes.txt", "a" * 64 + "\n" + "b" * 64 + "\n")
    run(path, "--source", "PDQ partner", "--type", "pdq", "--tlp", "RED", "--confidence", "95")
    assert set(Indicator.objects.values_list("type", "tlp", "confidence")) == {("pdq", TLP.RED, 95)}
    assert IndicatorSource.objects.filter(source__name="PDQ partner").count() == 2


def test_the_value_and_type_column_options_override_detection(tmp_path: Path) -> None:
    content = "seen,observable,kind\n2024-01-01,evil.example,keyword\n2024-01-02,192.0.2.1,ip\n"
    path = write(tmp_path, "odd.csv", content)
    summary = run(path, "--value-column", "observable", "--type-column", "kind")
    assert summary["created"] == 2
    assert set(Indicator.objects.values_list("type", "value")) == {
        ("keyword", "evil.example"),
        ("ipv4", "192.0.2.1"),
    }


def test_a_missing_value_column_is_a_clear_error(tmp_path: Path) -> None:
    path = write(tmp_path, "feed.csv", "url,tags\nhttp://evil.example/,x\n")
    with pytest.raises(CommandError, match="value column 'nope' not found"):
        run(path, "--value-column", "nope")
    assert Indicator.objects.count() == 0


def test_content_wins_over_a_wrong_extension(tmp_path: Path) -> None:
    stix = {
        "type": "bundle",
        "id": "bundle--5d0092c5-5f74-4287-9642-33f4c354e56d",
        "objects": [
            {
                "type": "indicator",
                "spec_version": "2.1",
                "id": "indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f",
                "pattern": "[domain-name:value = 'stix.example']",
                "pattern_type": "stix",
            }
        ],
    }
    path = write(tmp_path, "looks-like.csv", json.dumps(stix))
    assert run(path)["created"] == 1
    assert Indicator.objects.get().value == "stix.example"


def test_a_bom_and_crlf_line_endings_are_handled(tmp_path: Path) -> None:
    path = write(tmp_path, "windows.txt", b"\xef\xbb\xbfevil.example\r\n192.0.2.1\r\n")
    summary = run(path)
    assert (summary["created"], summary["rejected"]) == (2, 0)
    assert set(Indicator.objects.values_list("value", flat=True)) == {"evil.example", "192.0.2.1"}


def test_an_invalid_utf8_line_is_rejected_and_the_rest_lands(tmp_path: Path) -> None:
    path = write(tmp_path, "mixed.txt", b"evil.example\nbad\xff\xfe.example\n192.0.2.1\n")
    summary = run(path)
    assert (summary["created"], summary["rejected"]) == (2, 1)
    assert summary["errors"] == [{"line": 2, "reason": "invalid UTF-8"}]


def test_a_line_over_64_kib_is_rejected_and_the_rest_lands(tmp_path: Path) -> None:
    long_line = "http://evil.example/" + "a" * (65 * 1024)
    path = write(tmp_path, "long.txt", f"first.example\n{long_line}\nlast.example\n")
    summary = run(path)
    assert (summary["created"], summary["rejected"]) == (2, 1)
    assert summary["errors"][0]["line"] == 2
    assert "longer than 65536 bytes" in summary["errors"][0]["reason"]


def test_a_gzipped_file_is_read_transparently(tmp_path: Path) -> None:
    path = write(tmp_path, "list.txt.gz", gzip.compress(b"evil.example\n192.0.2.1\n"))
    assert run(path)["created"] == 2


@pytest.mark.parametrize(
    ("name", "content", "reason"),
    [
        ("empty.txt", b"", "file is empty"),
        ("blank.txt", b"  \n\n \t\n", "file is empty (whitespace only)"),
        ("binary.txt", b"\x7fELF\x02\x01\x01\x00\x00\x00" * 10, "not a text file"),
        ("utf16.txt", "evil.example\n".encode("utf-16"), "UTF-16 text is not supported"),
        ("bomb.json", b"[" * 100_000 + b"]" * 100_000, "JSON nesting too deep"),
        ("broken.json", b'{"deny": ["evil.example",', "invalid JSON"),
    ],
)
def test_a_file_that_cannot_be_read_fails_with_a_one_line_reason(
    tmp_path: Path, name: str, content: bytes, reason: str
) -> None:
    path = write(tmp_path, name, content)
    with pytest.raises(CommandError) as excinfo:
        run(path)
    message = str(excinfo.value)
    assert reason in message
    assert "\n" not in message
    assert Indicator.objects.count() == 0


def test_a_missing_file_fails_with_a_one_line_reason(tmp_path: Path) -> None:
    with pytest.raises(CommandError, match=r"cannot open .*missing.txt: No such file"):
        run(tmp_path / "missing.txt")


def test_a_directory_fails_with_a_one_line_reason(tmp_path: Path) -> None:
    with pytest.raises(CommandError, match="Is a directory"):
        run(tmp_path)


def test_the_command_line_exits_non_zero_with_the_reason_on_stderr(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    from django.core.management import execute_from_command_line

    path = write(tmp_path, "empty.txt", b"")
    with pytest.raises(SystemExit) as excinfo:
        execute_from_command_line(["manage.py", "import_intel", str(path)])
    assert excinfo.value.code == 1
    last_line = capsys.readouterr().err.strip().splitlines()[-1]
    assert last_line == f"CommandError: cannot read {path}: file is empty"


def test_a_gzip_bomb_stops_at_the_decompressed_cap() -> None:
    bomb = gzip.compress(b"0" * (8 * 1024 * 1024))  # 8 MiB of zeros, ~8 KiB on disk
    assert len(bomb) < 64 * 1024
    with pytest.raises(ParseError, match="decompressed size exceeds 1048576 bytes"):
        list(parse(io.BytesIO(bomb), ParserOptions(format="txt", max_bytes=1024 * 1024)))
