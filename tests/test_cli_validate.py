"""`gueststate validate` as a user runs it: exit codes, output shapes, paths, stdin."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

PUSH = (
    b"<domainbackup><disks><disk name='vda' type='file'>"
    b"<target file='/b/vda.qcow2'/></disk></disks></domainbackup>"
)
PULL_WITHOUT_SERVER = b"<domainbackup mode='pull'><disks><disk name='vda'/></disks></domainbackup>"


def run(*args: str, stdin: bytes = b"") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "gueststate", *args],
        input=stdin.decode(), capture_output=True, text=True, timeout=60,
    )


@pytest.fixture
def docs(tmp_path: Path) -> Path:
    (tmp_path / "push.xml").write_bytes(PUSH)
    (tmp_path / "nested").mkdir()
    (tmp_path / "nested" / "pull.xml").write_bytes(PULL_WITHOUT_SERVER)
    (tmp_path / "nested" / "notes.txt").write_text("not xml, not looked at")
    return tmp_path


def test_valid_file_exits_0_silently(docs: Path) -> None:
    result = run("validate", str(docs / "push.xml"))
    assert (result.returncode, result.stdout, result.stderr) == (0, "", "")


def test_invalid_file_exits_1_with_located_problem(docs: Path) -> None:
    path = docs / "nested" / "pull.xml"
    result = run("validate", str(path))
    assert result.returncode == 1
    first = result.stdout.splitlines()[0]
    assert first.startswith(f"{path}:1:")
    assert "server" in result.stdout or "domainbackup" in result.stdout


def test_directory_validates_xml_files_recursively(docs: Path) -> None:
    result = run("validate", "--format", "json", str(docs))
    assert result.returncode == 1
    files = json.loads(result.stdout)["files"]
    by_name = {Path(f["path"]).name: f for f in files}
    assert set(by_name) == {"push.xml", "pull.xml"}
    assert by_name["push.xml"] == {
        "path": str(docs / "push.xml"), "valid": True, "schema": "domainbackup", "problems": [],
    }
    pull = by_name["pull.xml"]
    assert pull["valid"] is False and pull["schema"] == "domainbackup"
    assert all(set(p) == {"line", "column", "element", "message"} for p in pull["problems"])
    assert pull["problems"][0]["line"] >= 1


def test_stdin_is_read_for_dash() -> None:
    result = run("validate", "-", stdin=PUSH)
    assert result.returncode == 0
    result = run("validate", "-", stdin=PULL_WITHOUT_SERVER)
    assert result.returncode == 1 and result.stdout.startswith("<stdin>:")


def test_stdin_given_twice_is_a_usage_error(docs: Path) -> None:
    result = run("validate", "-", str(docs / "push.xml"), "-", stdin=PUSH)
    assert (result.returncode, result.stdout) == (2, "")
    assert result.stderr == "gueststate: standard input (-) can be given only once\n"


def test_schema_option_overrides_detection(docs: Path) -> None:
    result = run("validate", "--schema", "domaincheckpoint", str(docs / "push.xml"))
    assert result.returncode == 1
    assert result.stdout.startswith(f"{docs / 'push.xml'}:")


def test_unknown_schema_is_a_usage_error(docs: Path) -> None:
    result = run("validate", "--schema", "domain", str(docs / "push.xml"))
    assert result.returncode == 2
    assert "invalid choice" in result.stderr


def test_schemas_lists_three_formats_with_existing_files() -> None:
    result = run("schemas")
    assert result.returncode == 0
    rows = [line.split("\t") for line in result.stdout.splitlines()]
    assert [name for name, _ in rows] == ["domainbackup", "domaincheckpoint", "domainsnapshot"]
    assert all(Path(path).is_file() for _, path in rows)


def test_libvirt_schemas_dir_must_hold_domain_rng(tmp_path: Path, docs: Path) -> None:
    result = run("validate", "--libvirt-schemas", str(tmp_path), str(docs / "push.xml"))
    assert result.returncode == 2
    assert "domain.rng" in result.stderr and "Traceback" not in result.stderr


def test_many_files_are_shared_among_processes_with_the_same_answer(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from gueststate import cli

    count = cli.PARALLEL_FROM * 2
    for index in range(count):
        data = PUSH if index % 3 else PULL_WITHOUT_SERVER
        (tmp_path / f"{index:03d}.xml").write_bytes(data)
    os.mkfifo(tmp_path / "050-pipe.xml")
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0, 1})  # two processors
    parent = os.getpid()
    forked = []
    real_fork = os.fork

    def counting_fork() -> int:
        child = real_fork()
        if child:
            forked.append(child)
        return child

    monkeypatch.setattr(os, "fork", counting_fork)

    status = cli.main(["validate", "--format", "json", str(tmp_path)])
    shared = capsys.readouterr()
    monkeypatch.setattr(cli, "PARALLEL_FROM", 10**9)
    alone_status = cli.main(["validate", "--format", "json", str(tmp_path)])
    alone = capsys.readouterr()

    assert os.getpid() == parent and len(forked) == 1  # this process and one more
    assert (status, shared.out, shared.err) == (alone_status, alone.out, alone.err)
    assert status == 2 and "050-pipe.xml: cannot read: a FIFO" in shared.err
    files = json.loads(shared.out)["files"]
    assert [Path(f["path"]).name for f in files] == sorted(
        p.name for p in tmp_path.iterdir() if p.name != "050-pipe.xml"
    )
    assert sum(not f["valid"] for f in files) == len(range(0, count, 3))


def test_a_worker_process_that_dies_is_one_line_and_exit_2(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import signal

    from gueststate import cli, schemas

    for index in range(cli.PARALLEL_FROM * 2):
        (tmp_path / f"{index:03d}.xml").write_bytes(PUSH)
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0, 1})
    parent, validate_file = os.getpid(), schemas.validate_file

    def dies_in_the_worker(path: str, *args: object, **kwargs: object) -> object:
        if os.getpid() != parent:  # as the kernel's out-of-memory killer would do it
            os.kill(os.getpid(), signal.SIGKILL)
        return validate_file(path, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(schemas, "validate_file", dies_in_the_worker)

    status = cli.main(["validate", str(tmp_path)])
    output = capsys.readouterr()

    assert status == 2 and output.out == ""
    assert output.err == (
        "gueststate: a worker process ended without its results (killed by signal 9)\n")


def test_started_with_sigchld_ignored_the_answer_is_the_same(tmp_path: Path) -> None:
    # Ignored signals are inherited: a wrapper that ignores SIGCHLD passes it on, and then the
    # kernel reaps the workers itself.
    import signal

    for index in range(128):
        (tmp_path / f"{index:03d}.xml").write_bytes(PUSH if index % 3 else PULL_WITHOUT_SERVER)
    command = [sys.executable, "-m", "gueststate", "validate", "--format", "json", str(tmp_path)]
    usual = subprocess.run(command, capture_output=True, text=True, timeout=60)
    ignoring = subprocess.run(
        command, capture_output=True, text=True, timeout=60,
        preexec_fn=lambda: signal.signal(signal.SIGCHLD, signal.SIG_IGN),
    )
    assert (ignoring.returncode, ignoring.stdout, ignoring.stderr) == (
        usual.returncode, usual.stdout, usual.stderr)
    assert usual.returncode == 1 and len(json.loads(usual.stdout)["files"]) == 128


def test_workers_judging_by_a_release_share_one_folder_removed_at_exit(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import shutil
    import tempfile

    from gueststate import cli, releases

    documents, scratch = tmp_path / "documents", tmp_path / "scratch"
    documents.mkdir()
    scratch.mkdir()
    for index in range(cli.PARALLEL_FROM * 2):
        (documents / f"{index:03d}.xml").write_bytes(PUSH)
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0, 1})
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    releases.workspace.cache_clear()
    releases.compiled_without.cache_clear()
    try:
        status = cli.main(["validate", "--libvirt-version", "9.0.0", str(documents)])
        made = sorted(scratch.iterdir())
        assert (status, capsys.readouterr().err) == (0, "")
        # One folder, this process's (removed when it exits); a worker's could not be.
        assert made == [releases.workspace()]
    finally:
        shutil.rmtree(releases.workspace(), ignore_errors=True)
        releases.workspace.cache_clear()
        releases.compiled_without.cache_clear()


def test_the_command_exits_without_teardown_yet_flushes_and_cleans_up(tmp_path: Path) -> None:
    # `run` ends the process with os._exit: the whole output must still arrive through a pipe,
    # and the exit handlers still remove the release workspace.
    documents, scratch = tmp_path / "documents", tmp_path / "scratch"
    documents.mkdir()
    scratch.mkdir()
    for index in range(500):
        (documents / f"{index:03d}.xml").write_bytes(PUSH if index % 2 else PULL_WITHOUT_SERVER)
    result = subprocess.run(
        [sys.executable, "-m", "gueststate", "validate", "--format", "json",
         "--libvirt-version", "9.0.0", str(documents)],
        capture_output=True, text=True, timeout=120, env={**os.environ, "TMPDIR": str(scratch)},
    )
    files = json.loads(result.stdout)["files"]
    assert (result.returncode, result.stderr, len(files)) == (1, "", 500)
    assert [entry["valid"] for entry in files] == [index % 2 == 1 for index in range(500)]
    assert list(scratch.iterdir()) == []


def test_a_termination_signal_ends_the_command_with_its_clean_up(tmp_path: Path) -> None:
    # Judged by a release, the first document fills the release workspace; standard input,
    # given next and left open, then holds the command until the signal comes.
    import signal
    import time

    scratch = tmp_path / "scratch"
    scratch.mkdir()
    (tmp_path / "push.xml").write_bytes(PUSH)
    command = [sys.executable, "-m", "gueststate", "validate", "--libvirt-version", "9.0.0",
               str(tmp_path / "push.xml"), "-"]
    with subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, env={**os.environ, "TMPDIR": str(scratch)},
                          ) as process:
        deadline = time.monotonic() + 60
        while not any(scratch.glob("gueststate-releases-*/*")):
            assert process.poll() is None and time.monotonic() < deadline
            time.sleep(0.01)
        process.send_signal(signal.SIGTERM)
        out, err = process.communicate(timeout=60)
    assert (process.returncode, out, err) == (128 + signal.SIGTERM, b"", b"")
    assert list(scratch.iterdir()) == []


def test_a_workspace_left_by_a_killed_command_is_removed_by_the_next(tmp_path: Path) -> None:
    # SIGKILL leaves no chance to clean up: the next command judged by a release removes
    # what a dead one left, and leaves alone the workspace of one still running.
    import signal
    import time

    scratch = tmp_path / "scratch"
    scratch.mkdir()
    (tmp_path / "push.xml").write_bytes(PUSH)
    env = {**os.environ, "TMPDIR": str(scratch)}

    def started() -> subprocess.Popen[bytes]:
        process = subprocess.Popen(
            [sys.executable, "-m", "gueststate", "validate", "--libvirt-version", "9.0.0",
             str(tmp_path / "push.xml"), "-"],
            stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
        deadline = time.monotonic() + 60
        while not any(scratch.glob(f"gueststate-releases-{process.pid}-*/*")):
            assert process.poll() is None and time.monotonic() < deadline
            time.sleep(0.01)
        return process

    killed, running = started(), started()
    killed.send_signal(signal.SIGKILL)
    killed.wait(timeout=60)
    assert len(list(scratch.iterdir())) == 2
    result = subprocess.run(
        [sys.executable, "-m", "gueststate", "validate", "--libvirt-version", "9.0.0",
         str(tmp_path / "push.xml")], capture_output=True, text=True, timeout=120, env=env)
    assert (result.returncode, result.stderr) == (0, "")
    left = [folder.name for folder in scratch.iterdir()]
    assert [name.split("-")[2] for name in left] == [str(running.pid)]
    running.communicate(input=b"", timeout=60)
    assert list(scratch.iterdir()) == []
