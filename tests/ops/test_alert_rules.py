"""The alerting rules, the Prometheus configuration and the Grafana dashboard of docker/:
promtool checks them and runs the rules' unit tests, every alert is tested firing and silent,
and every metric and label they query is one the service exports."""

from __future__ import annotations

import json
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from e2e.ferretdb_process import require_tool
from e2e.stack import Stack
from helpers import unique_id, user_body
from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families
from telemetry_capture import telemetry_capture

from scimtenancy_server.domain.tenant import IsolationLevel

ROOT = Path(__file__).resolve().parents[2]
ALERTS = ROOT / "docker" / "prometheus" / "alerts.yaml"
ALERT_TESTS = ROOT / "docker" / "prometheus" / "alerts.test.yaml"
PROMETHEUS_CONFIG = ROOT / "docker" / "prometheus" / "prometheus.yml"
DASHBOARD = ROOT / "docker" / "grafana" / "dashboards" / "scim-tenancy.json"

OPERATION_LABELS = frozenset(
    {"tenant_id", "scim_operation", "scim_resource_type", "scim_outcome", "scim_error_type"}
)
USAGE_LABELS = frozenset({"tenant_id", "scim_resource_type"})
# Prometheus names of what the processes export, with their labels (as in the README's table).
SERVER_METRICS: dict[str, frozenset[str]] = {
    "scim_operations_total": OPERATION_LABELS,
    "scim_operation_duration_seconds": OPERATION_LABELS,
    "scim_resources": USAGE_LABELS,
    "scim_limit_utilization": USAGE_LABELS,
    "scim_tenant_cache_lookups_total": frozenset({"result"}),
    "scim_idempotency_requests_total": frozenset({"scim_idempotency_outcome"}),
    "scim_storage_up": frozenset(),
    "scim_audit_backlog": frozenset(),
    "scim_audit_backlog_limit": frozenset(),
}
TRANSCODER_METRICS: dict[str, frozenset[str]] = {
    "http_server_request_duration_seconds": frozenset(
        {"http_request_method", "http_response_status_code", "scim_route"}
    ),
}
# Exported only by a server that reloads a tenant configuration file.
RELOAD_METRICS: dict[str, frozenset[str]] = {
    "scim_tenant_config_reloads_total": frozenset({"outcome"}),
    "scim_tenant_config_last_reload_ok": frozenset(),
}
HISTOGRAMS = frozenset({"scim_operation_duration_seconds", "http_server_request_duration_seconds"})
# Labels Prometheus adds to every series, and `up`, which it makes for each target.
TARGET_LABELS = frozenset({"job", "instance"})
SCRAPE_METRICS: dict[str, frozenset[str]] = {"up": frozenset()}
OTEL_SCOPE_LABELS = frozenset({"otel_scope_name", "otel_scope_version", "otel_scope_schema_url"})


def _series_names(metrics: dict[str, frozenset[str]]) -> dict[str, frozenset[str]]:
    """Every series name a metric is queried by, with its labels (`le` for buckets)."""
    names: dict[str, frozenset[str]] = {}
    for name, labels in metrics.items():
        if name in HISTOGRAMS:
            names[f"{name}_bucket"] = labels | {"le"}
            names[f"{name}_count"] = names[f"{name}_sum"] = labels
        else:
            names[name] = labels
    return names


KNOWN = _series_names(SERVER_METRICS | TRANSCODER_METRICS | RELOAD_METRICS | SCRAPE_METRICS)
ALL_LABELS = frozenset().union(*KNOWN.values()) | TARGET_LABELS | OTEL_SCOPE_LABELS

# PromQL words that are not metric names: functions, aggregations, operators, modifiers.
PROMQL_WORDS = frozenset(
    {
        "sum", "min", "max", "avg", "count", "rate", "irate", "increase", "histogram_quantile",
        "by", "without", "on", "ignoring", "group_left", "group_right", "and", "or", "unless",
        "offset", "bool", "absent", "clamp_min", "clamp_max", "label_values", "topk", "bottomk",
    }
)  # fmt: skip
SELECTOR = re.compile(r"\b([a-zA-Z_:][a-zA-Z0-9_:]*)\s*(\{[^}]*\})?")
MATCHER_LABEL = re.compile(r"([a-zA-Z_][a-zA-Z0-9_]*)\s*(?:=~|!~|!=|=)")
GROUPING = re.compile(r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\(([^)]*)\)")
# Grafana's variables, replaced by what they stand for so that promtool can parse the query.
GRAFANA_VARIABLES = {"$__rate_interval": "5m", "$tenant": ".*"}


def _promtool(*args: str) -> subprocess.CompletedProcess[str]:
    tool = require_tool("promtool")
    return subprocess.run(
        [str(tool), *args], capture_output=True, text=True, timeout=120, cwd=ROOT, check=False
    )


def _assert_succeeds(*args: str) -> str:
    result = _promtool(*args)
    assert result.returncode == 0, f"promtool {' '.join(args)}:\n{result.stdout}{result.stderr}"
    return result.stdout + result.stderr


def _rules() -> list[dict[str, Any]]:
    groups = yaml.safe_load(ALERTS.read_text())["groups"]
    return [rule for group in groups for rule in group["rules"]]


def _alert_cases() -> Iterator[dict[str, Any]]:
    for test in yaml.safe_load(ALERT_TESTS.read_text())["tests"]:
        yield from test.get("alert_rule_test", [])


def _dashboard_queries() -> list[str]:
    dashboard = json.loads(DASHBOARD.read_text())
    panels = [p for p in dashboard["panels"] if p["type"] != "row"]
    queries = [target["expr"] for panel in panels for target in panel["targets"]]
    variables = dashboard["templating"]["list"]
    queries += [v["definition"] for v in variables if v["type"] == "query"]
    return queries


def _without_strings(query: str) -> str:
    return re.sub(r'"(?:[^"\\]|\\.)*"', '""', query)


def _selectors(query: str) -> Iterator[tuple[str, frozenset[str]]]:
    """(metric name, labels it is matched on) of every selector in a PromQL query."""
    text = GROUPING.sub(" ", _without_strings(query))
    text = re.sub(r"\[[^\]]*\]", " ", text)  # range durations
    text = re.sub(r"\blabel_values\(\s*([a-zA-Z_:][a-zA-Z0-9_:]*)\s*,[^)]*\)", r" \1 ", text)
    for match in SELECTOR.finditer(text):
        name, matchers = match.group(1), match.group(2) or ""
        if name in PROMQL_WORDS or re.fullmatch(r"[0-9.]+|e", name):
            continue
        if text[match.end(1) :].lstrip().startswith("(") and not matchers:
            continue  # a function this list does not know fails below, as an unknown metric
        yield name, frozenset(MATCHER_LABEL.findall(matchers))


def _grouping_labels(query: str) -> set[str]:
    labels: set[str] = set()
    for names in GROUPING.findall(_without_strings(query)):
        labels |= {n.strip() for n in names.split(",") if n.strip()}
    return labels


def _assert_known(queries: list[str]) -> None:
    for query in queries:
        for name, labels in _selectors(query):
            assert name in KNOWN, f"{name} in {query!r} is no metric the service exports"
            unknown = labels - KNOWN[name] - TARGET_LABELS - OTEL_SCOPE_LABELS
            assert not unknown, f"{name} has no label {sorted(unknown)} ({query!r})"
        assert _grouping_labels(query) <= ALL_LABELS, query


def test_the_rules_are_valid() -> None:
    output = _assert_succeeds("check", "rules", str(ALERTS))
    assert f"{len(_rules())} rules found" in output


def test_the_prometheus_configuration_is_valid_and_loads_the_rules() -> None:
    output = _assert_succeeds("check", "config", str(PROMETHEUS_CONFIG))
    assert "1 rule files found" in output
    config = yaml.safe_load(PROMETHEUS_CONFIG.read_text())
    targets = {
        job["job_name"]: [t for c in job["static_configs"] for t in c["targets"]]
        for job in config["scrape_configs"]
    }
    assert targets == {"scim-server": ["server:9464"], "scim-transcoder": ["transcoder:9465"]}


def test_the_rules_unit_tests_pass() -> None:
    output = _assert_succeeds("test", "rules", str(ALERT_TESTS))
    assert "SUCCESS" in output


def test_every_alert_is_tested_firing_and_silent() -> None:
    alerts = {rule["alert"] for rule in _rules()}
    firing = {c["alertname"] for c in _alert_cases() if c.get("exp_alerts")}
    silent = {c["alertname"] for c in _alert_cases() if not c.get("exp_alerts")}
    assert alerts - firing == set(), "alerts never tested firing"
    assert alerts - silent == set(), "alerts never tested silent"
    assert (firing | silent) <= alerts, "tests of alerts that do not exist"


def test_every_alert_names_its_severity_and_explains_itself() -> None:
    for rule in _rules():
        assert rule["labels"]["severity"] in {"warning", "critical"}, rule["alert"]
        assert rule["annotations"]["summary"], rule["alert"]
        assert rule["annotations"]["description"], rule["alert"]
        if "tenant_id" in _grouping_labels(rule["expr"]):
            assert "$labels.tenant_id" in rule["annotations"]["summary"], rule["alert"]


def test_the_rules_query_only_exported_metrics() -> None:
    _assert_known([rule["expr"] for rule in _rules()])


def test_the_dashboard_queries_only_exported_metrics() -> None:
    queries = _dashboard_queries()
    assert len(queries) >= 10
    _assert_known(queries)
    queried = {name for query in queries for name, _ in _selectors(query)}
    for metric in (*SERVER_METRICS, *RELOAD_METRICS):  # each has a panel
        assert any(name.startswith(metric) for name in queried), metric


def test_the_dashboard_queries_parse(tmp_path: Path) -> None:
    """promtool parses every query, as a recording rule, once Grafana's variables are set."""
    rules = []
    for index, query in enumerate(q for q in _dashboard_queries() if "label_values" not in q):
        for variable, value in GRAFANA_VARIABLES.items():
            query = query.replace(variable, value)
        rules.append({"record": f"dashboard:query_{index}", "expr": query})
    path = tmp_path / "dashboard-queries.yaml"
    path.write_text(yaml.safe_dump({"groups": [{"name": "dashboard", "rules": rules}]}))
    output = _assert_succeeds("check", "rules", str(path))
    assert f"{len(rules)} rules found" in output


def test_the_query_check_catches_strangers() -> None:
    with pytest.raises(AssertionError, match="scim_users_total"):
        _assert_known(['sum by (tenant_id) (rate(scim_users_total{tenant_id="a"}[5m]))'])
    with pytest.raises(AssertionError, match="tenant"):
        _assert_known(['max(scim_limit_utilization{tenant="a"})'])
    with pytest.raises(AssertionError):
        _assert_known(["max by (tenant) (scim_limit_utilization)"])


def _exported(families: str) -> dict[str, frozenset[str]]:
    names: dict[str, set[str]] = {}
    for family in text_string_to_metric_families(families):
        for sample in family.samples:
            names.setdefault(sample.name, set()).update(sample.labels)
    return {name: frozenset(labels) - OTEL_SCOPE_LABELS for name, labels in names.items()}


async def test_the_known_metrics_are_the_exported_ones(memory_stack: Stack) -> None:
    capture = telemetry_capture()
    scim = await memory_stack.tenant(IsolationLevel.STANDARD)
    limited = {"User": 4}  # utilisation is reported where a limit is set
    await memory_stack.app.administration.create_tenant(
        unique_id(), "Limited", IsolationLevel.STANDARD, limited
    )
    keyed = {"Idempotency-Key": unique_id("key")}
    assert (await scim.post("/Users", user_body(unique_id()), headers=keyed)).status_code == 201
    assert await memory_stack.app.usage_gauges.ping_storage()
    await memory_stack.app.usage_gauges.refresh()

    exported = _exported(generate_latest(capture.telemetry.registry).decode())
    for name, labels in _series_names(SERVER_METRICS | TRANSCODER_METRICS).items():
        assert name in exported, f"{name} is not exported"
        assert exported[name] == labels, name
