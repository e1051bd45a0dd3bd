"""Storage URLs never show a password, however it is written; a file that is no journal says so."""

from __future__ import annotations

import logging
from pathlib import Path

import optuna
import pytest

from gensynth.errors import StorageError
from gensynth.redaction import forget_secrets, scrub
from gensynth.studies.storage import (
    open_existing_storage,
    open_storage,
    parse_storage_url,
    redact,
)


@pytest.fixture(autouse=True)
def _no_secrets_left():
    yield
    forget_secrets()


@pytest.mark.parametrize(
    ("url", "shown", "hidden"),
    [
        ("postgresql://user:s3cretPW@db/x", "postgresql://user:***@db/x", ["s3cretPW"]),
        ("postgresql://user:s3cret/PW@db/x", "postgresql://user:***@db/x", ["s3cret", "PW@"]),
        ("postgresql://user@db/x?password=s3cretPW", "postgresql://user@db/x?password=***",
         ["s3cretPW"]),
        ("postgresql://user:s3cret@PWtail@db/x", "postgresql://user:***@db/x",
         ["s3cret", "PWtail"]),
        ("postgresql://u:p%40ssword@db/x", "postgresql://u:***@db/x", ["p%40ssword", "p@ss"]),
        ("postgres//user:s3cretPW@db", "postgres//user:***@db", ["s3cretPW"]),
        ("sqlite:///studies.db", "sqlite:///studies.db", []),
        ("postgresql://user@db/x?sslmode=require", "postgresql://user@db/x?sslmode=require", []),
    ],
)  # fmt: skip
def test_redact_hides_every_spelling_of_a_password(url, shown, hidden):
    assert redact(url) == shown
    for secret in hidden:
        assert secret not in redact(url)


def test_a_parsed_url_registers_its_password_for_every_later_message():
    url = "postgresql://user:s3cret/PW@127.0.0.1:1/x?password=0therSecret"
    parse_storage_url(url)
    assert scrub("driver said: s3cret/PW and 0therSecret") == "driver said: *** and ***"


def test_log_records_are_scrubbed_whoever_logs_them(caplog):
    parse_storage_url("postgresql://user:l0gSecret@127.0.0.1:1/x")
    with caplog.at_level(logging.WARNING):
        logging.getLogger("sqlalchemy.pool").warning("connect with %s failed", "l0gSecret")
        try:
            raise RuntimeError("password l0gSecret refused")
        except RuntimeError:
            logging.getLogger("optuna").exception("trial failed")
    assert "l0gSecret" not in caplog.text
    assert "connect with *** failed" in caplog.text


def test_an_unescaped_at_sign_is_refused_before_any_driver_sees_it():
    with pytest.raises(StorageError, match="%40") as caught:
        open_storage("postgresql://user:s3cret@PWtail@127.0.0.1:1/x")
    assert "s3cret" not in str(caught.value) and "PWtail" not in str(caught.value)


def test_an_unknown_scheme_names_the_ones_we_take():
    with pytest.raises(StorageError, match="unknown storage scheme 'nosuch'") as caught:
        open_storage("nosuch://x")
    assert "sqlite:///, journal:/// or postgresql://" in caught.value.message
    assert "plugin" not in str(caught.value)


def test_the_driver_message_is_scrubbed():
    with pytest.raises(StorageError) as caught:
        open_existing_storage("postgresql://user:s3cretPW@127.0.0.1:1/x?password=qu3rySecret")
    text = str(caught.value)
    assert "s3cretPW" not in text and "qu3rySecret" not in text
    assert "user:***@127.0.0.1:1/x?password=***" in text


def test_without_the_driver_the_query_password_stays_hidden(monkeypatch):
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util,
        "find_spec",
        lambda name, *a: None if name.startswith("psycopg") else real(name, *a),
    )
    with pytest.raises(StorageError, match="needs a PostgreSQL driver") as caught:
        open_storage("postgresql://user@127.0.0.1:1/x?password=s3cretPW")
    assert "s3cretPW" not in str(caught.value)


@pytest.mark.parametrize(
    ("content", "why"),
    [
        (b"\x00\xff\xfegarbage\n", "line 1 is not JSON"),
        (b"not json\n", "line 1 is not JSON"),
        (b"garbage without a newline", "line 1 is not JSON"),
        (b'{"a": 1}\n', "line 1 is JSON but not a journal entry"),
    ],
)
def test_a_file_that_is_no_journal_is_one_storage_error(tmp_path: Path, content, why):
    path = tmp_path / "x.log"
    path.write_bytes(content)
    with pytest.raises(StorageError, match=why) as caught:
        open_existing_storage(f"journal:///{path}")
    assert str(path) in caught.value.message
    assert path.read_bytes() == content


def test_a_bad_line_after_good_ones_is_a_storage_error_when_read(tmp_path: Path):
    url = f"journal:///{tmp_path}/x.log"
    optuna.create_study(study_name="s", storage=open_storage(url))
    with (tmp_path / "x.log").open("ab") as handle:
        handle.write(b"not json\n" + b'{"op_code": 0}\n')
    with pytest.raises(StorageError, match="is not an Optuna journal: line 2 is not JSON"):
        optuna.get_all_study_summaries(open_existing_storage(url))


def test_a_new_study_file_needs_a_folder_it_can_write(tmp_path: Path):
    with pytest.raises(StorageError, match=r"folder .* does not exist"):
        open_storage(f"sqlite:///{tmp_path}/nope/x.db")
