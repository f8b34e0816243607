"""The load tools `make bench` relies on, run small against a real server: each
finishes, reports a parseable RESULT line, and accounts for every message or job
(a tool that silently lost deliveries would make the benchmark meaningless).
"""
import os
import subprocess

import pytest

from conftest import ROOT

TOOLS = {name: os.path.join(ROOT, "bin", name) for name in ("solidis-pubload", "solidis-jobload")}


@pytest.fixture(scope="module", autouse=True)
def tools():
    subprocess.run(["make", "-s", "-C", ROOT] + [os.path.relpath(p, ROOT) for p in TOOLS.values()],
                   check=True, capture_output=True)


def result(out):
    lines = [l for l in out.splitlines() if l.startswith("RESULT ")]
    assert lines, out
    return dict(kv.split("=", 1) for kv in lines[-1].split()[1:])


@pytest.mark.parametrize("subs", [1, 7])
def test_pubload_counts_every_delivery_in_both_phases(server, subs):
    p = subprocess.run([TOOLS["solidis-pubload"], "--port", str(server.port), "--subscribers", str(subs),
                        "--messages", "300", "--paced", "50", "--rate", "2000"],
                       capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stdout + p.stderr
    res = result(p.stdout)
    assert int(res["delivered"]) == 300 * subs
    assert "paced: 50 messages" in p.stdout and f"delivered={50 * subs}/{50 * subs}" in p.stdout
    for k in ("pub_per_sec", "p50_ms", "paced_p50_ms", "paced_p99_ms"):
        assert float(res[k]) > 0, k
    assert float(res["paced_p50_ms"]) <= float(res["paced_p99_ms"])


def test_pubload_paced_phase_can_be_skipped_and_bad_arguments_refused(server):
    p = subprocess.run([TOOLS["solidis-pubload"], "--port", str(server.port), "--messages", "100", "--paced", "0"],
                       capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stderr
    assert "paced:" not in p.stdout and float(result(p.stdout)["paced_p50_ms"]) == 0
    for bad in (["--rate", "0"], ["--paced", "-1"], ["--subscribers", "0"], ["--bogus"]):
        p = subprocess.run([TOOLS["solidis-pubload"], "--port", str(server.port)] + bad,
                           capture_output=True, text=True, timeout=10)
        assert p.returncode == 2, bad


def test_jobload_delivers_each_job_once(server):
    p = subprocess.run([TOOLS["solidis-jobload"], "--port", str(server.port), "--jobs", "400",
                        "--producers", "2", "--workers", "3"], capture_output=True, text=True, timeout=60)
    if "unknown command" in (p.stdout + p.stderr).lower():
        pytest.skip("no JOB.* commands on this server")
    assert p.returncode == 0, p.stdout + p.stderr
    res = result(p.stdout)
    assert (res["jobs"], res["dup"], res["missing"]) == ("400", "0", "0")
    assert float(res["jobs_per_sec"]) > 0
