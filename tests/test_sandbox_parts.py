"""The pieces the sandbox is made of, on their own: safe file access, control groups, decoding,
CSV cells. Each has a hostile counterpart in tests/test_hostile.py; these pin the details."""

import os
from pathlib import Path

import pytest

from grader import cgroups
from grader.files import UnsafeFile, copy_tree_safely, kind_of, link_between, read_bytes_capped
from grader.publish import csv_cell
from grader.trusted import Garbled, decode

# ------------------------------------------------------------------ files

def test_reading_refuses_links_fifos_folders_and_oversized_files(tmp_path):
    real = tmp_path / "real.ipynb"
    real.write_bytes(b"{}")
    assert read_bytes_capped(real) == b"{}"
    (tmp_path / "link.ipynb").symlink_to(real)
    os.mkfifo(tmp_path / "pipe.ipynb")
    with pytest.raises(UnsafeFile, match="symbolic link"):
        read_bytes_capped(tmp_path / "link.ipynb")
    with pytest.raises(UnsafeFile, match="not a regular file"):
        read_bytes_capped(tmp_path / "pipe.ipynb")   # and does not block
    with pytest.raises(UnsafeFile, match="not a regular file"):
        read_bytes_capped(tmp_path)
    with pytest.raises(UnsafeFile, match="MB"):
        read_bytes_capped(real, max_bytes=1)


def test_kinds_and_links_between_a_root_and_a_path(tmp_path):
    (tmp_path / "folder").mkdir()
    (tmp_path / "alias").symlink_to(tmp_path / "folder", target_is_directory=True)
    (tmp_path / "folder" / "nb.ipynb").write_text("{}")
    assert kind_of(tmp_path / "folder") == "folder"
    assert kind_of(tmp_path / "alias") == "link"
    assert kind_of(tmp_path / "nothing") == "missing"
    assert link_between(tmp_path, tmp_path / "folder" / "nb.ipynb") is None
    assert link_between(tmp_path, tmp_path / "alias" / "nb.ipynb") == tmp_path / "alias"


def test_copying_keeps_regular_files_and_reports_the_rest(tmp_path):
    src, dst = tmp_path / "src", tmp_path / "dst"
    (src / "sub").mkdir(parents=True)
    (src / "a.txt").write_text("a")
    (src / "sub" / "b.txt").write_text("b")
    (src / "notes.ipynb").write_text("{}")
    (src / "big.bin").write_bytes(bytes(1000))
    (src / "secret").symlink_to("/etc/passwd")
    (src / "linked_dir").symlink_to(tmp_path, target_is_directory=True)
    os.mkfifo(src / "pipe")
    report = copy_tree_safely(src, dst, max_bytes=100)
    assert (dst / "a.txt").read_text() == "a" and (dst / "sub" / "b.txt").read_text() == "b"
    assert not (dst / "notes.ipynb").exists() and not (dst / "big.bin").exists()
    assert not (dst / "secret").exists() and not (dst / "linked_dir").exists()
    assert not (dst / "pipe").exists()
    assert report.files == 2 and report.bytes == 2
    skipped = " ".join(report.skipped)
    for expected in ("big.bin (the folder's files exceed", "secret (a symbolic link)",
                     "linked_dir (a symbolic link)", "pipe (not a regular file)"):
        assert expected in skipped
    assert report.notes() and "were not given to your notebook" in report.notes()[0]


def test_copying_stops_at_the_file_count(tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    for k in range(5):
        (src / f"f{k}.txt").write_text("x")
    report = copy_tree_safely(src, tmp_path / "dst", max_bytes=10**6, max_files=3)
    assert report.files == 3 and len(report.skipped) == 2


# ------------------------------------------------------------------ control groups

def _fake_v2(root: Path, own: str, subtree: str, controllers="memory pids cpu"):
    group = root / own.strip("/") if own.strip("/") else root
    for folder in {root, group, group.parent}:
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "cgroup.procs").write_text("")
        (folder / "cgroup.controllers").write_text(controllers)
        (folder / "cgroup.subtree_control").write_text(subtree)
    return cgroups.Mounts(v2=root, own_v2=own)


def test_v2_group_is_a_sibling_of_the_graders_own_with_both_caps(tmp_path):
    mounts = _fake_v2(tmp_path / "cg", "/system.slice/grader.service", "memory pids")
    group = cgroups.kernel_group(512, 32, mounts, systemd=lambda m, p: cgroups.KernelGroup())
    assert len(group.folders) == 1
    folder = group.folders[0]
    assert folder.parent == tmp_path / "cg" / "system.slice"
    assert (folder / "memory.max").read_text() == str(512 * 1024 * 1024)
    assert (folder / "pids.max").read_text() == "32"
    assert cgroups.counts_tmpfs(group.applied)
    assert group.prefix()[:2] == ["/bin/sh", "-c"] and str(folder / "cgroup.procs") in \
        group.prefix()[2]


def test_v2_without_delegated_controllers_falls_back_to_systemd_or_nothing(tmp_path):
    mounts = _fake_v2(tmp_path / "cg", "/user.slice/session.scope", "")
    scope = cgroups.KernelGroup(command=["systemd-run", "--scope"], applied=["processes 32 (x)"])
    assert cgroups.kernel_group(512, 32, mounts, systemd=lambda m, p: scope) is scope
    nothing = cgroups.kernel_group(512, 32, mounts, systemd=lambda m, p: cgroups.KernelGroup())
    assert nothing.prefix() == [] and nothing.applied == []


def test_mounts_are_read_from_mountinfo_and_the_own_cgroup(tmp_path):
    (tmp_path / "mountinfo").write_text(
        "30 25 0:26 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory\n"
        "31 25 0:27 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids\n"
        "32 25 0:28 / /sys/fs/cgroup/unified rw - cgroup2 cgroup2 rw\n")
    (tmp_path / "cgroup").write_text("4:memory:/jobs/a\n8:pids:/\n0::/x\n")
    mounts = cgroups.read_mounts(tmp_path)
    assert mounts.v1 == {"memory": Path("/sys/fs/cgroup/memory"),
                         "pids": Path("/sys/fs/cgroup/pids")}
    assert mounts.v2 == Path("/sys/fs/cgroup/unified")
    assert mounts.own_v1 == {"memory": "/jobs/a", "pids": "/"} and mounts.own_v2 == "/x"


def test_the_real_group_caps_memory_and_processes_where_the_machine_allows():
    group = cgroups.kernel_group(256, 16)
    try:
        for folder in group.folders:
            assert folder.is_dir() and folder.name.startswith(cgroups.PREFIX)
    finally:
        group.cleanup()
    assert all(not folder.exists() for folder in group.folders)


# ------------------------------------------------------------------ decoding and CSV

@pytest.mark.parametrize("shape", [[2**62, 4], [-1, 3], [1] * 40, ["3"], 5, [True, 2]])
def test_crafted_array_shapes_are_garbled_not_crashes(shape):
    with pytest.raises(Garbled):
        decode({"t": "nd", "dtype": "<f8", "shape": shape, "b64": ""})


def test_an_array_decodes_when_its_bytes_match_its_shape():
    import base64

    import numpy as np

    data = np.arange(6, dtype="<f8")
    value = decode({"t": "nd", "dtype": "<f8", "shape": [2, 3],
                    "b64": base64.b64encode(data.tobytes()).decode()})
    assert value.shape == (2, 3) and value[1, 2] == 5.0


@pytest.mark.parametrize("text", ["=HYPERLINK(\"x\")", "+1", "-2+3", "@SUM(A1)", "\t=1",
                                  "\r=1"])
def test_csv_text_that_a_spreadsheet_would_evaluate_is_neutralised(text):
    assert csv_cell(text) == "'" + text


def test_csv_numbers_and_plain_text_are_written_as_they_are():
    assert csv_cell(-2.5) == "-2.5" and csv_cell(3.0) == "3" and csv_cell("Ana") == "Ana"


def test_a_folder_nested_deeper_than_python_recurses_is_removed(tmp_path):
    """A kernel's folder holding 5000 nested folders (shutil.rmtree raises RecursionError) and a
    link out of it: all of it goes, and nothing the link points to."""
    import sys

    from grader.files import remove_tree

    outside = tmp_path / "outside.txt"
    outside.write_text("not the kernel's")
    root = tmp_path / "kernel"
    root.mkdir()
    (root / "link").symlink_to(outside)
    fd = os.open(root, os.O_RDONLY)
    for _ in range(max(5000, sys.getrecursionlimit() + 100)):
        os.mkdir("a", dir_fd=fd)
        deeper = os.open("a", os.O_RDONLY, dir_fd=fd)
        os.close(fd)
        fd = deeper
    os.close(fd)
    assert remove_tree(root) and not root.exists()
    assert outside.read_text() == "not the kernel's"
    assert remove_tree(tmp_path / "never-there")
