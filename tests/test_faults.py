"""Faults: an import killed at random points, a full disk, two editors at once, backup and restore.

Every check ends the same way: the store opens, passes ``integrity_check`` and
``foreign_key_check``, every version has its rows (and no row lacks its version), the
versions that were there before are byte-for-byte the same data (count and SHA-256 of their
indicator rows, boundaries and layer sources), and the latest version is either the one
before or the new one, whole.
"""
from __future__ import annotations

import hashlib
import json
import os
import random
import shutil
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from contextlib import closing
from pathlib import Path

import pytest

from import_fixtures import official_workbook
from povdata import store as store_mod
from povdata.backup import backup, manifest_path, restore, store_contents
from povdata.cli import main
from povdata.importer import prepare_indicators, save_import
from povdata.store import StoreError, import_version, load_version, open_store, store_path
from povdata.units import legacy_units

# these faults are the SQLite file's (its journal, its pages, a full disk under it, the file copied as
# a backup); the same guarantees on PostgreSQL are tested in tests/test_store_databases.py
pytestmark = pytest.mark.sqlite_only

REPO = Path(__file__).resolve().parents[1]
SEED = 20250701
NEW = ("20", 3)  # the version an import into the seeded store makes


# ---- fixtures and helpers ------------------------------------------------------------
@pytest.fixture(scope="module")
def files(tmp_path_factory) -> dict[str, Path]:
    """Indicator workbooks (2023, 2024, and 2023 for four districts) and commune boundary files: the demo's cells with a vertex
    every ~50 m (``xa_a``: ~100,000 vertices, so the write phase takes a while), as they are
    (``xa_c``) and with a vertex every ~200 m (``xa_d``)."""
    import shapely

    from geo.read import read_layers
    folder = tmp_path_factory.mktemp("files")
    out = {}
    for year in (2023, 2024):
        out[f"b{year}"] = folder / f"bieu_{year}.xlsx"
        out[f"b{year}"].write_bytes(official_workbook(year))
    units = legacy_units("20")
    out["b2023_part"] = folder / "bieu_2023_4_huyen.xlsx"  # the same year, four districts only
    out["b2023_part"].write_bytes(official_workbook(2023, districts=sorted(units[units["level"] == "district"].code)[:4]))
    communes = read_layers(REPO / "data" / "demo" / "20" / "boundaries.gpkg")["commune"]
    for name, step in (("xa_a", 0.0005), ("xa_c", None), ("xa_d", 0.002)):
        g = communes.copy()
        if step:
            g["geometry"] = shapely.segmentize(communes.geometry.to_numpy(), step)
        out[name] = folder / f"{name}.gpkg"
        g.to_file(out[name], driver="GPKG", engine="pyogrio")
    return out


@pytest.fixture(scope="module")
def seed(tmp_path_factory, files) -> Path:
    """A data directory holding one good import (v1 the demo, v2 the 2023 workbook)."""
    folder = tmp_path_factory.mktemp("seed")
    imp = prepare_indicators(files["b2023"].read_bytes(), files["b2023"].name, "20")
    import_version(open_store(folder), "20", indicators=imp.indicators, source_file=imp.file, sha256=imp.sha256,
                   created_by="cán bộ A")
    assert sorted(p.name for p in folder.iterdir()) == ["povdash.sqlite"]  # closed: no -wal left
    return folder


def _copy(seed: Path, dest: Path) -> Path:
    shutil.copytree(seed, dest)
    return dest


def _digest(rows) -> str:
    h = hashlib.sha256()
    for r in rows:
        h.update(repr(tuple(r)).encode())
    return h.hexdigest()


def fingerprint(db: Path) -> dict[tuple[str, int], tuple]:
    """Per version (province, number): its metadata, and the count and SHA-256 of its
    indicator rows, boundary rows and layer sources (ids and times left out)."""
    out = {}
    with closing(sqlite3.connect(db)) as conn:
        for vid, prov, number, *meta in conn.execute(
                "SELECT id, province_code, number, source_file, sha256, boundary_file, boundary_sha256, data_status, "
                "created_by, era, years, note FROM versions ORDER BY province_code, number").fetchall():
            ind = [r[1:] for r in conn.execute("SELECT * FROM indicators WHERE version_id = ? ORDER BY unit_code, year",
                                               (vid,))]
            bnd = conn.execute("SELECT l.layer, u.code, u.province_code, u.district_code, u.geom, u.display_geom "
                               "FROM boundary_layers l JOIN boundary_units u ON u.set_sha256 = l.set_sha256 "
                               "WHERE l.version_id = ? ORDER BY l.layer, u.code", (vid,)).fetchall()
            lay = conn.execute("SELECT layer, source, approximate FROM boundary_layers WHERE version_id = ? "
                               "ORDER BY layer", (vid,)).fetchall()
            out[(prov, number)] = (tuple(meta), len(ind), _digest(ind), len(bnd), _digest(bnd), tuple(lay))
    return out


def assert_sound(db: Path) -> None:
    """integrity_check, foreign keys, and no version without its rows (nor rows without a version)."""
    with closing(sqlite3.connect(db)) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        assert conn.execute("PRAGMA foreign_key_check").fetchall() == []
        for t in ("indicators", "boundary_layers"):
            assert conn.execute(f"SELECT COUNT(*) FROM versions WHERE id NOT IN (SELECT version_id FROM {t})"
                                ).fetchone()[0] == 0, f"a version without its {t}"
            assert conn.execute(f"SELECT COUNT(*) FROM {t} WHERE version_id NOT IN (SELECT id FROM versions)"
                                ).fetchone()[0] == 0, f"{t} rows of no version"
        # every layer's set is whole: as many units as the set says
        assert conn.execute("SELECT COUNT(*) FROM boundary_sets s WHERE units != (SELECT COUNT(*) FROM "
                            "boundary_units u WHERE u.set_sha256 = s.sha256)").fetchone()[0] == 0, "a set not whole"


def _file_sha(p: Path) -> str:
    return hashlib.sha256(p.read_bytes()).hexdigest()


# ---- SIGKILL at random points ------------------------------------------------------------
def _write_lock_held(pid: int) -> bool:
    """Whether process ``pid`` holds an SQLite WAL write lock (byte 120 of the -shm file):
    it is inside a write transaction.  Read from /proc/locks, without touching the store."""
    with open("/proc/locks") as f:
        for line in f:
            parts = [p for p in line.split() if p != "->"]
            if len(parts) >= 8 and parts[3] == "WRITE" and parts[4] == str(pid) and parts[6:8] == ["120", "120"]:
                return True
    return False


# A fork server: loads the CLI and what an import needs once, then forks a child per command
# line (JSON argv) and answers with the child's pid.  Each child runs `python -m povdata …`'s
# main() on a warm interpreter, so the clock starts at the command itself and no run pays
# Python's start-up.  Children are reaped at once (SIGCHLD ignored): a gone pid = finished.
FORK_SERVER = textwrap.dedent("""
    import json, os, signal, sys
    from povdata.cli import main
    import geo.importing, povdata.backup, povdata.importer, povdata.store, povdata.units
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)
    print("ready", flush=True)
    for line in sys.stdin:
        pid = os.fork()
        if pid == 0:
            signal.signal(signal.SIGCHLD, signal.SIG_DFL)
            null = os.open(os.devnull, os.O_WRONLY)
            os.dup2(null, 1)
            os.dup2(null, 2)
            code = 1
            try:
                code = main(json.loads(line))
            finally:
                os._exit(code if isinstance(code, int) else 1)
        print(pid, flush=True)
""")


@pytest.fixture(scope="module")
def fork_server():
    env = {**os.environ, "PYTHONPATH": str(REPO), "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"}
    proc = subprocess.Popen([sys.executable, "-c", FORK_SERVER], cwd=REPO, stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, text=True, env=env, start_new_session=True)
    assert proc.stdout.readline().strip() == "ready"
    yield proc
    proc.stdin.close()
    proc.wait(60)


class _Run:
    """One run of a ``python -m povdata`` command on the data directory ``data``, watched from
    outside: when it holds the store's write lock (a few short episodes when it opens the
    store, then the command's transaction) and the size of the -wal file (the transaction's
    pages reach it once they outgrow SQLite's cache).  Read from /proc/locks and stat(),
    without touching the store."""

    def __init__(self, server: subprocess.Popen, data: Path, argv: list[str]):
        self.server, self.data, self.argv = server, data, argv
        self.wal = Path(f"{store_path(data)}-wal")
        self.episodes: list[list[float]] = []
        self._held = False
        self.t0 = time.monotonic()
        server.stdin.write(json.dumps(argv) + "\n")
        server.stdin.flush()
        self.pid = int(server.stdout.readline())

    def running(self) -> bool:
        try:
            os.kill(self.pid, 0)
        except ProcessLookupError:
            return False
        return True

    def in_transaction(self, min_hold: float | None = None) -> bool:
        """Sample once; return whether the command's own write transaction is open now: the
        write lock is held and the transaction's pages have reached the -wal (or, with
        ``min_hold``, the lock has been held that long: longer than opening the store takes)."""
        held, now = _write_lock_held(self.pid), time.monotonic() - self.t0
        if held and not self._held:
            self.episodes.append([now, now])
        elif held:
            self.episodes[-1][1] = now
        self._held = held
        try:
            spilled = self.wal.stat().st_size > 64 * 1024  # pages of this transaction already in the WAL
        except OSError:
            spilled = False
        return held and (spilled or (min_hold is not None and now - self.episodes[-1][0] >= min_hold))

    def watch_to_end(self) -> float:
        while self.running():
            self.in_transaction()
            time.sleep(0.0005)
        return time.monotonic() - self.t0

    def kill_at(self, delay: float, *, after_txn_start: float | None = None,
                min_hold: float | None = None) -> tuple[bool, bool, float]:
        """SIGKILL ``delay`` s after the start (or after its transaction is seen open, when
        ``after_txn_start`` is given); return (killed, inside the transaction, when)."""
        if after_txn_start is not None:
            while not self.in_transaction(min_hold) and self.running():
                assert time.monotonic() - self.t0 < 120
                time.sleep(0.0002)
            target = time.monotonic() + after_txn_start
        else:
            target = self.t0 + delay
        while time.monotonic() < target and self.running():
            time.sleep(0.0002)
        in_txn = _write_lock_held(self.pid)
        try:
            os.kill(self.pid, signal.SIGKILL)
            killed = True
        except ProcessLookupError:
            killed = False
        at = time.monotonic() - self.t0
        while self.running():
            time.sleep(0.001)
        return killed, killed and in_txn, at


def _import_argv(files: dict[str, Path], data: Path) -> list[str]:
    return ["import", "--province", "20", "--indicators", str(files["b2024"]), "--boundaries", str(files["xa_a"]),
            "--data-dir", str(data), "--user", "cán bộ B"]


def _check_after_crash(data: Path, seed_fp: dict, new_fp: tuple) -> bool:
    """The store opens and holds the seeded versions unchanged plus, at most, the new one
    whole; return whether the new one is there."""
    st = open_store(data)  # what the app does: SQLite recovers from the -wal left behind
    assert_sound(st.path)
    fp = fingerprint(st.path)
    assert {k: fp.get(k) for k in seed_fp} == seed_fp, "an earlier version changed"
    extra = {k: v for k, v in fp.items() if k not in seed_fp}
    assert extra in ({}, {NEW: new_fp}), f"a half-written or unexpected version: {sorted(extra)}"
    ds = load_version(st, "20")  # the latest, as every page shows it
    assert ds.version.startswith("v3 · " if extra else "v2 · ")
    assert len(ds.indicators) == (new_fp if extra else seed_fp[("20", 2)])[1]
    return bool(extra)


def test_sigkill_during_imports_never_leaves_a_half_written_version(seed, files, fork_server, tmp_path):
    rng = random.Random(SEED)
    seed_fp = fingerprint(store_path(seed))
    # one whole run: how long the import takes and when its transaction is open
    data = _copy(seed, tmp_path / "calibration")
    run = _Run(fork_server, data, _import_argv(files, data))
    total = run.watch_to_end()
    assert run.episodes, "the import's write transaction was not seen"
    txn_start, txn_end = run.episodes[-1]
    txn = max(txn_end - txn_start, 0.01)
    new_fp = fingerprint(store_path(data)).get(NEW)
    assert new_fp and new_fp[1] >= 194 and new_fp[3] > 194  # 2024's commune rows (and kept years), new boundaries
    print(f"\nimport (workbook + ~100k-vertex commune file, interpreter warm): {total:.2f} s; "
          f"its write transaction from {txn_start:.2f} s for {txn * 1000:.0f} ms")

    # kills spread over the whole run (stratified: one in each sixth), then kills inside the
    # transaction, until at least 10 kills of which 4 inside the transaction (20 runs at most)
    n_spread = 6
    plan = [("spread", total * (i + rng.random()) / n_spread) for i in range(n_spread)]
    trials: list[tuple[str, float, bool, bool, bool]] = []
    for k in range(20):
        killed = [t for t in trials if t[2]]
        if k >= len(plan) and len(killed) >= 10 and sum(t[3] for t in killed) >= 4:
            break
        data = _copy(seed, tmp_path / f"kill{k}")
        run = _Run(fork_server, data, _import_argv(files, data))
        if k < len(plan):
            kind, (alive, in_txn, at) = "spread", run.kill_at(plan[k][1])
        else:
            kind, (alive, in_txn, at) = "txn", run.kill_at(0, after_txn_start=rng.uniform(0.0, 0.5) * txn)
        left = run.wal.stat().st_size if run.wal.exists() else 0  # what the killed process left in the -wal
        committed = _check_after_crash(data, seed_fp, new_fp)
        trials.append((kind, at, alive, in_txn, committed))
        print(f"  {kind:6} kill at {at:5.2f} s: {'killed' if alive else 'had ended'}"
              f"{' inside the write transaction' if in_txn else ''} (-wal {left / 1e6:.1f} MB) → "
              f"{'the new version, whole' if committed else 'the previous version'}")
    killed = [t for t in trials if t[2]]
    assert len(killed) >= 10
    assert sum(t[3] for t in killed) >= 4, "too few kills landed inside the write transaction"
    assert any(not t[4] for t in killed)


@pytest.fixture(scope="module")
def bigger_backup(seed, files, tmp_path_factory) -> Path:
    """A backup of the seeded store plus a version with ~100,000-vertex boundaries (v3)."""
    from geo.importing import prepare_boundaries
    folder = _copy(seed, tmp_path_factory.mktemp("bigger") / "var")
    ind = prepare_indicators(files["b2024"].read_bytes(), files["b2024"].name, "20")
    bnd = prepare_boundaries(files["xa_a"].read_bytes(), files["xa_a"].name, "20")
    save_import(open_store(folder), "20", ind, bnd, created_by="cán bộ B")
    return backup(open_store(folder), folder.parent / "lon.sqlite").path


def test_sigkill_during_a_restore_leaves_the_store_before_or_after(seed, bigger_backup, fork_server, tmp_path):
    rng = random.Random(SEED + 1)
    before, after = fingerprint(store_path(seed)), fingerprint(bigger_backup)
    assert len(after) == 3

    def restore_run(k: int) -> _Run:
        data = _copy(seed, tmp_path / f"r{k}")
        return _Run(fork_server, data, ["restore", str(bigger_backup), "--yes", "--data-dir", str(data)])
    run = restore_run(0)  # one whole run
    total = run.watch_to_end()
    assert fingerprint(store_path(run.data)) == after
    txn = max(run.episodes[-1][1] - run.episodes[-1][0], 0.01)
    print(f"\nrestore of a {bigger_backup.stat().st_size / 1e6:.1f} MB backup (interpreter warm): {total:.2f} s, "
          f"its transaction {txn * 1000:.0f} ms")
    seen: list[tuple[bool, bool]] = []
    for k in range(1, 8):  # killed inside the restore's transaction: 3 times, one of them before its commit
        if len(seen) >= 3 and any(inside and not restored for inside, restored in seen):
            break
        run = restore_run(k)
        _, in_txn, _ = run.kill_at(0, after_txn_start=rng.uniform(0, 0.4) * txn, min_hold=0.003)
        st = open_store(run.data)
        assert_sound(st.path)
        fp = fingerprint(st.path)
        assert fp in (before, after), "a restore was left half done"
        seen.append((in_txn, fp == after))
    print("  kills (inside the transaction, restored):", seen)
    assert any(inside and not restored for inside, restored in seen)
    # what the killed runs left behind is cleaned up by the next one
    assert main(["restore", str(bigger_backup), "--yes", "--data-dir", str(run.data)]) == 0
    assert not list(run.data.glob(".*.tmp")) and not list((run.data / "backups").glob(".*.tmp"))
    assert fingerprint(store_path(run.data)) == after


# ---- a full disk --------------------------------------------------------------------------
@pytest.fixture
def small_disk(tmp_path):
    """A 24 MB tmpfs (unmounted afterwards)."""
    mnt = tmp_path / "disk"
    mnt.mkdir()
    try:
        r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=24m,mode=0755", "tmpfs", str(mnt)],
                           capture_output=True, text=True, timeout=30, check=False)
    except (OSError, subprocess.SubprocessError) as exc:
        pytest.skip(f"cannot mount a small tmpfs to fill up: {exc}")
    if r.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs to fill up (needs root or CAP_SYS_ADMIN): {r.stderr.strip()}")
    try:
        yield mnt
    finally:
        if subprocess.run(["umount", str(mnt)], capture_output=True, check=False).returncode != 0:
            subprocess.run(["umount", "-l", str(mnt)], capture_output=True, check=False)


def _fill(disk: Path, leave: int, name: str = "ballast") -> Path:
    """A file taking all but ``leave`` bytes of the disk."""
    ballast = disk / name
    with open(ballast, "wb") as f:
        todo = shutil.disk_usage(disk).free - leave
        block = b"\0" * (1 << 20)
        while todo > 0:
            f.write(block[:min(len(block), todo)])
            todo -= len(block)
    return ballast


def test_full_disk_gives_a_message_and_loses_nothing(seed, files, small_disk, tmp_path, capsys):
    data = _copy(seed, small_disk / "var")
    db = store_path(data)
    before = fingerprint(db)
    elsewhere = backup(open_store(data), tmp_path / "kho.sqlite").path  # on another disk
    ballast = _fill(small_disk, leave=384 * 1024)
    rc = main(["import", "--indicators", str(files["b2024"]), "--boundaries", str(files["xa_a"]),
               "--data-dir", str(data)])
    err = capsys.readouterr().err
    assert rc == 1
    assert "LỖI: Ổ đĩa đầy: không ghi được vào kho dữ liệu" in err and "phiên bản trước vẫn giữ nguyên" in err, err
    assert "Traceback" not in err
    assert_sound(db)
    assert fingerprint(db) == before
    assert load_version(open_store(data), "20").version.startswith("v2 · ")

    # a backup onto the full disk (the store, 0.3 MB, no longer fits): a message, no half-written file left
    more = _fill(small_disk, leave=128 * 1024, name="ballast2")
    assert main(["backup", "--data-dir", str(data)]) == 1
    err = capsys.readouterr().err
    assert "LỖI: Ổ đĩa đầy: không ghi được bản sao lưu" in err and "kho dữ liệu không thay đổi" in err, err
    assert not [p for p in data.rglob("*") if p.is_file() and p.name != "povdash.sqlite"]
    assert fingerprint(db) == before

    # a restore onto the full disk: refused before anything changes
    assert main(["restore", str(elsewhere), "--yes", "--data-dir", str(data)]) == 1
    err = capsys.readouterr().err
    assert "LỖI: Ổ đĩa đầy: không chép được tệp sao lưu" in err and "kho dữ liệu không thay đổi" in err, err
    assert fingerprint(db) == before and not list(data.glob(".*.tmp"))

    # space freed: the same import goes through, the earlier versions untouched
    ballast.unlink()
    more.unlink()
    assert main(["import", "--indicators", str(files["b2024"]), "--boundaries", str(files["xa_a"]),
                 "--data-dir", str(data)]) == 0
    assert_sound(db)
    after = fingerprint(db)
    assert {k: after[k] for k in before} == before and sorted(after) == [("20", 1), ("20", 2), NEW]


def test_full_disk_during_a_restore_rolls_it_back(seed, bigger_backup, small_disk, capsys):
    """Room to check the backup and keep a safety copy, not for the replacement itself."""
    data = _copy(seed, small_disk / "var")
    db = store_path(data)
    before = fingerprint(db)
    _fill(small_disk, leave=bigger_backup.stat().st_size + db.stat().st_size + 1_000_000)
    assert main(["restore", str(bigger_backup), "--yes", "--data-dir", str(data)]) == 1
    err = capsys.readouterr().err
    assert "LỖI: Ổ đĩa đầy: không khôi phục được" in err and "kho dữ liệu vẫn như trước" in err, err
    assert_sound(db)
    assert fingerprint(db) == before and not list(data.glob(".*.tmp"))


def test_disk_full_is_recognised():
    import errno
    assert store_mod.is_disk_full(sqlite3.OperationalError("database or disk is full"))
    assert store_mod.is_disk_full(OSError(errno.ENOSPC, "No space left on device"))
    assert not store_mod.is_disk_full(OSError(errno.EACCES, "Permission denied"))


# ---- two editors at once -------------------------------------------------------------------
# An editor: reads and checks its files once, then saves them as a new version each time a
# line arrives on stdin (both editors get their line at the same moment).
EDITOR = textwrap.dedent("""
    import sys, time, pathlib
    data, ind_path, bnd_path, who = sys.argv[1:5]
    from geo.importing import prepare_boundaries
    from povdata.importer import prepare_indicators, save_import
    from povdata.store import StoreError, open_store
    ind = prepare_indicators(pathlib.Path(ind_path).read_bytes(), pathlib.Path(ind_path).name, "20", allow_partial=True)  # B's file: four districts, confirmed partial
    bnd = prepare_boundaries(pathlib.Path(bnd_path).read_bytes(), pathlib.Path(bnd_path).name, "20")
    print("ready", flush=True)
    for _ in sys.stdin:
        t = time.monotonic()
        try:
            v = save_import(open_store(data), "20", ind, bnd, created_by=who, keep_other_years=False)
        except StoreError as exc:
            print("THU_LAI", time.monotonic() - t, exc, flush=True)
        else:
            print("OK", time.monotonic() - t, v.number, flush=True)
""")


def _save_alone(seed: Path, dest: Path, ind: Path, bnd: Path, who: str) -> tuple:
    """The version an editor's files make on their own."""
    from geo.importing import prepare_boundaries
    i = prepare_indicators(ind.read_bytes(), ind.name, "20", allow_partial=True)
    b = prepare_boundaries(bnd.read_bytes(), bnd.name, "20")
    # each version holds its own file only (B's four whole districts would otherwise keep the other
    # districts' communes of the version before it, which depends on who saved first)
    save_import(open_store(_copy(seed, dest)), "20", i, b, created_by=who, keep_other_years=False)
    return fingerprint(store_path(dest))[NEW]


def test_two_editors_importing_at_once_are_serialised(seed, files, tmp_path):
    # both files are of the seeded version's only year, so each version holds exactly its own file's rows
    editors = {"A": (files["b2023"], files["xa_c"]), "B": (files["b2023_part"], files["xa_d"])}
    expected = {w: _save_alone(seed, tmp_path / f"alone_{w}", ind, bnd, w) for w, (ind, bnd) in editors.items()}
    assert expected["A"][2] != expected["B"][2] and expected["A"][4] != expected["B"][4]

    data = _copy(seed, tmp_path / "shared")
    db = store_path(data)
    procs = {w: subprocess.Popen([sys.executable, "-c", EDITOR, str(data), str(ind), str(bnd), w], cwd=REPO,
                                 stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                 env={**os.environ, "PYTHONPATH": str(REPO)})
             for w, (ind, bnd) in editors.items()}
    try:
        for w, p in procs.items():
            assert p.stdout.readline().strip() == "ready", p.stderr.read()
        number, retried = 2, 0
        for rnd in range(4):
            for p in procs.values():  # both save at the same moment
                p.stdin.write("lưu\n")
                p.stdin.flush()
            replies = {w: p.stdout.readline().split(maxsplit=2) for w, p in procs.items()}
            done = {w: int(r[2]) for w, r in replies.items() if r[0] == "OK"}
            for w, r in replies.items():
                if r[0] != "OK":  # the only acceptable failure: told to try again
                    assert r[0] == "THU_LAI" and "Đang có người khác ghi vào kho dữ liệu" in r[2], r
                    retried += 1
            assert done, replies
            assert_sound(db)
            fp = fingerprint(db)
            # n+1 (and n+2): no gap, no clash, and nothing else
            assert sorted(done.values()) == list(range(number + 1, number + 1 + len(done)))
            assert len(fp) == number + len(done)
            for w, n in done.items():
                assert fp[("20", n)] == expected[w], f"round {rnd}: version {n} of editor {w} is mixed"
            number += len(done)
            print(f"\nround {rnd}: " + ", ".join(f"{w} {r[0]} in {float(r[1]):.2f} s" for w, r in replies.items()))
    finally:
        for p in procs.values():
            p.stdin.close()
            p.wait(30)
    assert number + retried == 2 + 4 * 2


def test_a_writer_that_waits_too_long_is_told_to_retry(seed, files, tmp_path, monkeypatch):
    data = _copy(seed, tmp_path / "var")
    before = fingerprint(store_path(data))
    imp = prepare_indicators(files["b2024"].read_bytes(), files["b2024"].name, "20")
    import povdata.db.connection as db_connection

    st = open_store(data)
    with closing(sqlite3.connect(st.path, isolation_level=None)) as other:
        other.execute("BEGIN IMMEDIATE")  # another editor's import in progress
        monkeypatch.setattr(db_connection, "BUSY_TIMEOUT_MS", 200)  # 0.2 s instead of 30 s of waiting
        with pytest.raises(StoreError, match="Đang có người khác ghi vào kho dữ liệu.*thử lại"):
            save_import(st, "20", imp)
        other.execute("ROLLBACK")
    assert fingerprint(store_path(data)) == before


# ---- backup and restore ---------------------------------------------------------------------
def test_backup_then_restore_gives_back_the_backup(seed, files, tmp_path, capsys):
    from povdata import audit
    data = _copy(seed, tmp_path / "var")
    db = store_path(data)
    at_backup = fingerprint(db)
    assert main(["backup", "--data-dir", str(data)]) == 0
    out = capsys.readouterr().out
    (bk,) = (data / "backups").glob("povdash-*.sqlite")
    assert f"Đã sao lưu kho dữ liệu vào {bk}" in out and "Tỉnh Lạng Sơn (20): 2 phiên bản (v1–v2), hiện hành v2 · " in out
    assert fingerprint(bk) == at_backup
    assert not Path(f"{bk}-wal").exists() and bk.read_bytes()[18:20] == b"\x01\x01"  # one file, not in WAL mode
    with closing(sqlite3.connect(bk)) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
    m = json.loads(manifest_path(bk).read_text(encoding="utf-8"))
    assert m["sha256"] == _file_sha(bk) and m["versions"] == {"20": [1, 2]} and m["rows"]["indicators"] > 0

    # the store changes after the backup
    assert main(["import", "--indicators", str(files["b2024"]), "--data-dir", str(data)]) == 0
    changed = fingerprint(db)
    assert len(changed) == 3
    st = open_store(data)
    ids_before = {v.id for v in store_mod.versions(st, "20")}

    # without --yes (and no terminal to ask on) nothing happens
    assert main(["restore", str(bk), "--data-dir", str(data)]) == 2
    assert "thêm --yes để xác nhận" in capsys.readouterr().err
    assert fingerprint(db) == changed

    assert main(["restore", str(bk), "--data-dir", str(data), "--yes"]) == 0
    out = capsys.readouterr().out
    assert "Đã khôi phục kho dữ liệu từ" in out and "Bản an toàn của kho trước khi khôi phục:" in out
    assert_sound(db)
    assert fingerprint(db) == at_backup  # the store equals the backup
    (safety,) = (data / "backups").glob("povdash-truoc-khoi-phuc-*.sqlite")
    assert fingerprint(safety) == changed  # and what it replaced is kept
    with closing(sqlite3.connect(db)) as a, closing(sqlite3.connect(bk)) as b:
        for t in ("datasets", "versions", "indicators", "boundary_sets", "boundary_units", "boundary_layers"):
            assert a.execute(f"SELECT * FROM {t} ORDER BY 1, 2").fetchall() == \
                b.execute(f"SELECT * FROM {t} ORDER BY 1, 2").fetchall(), t
    trail = audit.entries(st)
    assert list(trail["action"][:3]) == ["restore", "import", "backup"]  # the trail keeps everything
    # a later import never reuses the id of a version the restore removed
    v = import_version(st, "20", indicators=prepare_indicators(files["b2024"].read_bytes(), "c.xlsx", "20").indicators,
                       source_file="c.xlsx", sha256="c")
    assert v.number == 3 and v.id > max(ids_before)


def test_restore_into_an_empty_data_dir(seed, tmp_path):
    data = _copy(seed, tmp_path / "var")
    info = backup(open_store(data), tmp_path / "kho.sqlite")
    fresh = tmp_path / "fresh"
    result = restore(info.path, fresh)
    assert result.safety_copy is None and fingerprint(store_path(fresh)) == fingerprint(store_path(data))
    assert store_contents(open_store(fresh)).versions.keys() == {"20"}


def _bad_files(tmp_path: Path, good: Path) -> dict[str, tuple[Path, str]]:
    out = {"missing": (tmp_path / "khong_co.sqlite", "Không tìm thấy tệp sao lưu")}
    text = tmp_path / "ghi_chu.sqlite"
    text.write_text("không phải cơ sở dữ liệu", encoding="utf-8")
    out["not sqlite"] = (text, "không phải bản sao lưu kho dữ liệu (không phải tệp SQLite)")
    corrupt = tmp_path / "hong" / "kho.sqlite"  # no manifest beside it: integrity_check finds it
    corrupt.parent.mkdir()
    raw, rng = bytearray(good.read_bytes()), random.Random(SEED)
    for page in range(1, len(raw) // 4096, 3):  # scribble over every third page after the header page
        raw[page * 4096:(page + 1) * 4096] = rng.randbytes(4096)
    corrupt.write_bytes(bytes(raw))
    out["corrupt"] = (corrupt, "bị hỏng")
    tampered = tmp_path / "sua" / good.name  # manifest beside it, one byte changed
    tampered.parent.mkdir()
    raw = bytearray(good.read_bytes())
    raw[-10] ^= 0xFF
    tampered.write_bytes(bytes(raw))
    shutil.copy(manifest_path(good), manifest_path(tampered))
    out["tampered"] = (tampered, "không khớp tệp kê khai")
    other = tmp_path / "khac.sqlite"
    with closing(sqlite3.connect(other)) as conn:
        conn.execute("CREATE TABLE so_lieu (x)")
        conn.commit()
    out["wrong schema"] = (other, "không phải bản sao lưu kho dữ liệu của bảng điều khiển (thiếu bảng datasets")
    newer = tmp_path / "moi_hon.sqlite"
    shutil.copy(good, newer)
    with closing(sqlite3.connect(newer)) as conn:
        conn.execute("UPDATE meta SET value = '99' WHERE key = 'schema_version'")
        conn.commit()
    out["newer schema"] = (newer, "do phiên bản phần mềm mới hơn tạo ra")
    return out


def test_a_bad_backup_is_refused_and_the_store_is_unchanged(seed, tmp_path, capsys):
    data = _copy(seed, tmp_path / "var")
    good = backup(open_store(data), tmp_path / "tot" / "kho.sqlite").path
    db = store_path(data)
    live = _file_sha(db)
    for case, (path, message) in _bad_files(tmp_path, good).items():
        with pytest.raises(StoreError, match="kho dữ liệu không thay đổi") as exc:
            restore(path, data, confirm=lambda *a: True)
        assert message in str(exc.value), (case, str(exc.value))
        assert _file_sha(db) == live, case  # byte for byte
        assert not list(data.glob(".khoi-phuc-*")), case  # the private copy is gone
    # the CLI says the same, without a traceback
    assert main(["restore", str(tmp_path / "ghi_chu.sqlite"), "--yes", "--data-dir", str(data)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("LỖI: Tệp ghi_chu.sqlite không phải bản sao lưu") and "Traceback" not in err
    assert _file_sha(db) == live
    # and the good one still restores
    assert restore(good, data).after.versions.keys() == {"20"}


def test_backup_refuses_to_overwrite_and_needs_a_store(seed, tmp_path, capsys):
    data = _copy(seed, tmp_path / "var")
    dest = tmp_path / "kho.sqlite"
    backup(open_store(data), dest)
    with pytest.raises(StoreError, match="đã có: chọn tên khác"):
        backup(open_store(data), dest)
    assert main(["backup", "--data-dir", str(tmp_path / "trong")]) == 1
    assert "chưa có kho dữ liệu" in capsys.readouterr().err
    assert not (tmp_path / "trong").exists()


def test_backup_is_consistent_while_an_import_is_writing(seed, tmp_path):
    """The online backup copies the last committed state without waiting for an import in
    progress (which is not in it); only its audit row waits for the import to finish."""
    import threading
    data = _copy(seed, tmp_path / "var")
    st = open_store(data)
    before = fingerprint(st.path)
    dest, result = tmp_path / "giua_chung.sqlite", {}
    writer = sqlite3.connect(st.path, isolation_level=None)
    try:
        writer.execute("BEGIN IMMEDIATE")
        writer.execute("INSERT INTO versions (province_code, number, created_at, created_by, source_file, sha256, "
                       "data_status, title) VALUES ('20', 3, 'x', 'x', 'dang_ghi.xlsx', 'x', 'imported', 'x')")
        t = threading.Thread(target=lambda: result.update(info=backup(st, dest)))
        t.start()
        deadline = time.monotonic() + 30
        while not dest.exists():  # the copy is written while the import holds the store
            assert time.monotonic() < deadline and t.is_alive()
            time.sleep(0.01)
        assert t.is_alive()  # its audit row waits for the writer
    finally:
        writer.execute("ROLLBACK")
        writer.close()
    t.join(30)
    assert result["info"].path == dest and fingerprint(dest) == before
