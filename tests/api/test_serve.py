"""`stockpool serve` as operators run it: options from the environment, several workers, logs, a busy port."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import threading
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import func, select

from models import Backorder, Role
from models.db import Database
from pooling.access import create_token
from tests.api.conftest import operations
from tests.api.serving import command, free_port, stockpool_serve
from tests.factories import build_network, receive

CLIENTS = 6
ORDERS_EACH = 8


def samples(text: str, name: str) -> dict[tuple[tuple[str, str], ...], float]:
    """The samples of one metric by their labels."""
    found = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name:
                found[tuple(sorted(sample.labels.items()))] = sample.value
    return found


def worker_processes(pid: int) -> list[str]:
    """The worker processes that uvicorn spawned (not multiprocessing's resource tracker)."""
    children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    return [c for c in children if b"spawn_main" in Path(f"/proc/{c}/cmdline").read_bytes()]


def site_token(db: Database, site: str) -> str:
    with db.transaction() as s:
        return create_token(s, f"bench {site}", Role.SITE, site=site)[1]


def test_every_serve_option_also_comes_from_the_environment(db: Database, database_url: str, tmp_path: Path) -> None:
    port = free_port()
    env = {
        "STOCKPOOL_HOST": "127.0.0.1",
        "STOCKPOOL_PORT": str(port),
        "STOCKPOOL_LOG_FORMAT": "text",
        "STOCKPOOL_GRAPHIQL": "0",
        "STOCKPOOL_TIMEOUT_KEEP_ALIVE": "30",
    }
    with stockpool_serve(tmp_path, database_url, env=env, port=port) as served:
        graphiql = httpx.get(f"{served.base}/graphql", headers={"Accept": "text/html"})
        httpx.get(f"{served.base}/livez", headers={"X-Request-ID": "env-check"})
    assert graphiql.status_code == 405  # STOCKPOOL_GRAPHIQL=0: no page, and GET runs no operation
    assert f"http://127.0.0.1:{port}/graphql" in served.output()
    lines = served.log().splitlines()
    assert lines and not any(line.startswith("{") for line in lines), lines  # STOCKPOOL_LOG_FORMAT=text

    bad = subprocess.run(
        command(),
        env={**os.environ, "DATABASE_URL": database_url, "STOCKPOOL_PORT": "eighty"},
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
    )
    assert bad.returncode == 2 and "--port" in bad.stderr and "eighty" in bad.stderr, bad.stderr


def test_a_busy_port_is_a_clear_error_and_nothing_says_serving(db: Database, database_url: str, tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = subprocess.run(
            command("--port", str(port)),
            env={**os.environ, "DATABASE_URL": database_url},
            capture_output=True,
            text=True,
            timeout=120,
            cwd=tmp_path,
        )
    assert done.returncode == 4, done
    assert "serving" not in done.stdout + done.stderr
    assert f"cannot listen on 127.0.0.1:{port}" in done.stderr and "--port" in done.stderr, done.stderr
    assert "Traceback" not in done.stderr


def test_one_json_log_line_per_request_with_its_id_operation_status_and_caller(
    db: Database, database_url: str, tmp_path: Path
) -> None:
    """Not a terminal: JSON. X-Request-ID is echoed when sane, replaced when not; the token is never logged."""
    build_network(db, {"N": "west"}, {"X": "1.00"})
    token = site_token(db, "N")
    order = {"site": "N", "sku": "X", "quantity": 1, "priority": "NORMAL"}
    with stockpool_serve(tmp_path, database_url) as served, httpx.Client(base_url=served.base) as http:
        kept = http.post(
            "/graphql",
            json={"query": operations()["PlaceOrder"], "variables": {"input": order}},
            headers={"Authorization": f"Bearer {token}", "X-Request-ID": "order-4711"},
        )
        replaced = http.post("/graphql", json={"query": "{ me { name } }"}, headers={"X-Request-ID": "bad id;{}"})
    assert kept.status_code == 200 and kept.headers["x-request-id"] == "order-4711"
    assert replaced.status_code == 401 and replaced.headers["x-request-id"] not in ("", "bad id;{}")
    log = served.log()
    assert token not in log and token not in served.output()
    records = [json.loads(line) for line in log.splitlines()]  # every line is JSON, uvicorn's too
    assert any(r["logger"].startswith("uvicorn") for r in records)
    requests = {r["request_id"]: r for r in records if r["logger"] == "stockpool.request"}
    assert len(requests) == 2 and not any(r["logger"] == "uvicorn.access" for r in records)
    placed = requests["order-4711"]
    assert (placed["operation"], placed["status"], placed["caller"], placed["path"]) == (
        "PlaceOrder",
        200,
        "bench N",
        "/graphql",
    )
    assert placed["duration_ms"] >= 0 and placed["level"] == "INFO" and "time" in placed
    refused = requests[replaced.headers["x-request-id"]]
    assert (refused["status"], refused["caller"]) == (401, None)


def test_the_database_password_is_never_printed_or_logged(database_url: str, tmp_path: Path) -> None:
    """A database that cannot be reached, with a password in its URL: the error names it without the password."""
    secret = "pw-Sup3rSecret"
    done = subprocess.run(
        command("--port", str(free_port())),
        env={**os.environ, "DATABASE_URL": f"postgresql://stockpool:{secret}@127.0.0.1:1/nowhere"},
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
    )
    assert done.returncode == 4 and "unreachable" in done.stderr, done
    assert secret not in done.stdout + done.stderr


@pytest.mark.skipif(
    not os.environ.get("STOCKPOOL_TEST_DATABASE_URL", "").startswith("postgres"), reason="needs a password URL"
)
def test_serving_postgresql_with_a_password_never_shows_it(db: Database, database_url: str, tmp_path: Path) -> None:
    from sqlalchemy import make_url

    url = make_url(database_url)
    with_password = url.set(password=url.password or "pw-Sup3rSecret")  # trust authentication ignores it
    secret = with_password.password
    assert secret
    rendered = with_password.render_as_string(hide_password=False)
    with stockpool_serve(tmp_path, rendered) as served:
        assert httpx.get(f"{served.base}/readyz").status_code == 200
        assert httpx.post(f"{served.base}/graphql", json={"query": "{ me { name } }"}).status_code == 401
    assert "***" in served.output()
    assert secret not in served.output() + served.log()


@pytest.mark.slow
def test_several_workers_answer_concurrent_mutations_and_metrics_add_up(
    db: Database, database_url: str, tmp_path: Path
) -> None:
    """`--workers 2` on the test database (PostgreSQL, or a SQLite file in WAL mode shared by two processes)."""
    sites = {f"S{k}": "west" for k in range(CLIENTS)}
    build_network(db, sites, {"X": "1.00"})
    for site in sites:
        receive(db, site, "X", ORDERS_EACH // 2)
    tokens = [site_token(db, site) for site in sites]
    answers: list[tuple[int, str]] = []

    def orders(base: str, site: str, token: str) -> None:
        with httpx.Client(base_url=base, timeout=120, headers={"Authorization": f"Bearer {token}"}) as http:
            for number in range(ORDERS_EACH):
                order = {"site": site, "sku": "X", "quantity": 1, "priority": "NORMAL", "reference": f"{number}"}
                body = {"query": operations()["PlaceOrder"], "variables": {"input": order}}
                response = http.post("/graphql", json=body, headers={"Connection": "close"})  # spread over workers
                answers.append((response.status_code, response.text))

    with stockpool_serve(tmp_path, database_url, "--workers", "2") as served:
        workers = worker_processes(served.process.pid)
        threads = [
            threading.Thread(target=orders, args=(served.base, *pair)) for pair in zip(sites, tokens, strict=True)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(300)
        scrapes = [httpx.get(f"{served.base}/metrics", headers={"Connection": "close"}).text for _ in range(6)]
    assert len(workers) == 2, workers
    assert len(answers) == CLIENTS * ORDERS_EACH
    assert all(status == 200 and '"errors": []' in text.replace('":[]', '": []') for status, text in answers), answers
    assert "database is locked" not in served.log()
    with db.reading() as s:  # half of each site's orders filled, the other half backordered
        assert s.scalar(select(func.count(Backorder.id))) == CLIENTS * ORDERS_EACH // 2
    for text in scrapes:  # whichever worker answers, it counts every worker's requests
        placed = samples(text, "stockpool_graphql_requests_total")
        assert placed[(("operation", "PlaceOrder"), ("outcome", "ok"))] == CLIENTS * ORDERS_EACH
